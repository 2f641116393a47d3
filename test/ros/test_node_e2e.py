"""The node in its own process, a camera in another, this test listening: real DDS traffic."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped
from rclpy.qos import qos_profile_sensor_data
from rosmsgs import camera_info
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage
from trg_ros.msg import HeadPoseArray
from visualization_msgs.msg import Marker, MarkerArray

from trg_ros.core.tflite.runtime import litert_available
from trg_ros.ros.convert import rgb_to_image
from trg_ros.ros.outputs import TF_QOS

pytestmark = [pytest.mark.ros, pytest.mark.slow]
FRAME = "camera_optical_frame"
TOPICS = {
    "image": (Image, qos_profile_sensor_data),
    "heads": HeadPoseArray,
    "head_pose": PoseStamped,
    "head_markers": MarkerArray,
    "/diagnostics": DiagnosticArray,
}


def stamp_key(header) -> tuple[int, int]:
    return header.stamp.sec, header.stamp.nanosec


def test_real_face_end_to_end(node_process, collector_factory, tmp_path: Path) -> None:
    node_process("max_age:=0")
    col = collector_factory({**TOPICS, "/tf": (TFMessage, TF_QOS)})
    np.save(tmp_path / "face.npy", skimage.data.astronaut())
    camera = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).parent / "publisher.py"),
            str(tmp_path / "face.npy"),
            "600",
            "5",
            "60",
            FRAME,
        ]
    )
    try:
        assert col.wait_for(
            lambda: (
                any(m.heads for m in col.get("heads"))
                and col.get("head_pose")
                and col.get("/tf")
                and col.get("head_markers")
            ),
            timeout=60,
        ), "no head published"
    finally:
        camera.terminate()
        camera.wait(timeout=10)
    sent = {stamp_key(m.header) for m in col.get("image")}
    heads = [m for m in col.get("heads") if m.heads]
    for msg in heads + col.get("head_pose"):
        assert stamp_key(msg.header) in sent and msg.header.frame_id == FRAME
    head = heads[0].heads[0]
    assert head.id == "a" and stamp_key(head.header) == stamp_key(heads[0].header)
    q = head.pose.orientation
    assert abs(np.linalg.norm([q.x, q.y, q.z, q.w]) - 1) < 1e-6
    p = head.pose.position
    assert np.all(np.isfinite([p.x, p.y, p.z]))
    assert len(head.dense_points) == 1220 * 3 and len(head.landmarks_2d) == 136
    assert head.model == "trg"
    assert 100 < head.box[0] < head.box[2] < 400
    points = [m for arr in col.get("head_markers") for m in arr.markers if m.type == Marker.POINTS]
    assert points and len(points[0].points) == 1220 and points[0].ns == "face_a"
    tfs = {(t.header.frame_id, t.child_frame_id) for m in col.get("/tf") for t in m.transforms}
    assert {(FRAME, "face_a"), ("face_a", "gaze_a")} <= tfs
    for m in col.get("/tf"):
        assert all(stamp_key(t.header) in sent for t in m.transforms)

    # A frame without a face: empty heads with its stamp, and the markers are deleted.
    pub_img = col.publisher(Image, "image")
    pub_info = col.publisher(CameraInfo, "camera_info")
    empty: set[tuple[int, int]] = set()

    def send_empty() -> bool:
        header = Header(stamp=col.node.get_clock().now().to_msg(), frame_id=FRAME)
        pub_info.publish(camera_info(512, 512, 600.0, header))
        time.sleep(0.1)
        pub_img.publish(rgb_to_image(np.zeros((512, 512, 3), np.uint8), header))
        empty.add(stamp_key(header))
        return any(stamp_key(m.header) in empty and not m.heads for m in col.get("heads"))

    assert col.wait_for(send_empty, timeout=30)
    assert col.wait_for(
        lambda: [
            m
            for arr in col.get("head_markers")
            for m in arr.markers
            if m.action == Marker.DELETE and m.ns == "face_a" and m.id == 0  # all: face lost
        ],
        timeout=10,
    )
    assert col.wait_for(lambda: col.get("/diagnostics"), timeout=10)
    status = col.get("/diagnostics")[-1].status[0]
    assert status.name.endswith("head pose") and status.hardware_id == "cpu"


@pytest.mark.parametrize("tflite_runtime", ["auto", "torch"])
def test_facemesh_model_end_to_end(
    node_process, collector_factory, facemesh_model_dir: Path, tmp_path: Path, tflite_runtime: str
) -> None:
    """The bundled estimator through the real node: same topics, its own dense points, its
    name in every message and in diagnostics, and a pose that faces the camera; with both
    TFLite networks on litert (``auto`` on the CPU) and on their PyTorch conversions."""
    assert litert_available(), "ai-edge-litert is not installed: run scripts/dev setup"
    node_process("model:=facemesh", f"tflite_runtime:={tflite_runtime}")
    col = collector_factory({**TOPICS, "/tf": (TFMessage, TF_QOS)})
    pub_img = col.publisher(Image, "image")
    pub_info = col.publisher(CameraInfo, "camera_info")
    face = skimage.data.astronaut()

    def send() -> bool:
        header = Header(stamp=col.node.get_clock().now().to_msg(), frame_id=FRAME)
        pub_info.publish(camera_info(512, 512, 600.0, header))
        pub_img.publish(rgb_to_image(face, header))
        return col.wait_for(lambda: any(m.heads for m in col.get("heads")), 0.5)

    assert col.wait_for(send, 60), (tmp_path / "node0.log").read_text()[-3000:]
    head = next(m for m in col.get("heads") if m.heads).heads[0]
    assert head.model == "facemesh" and len(head.dense_points) == 468 * 3
    p, q = head.pose.position, head.pose.orientation
    r = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
    to_camera = -np.array([p.x, p.y, p.z]) / np.linalg.norm([p.x, p.y, p.z])
    off = np.degrees(np.arccos(r[:, 0] @ to_camera))
    assert 0.3 < p.z < 2.0 and off < 30, f"z {p.z:.2f} m, facing {off:.1f} deg off the camera"
    assert col.wait_for(
        lambda: any(
            kv.key == "model" and kv.value.startswith("facemesh")
            for m in col.get("/diagnostics")
            for s in m.status
            for kv in s.values
        ),
        10,
    )
    log = (tmp_path / "node0.log").read_text()
    assert "head pose by facemesh" in log and "model=facemesh asked for" in log
    runs = "litert" if tflite_runtime == "auto" else "torch"
    assert f"faces by BlazeFace ({runs})" in log, log[-3000:]
    assert f"face_landmarks_detector runs with {runs}" in log, log[-3000:]
