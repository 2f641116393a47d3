"""Output messages: CDR written from numpy equals rclpy's own serialisation; heads in bulk."""

from __future__ import annotations

import math

import numpy as np
import pytest
from geometry_msgs.msg import Point
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CameraInfo, RegionOfInterest
from std_msgs.msg import Header
from trg_ros.msg import FaceSignalsArray, HeadPoseArray
from visualization_msgs.msg import Marker, MarkerArray

from trg_ros.core.frames import face_pose
from trg_ros.core.signals.geometry import EyeMeasure
from trg_ros.core.signals.stage import FaceSignals
from trg_ros.core.signals.state import TrackSignals
from trg_ros.core.types import Head
from trg_ros.ros import cdr, messages
from trg_ros.ros.signals import gaze_arrows, signals_array

RNG = np.random.default_rng(3)


def head(face_id: str, n: int = 1220) -> Head:
    vertices = RNG.normal([0.0, 0.0, 0.8], 0.05, (n, 3))
    return Head(
        face_id, 0.9, np.array([10.0, 20, 110, 140]), np.eye(3),
        np.array([0.0, 0.0, 0.8]), vertices, RNG.uniform(0, 100, (68, 2)), vertices[7], "trg",
    )  # fmt: skip


def with_point_objects(array: MarkerArray, points: cdr.Points) -> MarkerArray:
    """The same markers built the slow way, one geometry_msgs/Point per vertex."""
    for m in array.markers:
        pts = points.get((id(m), "points"))
        if pts is not None:
            m.points = [Point(x=x, y=y, z=z) for x, y, z in pts.tolist()]
    return array


def same_as_rclpy(msg, points: cdr.Points, msg_type) -> None:
    ours = cdr.serialize(msg, points)
    reference = with_point_objects(msg, points) if points else msg
    theirs = serialize_message(reference)
    assert 0 <= len(theirs) - len(ours) < 4  # rclpy may pad the end to 4 bytes
    # rclpy leaves padding bytes uninitialised: compare what the bytes decode to.
    assert deserialize_message(ours, msg_type) == deserialize_message(theirs, msg_type)


@pytest.mark.parametrize("mesh", [False, True])
def test_markers_from_numpy_decode_like_rclpy_markers(mesh: bool) -> None:
    triangles = RNG.integers(0, 468, (50, 3)) if mesh else None
    header = Header(frame_id="cam_optical")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    gaze = {"a": (np.array([0.0, 0.0, 0.6]), np.array([0.0, 0.0, -1.0]))}
    markers, points = messages.markers(
        [head("a"), head("b", 468)], ["c"], header, "face_", triangles, gaze
    )
    assert len(points) == 2 * (3 if mesh else 2) + 1
    same_as_rclpy(markers, points, MarkerArray)
    decoded = deserialize_message(cdr.serialize(markers, points), MarkerArray)
    dense = [m for m in decoded.markers if m.type == Marker.POINTS]
    assert [len(m.points) for m in dense] == [1220, 468]
    arrows = [m for m in decoded.markers if m.type == Marker.ARROW and m.action == Marker.ADD]
    assert [m.ns for m in arrows] == ["face_a"]  # only where the eyes gave a gaze
    tip = arrows[0].points[1]
    assert (tip.x, tip.y, tip.z) == pytest.approx((0.0, 0.0, 0.6 - messages.GAZE_ARROW_LENGTH))
    deleted = [(m.ns, m.id) for m in decoded.markers if m.action == Marker.DELETE]
    # face_b's eyes gave no gaze: its arrow of an earlier frame goes; face_c was lost
    assert deleted == [("face_b", messages.MARKER_GAZE)] + [("face_c", i) for i in range(5)]
    without_signals, _ = messages.markers([head("b")], [], header, "face_", triangles, None)
    assert all(m.action == Marker.ADD for m in without_signals.markers)


def test_other_field_kinds_round_trip() -> None:
    info = CameraInfo(width=640, height=480, distortion_model="plumb_bob", d=[0.1, -0.2, 0, 0, 0])
    info.k = [600.0, 0, 320, 0, 600, 240, 0, 0, 1]
    info.roi = RegionOfInterest(x_offset=3, do_rectify=True)
    info.header.frame_id = "ü-frame"  # non-ASCII strings are UTF-8
    same_as_rclpy(info, {}, CameraInfo)


def test_heads_carry_dense_points_as_a_flat_float32_array() -> None:
    faces = [head("a"), head("b", 468)]
    msg = messages.heads_msg(faces, Header(frame_id="cam"), with_3d=True)
    back = deserialize_message(serialize_message(msg), HeadPoseArray)
    for face, sent in zip(faces, back.heads, strict=True):
        got = np.asarray(sent.dense_points).reshape(-1, 3)
        np.testing.assert_allclose(got, face.vertices, atol=1e-6)
        np.testing.assert_allclose(np.asarray(sent.landmarks_2d).reshape(-1, 2),
                                   face.landmarks_2d, atol=1e-4)  # fmt: skip
        assert sent.model == "trg" and sent.id == face.id
    light = messages.heads_msg(faces, Header(), with_3d=False)
    assert all(len(h.dense_points) == 0 for h in light.heads)


def test_byte_fields_round_trip() -> None:
    from std_msgs.msg import Byte, ByteMultiArray

    same_as_rclpy(Byte(data=b"\x07"), {}, Byte)
    same_as_rclpy(ByteMultiArray(data=[b"\x01", b"\xff"]), {}, ByteMultiArray)


OLD_HEAD_POSE = """std_msgs/Header header
string id
string model
float32 score
geometry_msgs/Pose pose
float32[4] box
float32[] landmarks_3d
float32[] landmarks_2d
"""  # HeadPose.msg of 0.1, before landmarks_3d was renamed dense_points


def test_a_0_1_bag_decodes_the_renamed_field_byte_for_byte() -> None:
    """CDR carries no field names: bytes a 0.2 node writes decode under 0.1's definition (as a
    reader of an old bag does) with the dense points under their old name, and back."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_KILTED)
    store.register(get_types_from_msg(OLD_HEAD_POSE, "trg_ros/msg/HeadPose"))
    msg = messages.head_msg(head("a"), Header(frame_id="cam"), with_3d=True)
    old = store.deserialize_cdr(serialize_message(msg), "trg_ros/msg/HeadPose")
    np.testing.assert_array_equal(old.landmarks_3d, np.asarray(msg.dense_points))
    again = deserialize_message(bytes(store.serialize_cdr(old, "trg_ros/msg/HeadPose")), type(msg))
    np.testing.assert_array_equal(again.dense_points, old.landmarks_3d)


def test_face_signals_round_trip_and_turn_the_gaze_frame() -> None:
    nan3 = np.full(3, np.nan)
    looking = np.array([0.6, 0.0, -0.8])
    eyes = (
        EyeMeasure(True, 0.3, True, looking, np.array([0.03, 0.0, 0.6])),
        EyeMeasure(False, math.nan, False, nan3, nan3),
    )
    summary = TrackSignals(60.0, 30.0).update(1.5, 0.3, 0.2, 10.0)
    face = FaceSignals(
        "a", eyes, np.array([0.9, np.nan]), looking, np.array([0.03, 0.0, 0.6]), 0.2, 0.1,
        10.0, "eyes", looking, np.linspace(0, 1, 52, dtype=np.float32), summary,
    )  # fmt: skip
    header = Header(frame_id="cam")
    back = deserialize_message(
        serialize_message(signals_array({"a": face}, header, True)), FaceSignalsArray
    )
    (msg,) = back.faces
    assert msg.id == "a" and list(msg.eye_valid) == [True, False]
    assert msg.eye_aspect_ratio[0] == pytest.approx(0.3) and math.isnan(msg.eye_aspect_ratio[1])
    assert math.isnan(msg.eye_openness[1]) and msg.attention_source == "eyes"
    assert (msg.gaze.x, msg.gaze.z) == pytest.approx((0.6, -0.8))
    assert len(msg.blendshapes) == 52 and math.isnan(msg.last_blink_onset)
    no_scores = signals_array({"a": face}, header, False)
    assert len(no_scores.faces[0].blendshapes) == 0
    assert list(gaze_arrows({"a": face})) == ["a"]
    # gaze_<id> follows the eyes: its z axis is the gaze, in the camera frame
    h = head("a")
    _, gaze_tf = messages.transforms(h, header, "face_", face.gaze_rotation(h))
    q = gaze_tf.transform.rotation
    in_face = quaternion_matrix(q.x, q.y, q.z, q.w)
    assert face_pose(h)[0] @ in_face[:, 2] == pytest.approx(looking)


def quaternion_matrix(x: float, y: float, z: float, w: float) -> np.ndarray:
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip
