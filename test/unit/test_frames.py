"""TRG head frame -> REP-155 face/gaze frames, on a synthetic head facing the camera."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from trg_ros.core.frames import FACE_IN_HEAD, GAZE_IN_FACE, face_pose, rotation_to_quaternion
from trg_ros.core.types import Head


def synthetic_head(rotation: np.ndarray, translation: np.ndarray) -> Head:
    rng = np.random.default_rng(0)
    head_vertices = rng.normal(0, 0.05, (1220, 3))
    head_vertices[7] = [0.0, -0.03, -0.06]  # our "sellion" vertex, in the head frame
    cam = head_vertices @ rotation.T + translation
    return Head(
        "a", 1.0, np.zeros(4), rotation, translation, cam, np.zeros((68, 2)),
        sellion=cam[7], model="trg",
    )  # fmt: skip


def test_head_facing_the_camera() -> None:
    # Facing the camera, TRG's head frame (x person's left, y down, z into the head) is
    # aligned with the optical frame: R = I.
    head = synthetic_head(np.eye(3), np.array([0.1, 0.0, 0.9]))
    r_face, origin = face_pose(head)
    np.testing.assert_allclose(r_face[:, 0], [0, 0, -1])  # x: back toward the camera
    np.testing.assert_allclose(r_face[:, 2], [0, -1, 0])  # z: up = -y optical
    np.testing.assert_allclose(r_face[:, 1], [1, 0, 0])  # y: person's left = image right
    r_gaze = r_face @ GAZE_IN_FACE
    np.testing.assert_allclose(r_gaze[:, 2], [0, 0, -1])  # gaze z along -z optical
    np.testing.assert_allclose(r_gaze[:, 1], [0, 1, 0])  # y down
    np.testing.assert_allclose(origin, [0.1, -0.03, 0.84])  # the sellion vertex


def test_frames_are_proper_rotations_and_follow_the_head() -> None:
    for m in (FACE_IN_HEAD, GAZE_IN_FACE):
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)
        assert np.isclose(np.linalg.det(m), 1.0)
    r = Rotation.from_euler("y", 30, degrees=True).as_matrix()  # head turned about the vertical
    head = synthetic_head(r, np.array([0.0, 0.0, 1.0]))
    r_face, origin = face_pose(head)
    np.testing.assert_allclose(origin, head.vertices[7], atol=1e-12)
    # The facing direction turned by 30 deg away from -z, still horizontal.
    assert np.isclose(np.degrees(np.arccos(-r_face[2, 0])), 30)
    assert np.isclose(r_face[1, 0], 0, atol=1e-12)


def test_smoothed_pose_moves_the_frame() -> None:
    head = synthetic_head(np.eye(3), np.array([0.0, 0.0, 1.0]))
    shifted = Head(
        **{
            **head.__dict__,
            "smoothed_rotation": np.eye(3),
            "smoothed_translation": np.array([0.0, 0.0, 1.1]),
        }
    )
    _, raw = face_pose(shifted, smoothed=False)
    _, smooth = face_pose(shifted)
    np.testing.assert_allclose(smooth - raw, [0, 0, 0.1], atol=1e-12)


def test_quaternion_matches_scipy() -> None:
    rots = Rotation.random(200, random_state=1)
    for r in rots:
        q = rotation_to_quaternion(r.as_matrix())
        ref = r.as_quat()
        ref = ref if ref[3] >= 0 else -ref
        np.testing.assert_allclose(q, ref, atol=1e-9)
