"""The gaze model's geometry on a synthetic face: MediaPipe's canonical face posed in front of
a camera, projected to FaceMesh-style landmarks, its irises drawn where eyes looking at a given
point would put them. The ray from the eyes along the measured gaze must pass that point."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from trg_ros.core.camera import CameraModel
from trg_ros.core.facemesh.canonical import CanonicalFace
from trg_ros.core.facemesh.metric import CANONICAL_IN_TRG_HEAD, metric_pose
from trg_ros.core.signals.geometry import (
    EYEBALL_RADIUS,
    IRIS_CENTRE,
    IRIS_RING,
    LEFT_EYE,
    RIGHT_EYE,
    aspect_ratio,
    combined_gaze,
    measure_eye,
    measure_mouth,
    mouth_aspect_ratio,
)
from trg_ros.core.signals.stage import SignalConfig, SignalStage
from trg_ros.core.types import Head

CAMERA = CameraModel(np.array([[800.0, 0, 640], [0, 800, 360], [0, 0, 1]]), 1280, 720)
IRIS_RADIUS = 0.0058  # m


def posed_face(face: CanonicalFace, yaw_deg: float, pitch_deg: float, target: np.ndarray):
    """(478, 3) landmarks (px, relative depth px) of the canonical face 0.6 m from the camera,
    turned by yaw/pitch, with both eyes looking at ``target`` (camera frame, m)."""
    turn = Rotation.from_euler("yx", [yaw_deg, pitch_deg], degrees=True).as_matrix()
    rotation = turn @ CANONICAL_IN_TRG_HEAD  # canonical -> optical
    mesh = face.vertices @ rotation.T + np.array([0.03, -0.02, 0.6])
    forward = rotation[:, 2]
    points = [mesh]
    for side, eye in (("right", RIGHT_EYE), ("left", LEFT_EYE)):
        centre = mesh[list(eye)].mean(0) - EYEBALL_RADIUS * forward
        look = (target - centre) / np.linalg.norm(target - centre)
        iris = centre + EYEBALL_RADIUS * look
        side_axis = np.cross(look, rotation[:, 1])
        side_axis /= np.linalg.norm(side_axis)
        up_axis = np.cross(side_axis, look)
        ring = [iris + IRIS_RADIUS * d for d in (side_axis, up_axis, -side_axis, -up_axis)]
        points.append(np.array([iris, *ring]))
        assert IRIS_CENTRE[side] == 468 + 5 * (side == "left")
        assert len(IRIS_RING[side]) == 4
    xyz = np.concatenate(points)
    uv = CAMERA.project(xyz)
    depth = xyz[:468, 2].mean()
    z_px = CAMERA.fx * (xyz[:, 2] - depth) / depth  # FaceMesh's relative depth, px
    return np.column_stack([uv, z_px]), rotation


def miss(face: CanonicalFace, landmarks: np.ndarray, target: np.ndarray) -> float:
    """How far (m) the combined gaze ray from the eyes passes from ``target``."""
    pose = metric_pose(landmarks, CAMERA, face)
    eyes = [measure_eye(s, pose.mesh, landmarks, pose.rotation[:, 2], CAMERA)
            for s in ("right", "left")]  # fmt: skip
    assert all(e.valid and e.gaze_valid for e in eyes)
    found = combined_gaze(eyes)
    assert found is not None
    direction, origin = found
    to_target = target - origin
    return float(np.linalg.norm(to_target - (to_target @ direction) * direction))


@pytest.mark.parametrize(("yaw", "pitch"), [(0, 0), (20, 0), (-25, 10), (10, -15)])
def test_eyes_looking_at_the_camera_point_at_it(
    canonical_face: CanonicalFace, yaw: float, pitch: float
) -> None:
    """A turned head whose eyes look into the lens: the gaze ray passes within 5 cm of the
    camera centre (the issue's bound for a frontal face; here it holds for turned heads)."""
    camera_centre = np.zeros(3)
    landmarks, _ = posed_face(canonical_face, yaw, pitch, camera_centre)
    assert miss(canonical_face, landmarks, camera_centre) < 0.05


def test_eyes_looking_elsewhere_point_there_and_not_at_the_camera(
    canonical_face: CanonicalFace,
) -> None:
    target = np.array([0.35, 0.1, 0.0])  # 35 cm to the camera's right
    landmarks, _ = posed_face(canonical_face, 0, 0, target)
    assert miss(canonical_face, landmarks, target) < 0.05
    assert miss(canonical_face, landmarks, np.zeros(3)) > 0.2


def test_aspect_ratios_of_the_canonical_face(canonical_face: CanonicalFace) -> None:
    """Scale-free, and in the ranges the rules assume for an open eye and a closed mouth."""
    v = canonical_face.vertices
    for eye in (RIGHT_EYE, LEFT_EYE):
        assert aspect_ratio(v, eye) == pytest.approx(aspect_ratio(3 * v, eye))
        assert 0.2 < aspect_ratio(v, eye) < 0.4
    assert mouth_aspect_ratio(v) < 0.2


@pytest.mark.parametrize(("yaw", "pitch", "scale", "valid"), [
    (0, 0, 1.0, True), (30, 10, 1.0, True), (60, 0, 1.0, False), (0, -55, 1.0, False),
    (0, 0, 0.1, False),  # a far face: the mouth a few px wide
])  # fmt: skip
def test_the_mouth_is_trusted_facing_the_camera_and_large_enough(
    canonical_face: CanonicalFace, yaw: float, pitch: float, scale: float, valid: bool
) -> None:
    landmarks, _ = posed_face(canonical_face, yaw, pitch, np.zeros(3))
    pose = metric_pose(landmarks, CAMERA, canonical_face)
    small = landmarks * [scale, scale, 1.0]  # the mesh's width in px only; the pose as fitted
    mar = measure_mouth(pose.mesh, small, pose.rotation[:, 2])
    assert np.isfinite(mar) == valid
    if valid:
        assert mar == pytest.approx(mouth_aspect_ratio(pose.mesh))


def attention(face: CanonicalFace, yaw: float, pitch: float, forward=(0.0, 0.0, -1.0)) -> float:
    """The stage's attention angle (gaze_from head) of the synthetic face turned by yaw/pitch,
    its head pose the turn itself (a FaceMesh head: the stage takes its mesh and rotation)."""
    landmarks, rotation = posed_face(face, yaw, pitch, np.zeros(3))
    pose = metric_pose(landmarks, CAMERA, face)
    head = Head(
        id="a", score=1.0, box=np.array([500.0, 200, 780, 520]),
        rotation=rotation @ CANONICAL_IN_TRG_HEAD.T, translation=np.array([0.03, -0.02, 0.6]),
        vertices=pose.mesh, landmarks_2d=np.zeros((68, 2)), sellion=np.array([0.03, -0.02, 0.6]),
        model="facemesh", face_landmarks=landmarks,
    )  # fmt: skip
    stage = SignalStage(face, None, None, SignalConfig(attention_forward=forward))
    _, signals = stage.process(np.zeros((720, 1280, 3), np.uint8), [head], CAMERA, 0.0)
    return signals["a"].attention_deg


@pytest.mark.parametrize(("yaw", "pitch"), [(0, 0), (25, 0), (-40, 0), (0, 20), (30, -15)])
def test_attention_is_the_head_turn_from_the_optical_axis(
    canonical_face: CanonicalFace, yaw: float, pitch: float
) -> None:
    """The default attention_forward (0, 0, -1): parallel to the optical axis, towards the
    camera; a face looking along it reads 0, a turned one its turn."""
    turn = Rotation.from_euler("yx", [yaw, pitch], degrees=True).as_matrix()
    want = np.degrees(np.arccos(turn[2, 2]))  # the face's forward, turn @ -z, against -z
    assert attention(canonical_face, yaw, pitch) == pytest.approx(want, abs=2.0)


def test_attention_forward_moves_the_zero(canonical_face: CanonicalFace) -> None:
    """attention_forward turned by 25 deg of yaw: the face turned the same way reads 0, the
    frontal one 25, and one turned 15 deg the other way 40."""
    forward = tuple(Rotation.from_euler("y", 25, degrees=True).apply([0.0, 0.0, -1.0]))
    assert attention(canonical_face, 25, 0, forward) == pytest.approx(0.0, abs=2.0)
    assert attention(canonical_face, 0, 0, forward) == pytest.approx(25.0, abs=2.0)
    assert attention(canonical_face, -15, 0, forward) == pytest.approx(40.0, abs=2.0)


def test_an_iris_off_the_eyeball_gives_that_eye_no_gaze(canonical_face: CanonicalFace) -> None:
    """The iris of the subject's right eye moved up by 1.5 eyeball radii, beyond the
    eyeball's outline in the image (still between the corners, its ring a plausible size):
    the camera ray through it misses the sphere, so that eye's gaze is invalid, not made up
    from the ray's closest point; the other eye keeps its gaze."""
    landmarks, _ = posed_face(canonical_face, 0, 0, np.zeros(3))
    pose = metric_pose(landmarks, CAMERA, canonical_face)
    moved = landmarks.copy()
    up = 1.5 * EYEBALL_RADIUS * CAMERA.fx / 0.6  # px at the face's 0.6 m
    moved[[IRIS_CENTRE["right"], *IRIS_RING["right"]], 1] -= up
    eyes = [measure_eye(s, pose.mesh, moved, pose.rotation[:, 2], CAMERA)
            for s in ("right", "left")]  # fmt: skip
    assert eyes[0].valid and not eyes[0].gaze_valid and np.isnan(eyes[0].gaze).all()
    assert eyes[1].gaze_valid


def test_degenerate_geometry_gives_nan_never_an_error_or_a_turn() -> None:
    """Coinciding eye corners, a zero or NaN direction: no value (NaN), not an exception that
    would drop the frame, and never 180 deg, which would read as looking away."""
    from trg_ros.core.signals.geometry import RIGHT_EYE, angle_deg, aspect_ratio, facing_deg

    assert math.isnan(aspect_ratio(np.zeros((478, 3)), RIGHT_EYE))
    forward = np.array([0.0, 0.0, -1.0])
    assert math.isnan(angle_deg(np.zeros(3), forward))
    assert math.isnan(angle_deg(np.full(3, np.nan), forward))
    assert math.isnan(facing_deg(np.zeros((6, 3)), forward))
    assert angle_deg(forward, -forward) == pytest.approx(180.0)


def test_a_nan_direction_makes_eyes_and_mouth_untrusted(canonical_face: CanonicalFace) -> None:
    """A NaN direction out of the face gives no facing angle: the eye and the mouth are then
    not trusted (a NaN compared with the limit must not pass as facing the camera)."""
    from trg_ros.core.signals.geometry import measure_eye

    landmarks, _ = posed_face(canonical_face, 0.0, 0.0, np.zeros(3))
    pose = metric_pose(landmarks, CAMERA, canonical_face)
    facing = pose.rotation[:, 2]
    assert measure_eye("right", pose.mesh, landmarks, facing, CAMERA).valid  # as a control
    assert np.isfinite(measure_mouth(pose.mesh, landmarks, facing))
    nan3 = np.full(3, np.nan)
    assert not measure_eye("right", pose.mesh, landmarks, nan3, CAMERA).valid
    assert math.isnan(measure_mouth(pose.mesh, landmarks, nan3))
