"""The bundled FaceMesh estimator on real photographs: poses that mean what they say.

Real faces (scikit-image's astronaut, the portraits of the face_recognition sdist) through the
whole pipeline - BlazeFace, FaceMesh v2, metric Procrustes with the camera's intrinsics - and
the geometry a correct pose must obey: a face looking at the camera faces it, a mirrored photo
gives a mirrored pose, resizing, cropping or a lens does not change the head, and the focal
length scales the distance.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from scipy.spatial.transform import Rotation

from trg_ros.core.camera import CameraModel
from trg_ros.core.detect.base import Detection
from trg_ros.core.detect.blazeface import BlazeFace
from trg_ros.core.facemesh.estimator import FaceMeshEstimator
from trg_ros.core.facemesh.ibug68 import FACEMESH_TO_IBUG68
from trg_ros.core.frames import face_pose
from trg_ros.core.pipeline import HeadPosePipeline, PipelineConfig
from trg_ros.core.types import Head


@pytest.fixture(scope="module")
def estimate(facemesh_dir: Path, detector_weights: Path):
    estimator = FaceMeshEstimator.from_dir(facemesh_dir)
    detector = BlazeFace(detector_weights)

    def run(
        image: np.ndarray, camera: CameraModel, detections: list[Detection] | None = None
    ) -> list[Head]:
        pipe = HeadPosePipeline(estimator, detector, PipelineConfig(smoothing=False))
        return pipe.process(image, camera, 0.0, detections).heads

    return run


def camera_for(image: np.ndarray, fx: float | None = None) -> CameraModel:
    h, w = image.shape[:2]
    f = fx or float(max(w, h))  # about 53 deg across the long side: a normal lens
    return CameraModel(np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]]), w, h)


def only_face(heads: list[Head]) -> Head:
    assert len(heads) == 1, f"{len(heads)} faces"
    return heads[0]


def euler(head: Head) -> np.ndarray:
    """yaw, pitch, roll in degrees (the demo's convention, TRG's head frame)."""
    return Rotation.from_matrix(head.rotation).as_euler("yxz", degrees=True)


def angle_between(a: Head, b: Head) -> float:
    return float(np.degrees(Rotation.from_matrix(a.rotation.T @ b.rotation).magnitude()))


@pytest.fixture(scope="module")
def photos(portraits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The astronaut and the portraits with a whole face (the sdist also has deliberately
    half-cut faces, which no landmark model is expected to pose well)."""
    chosen = {"astronaut": skimage.data.astronaut()}
    for name, rgb in sorted(portraits.items()):
        if "partial" not in name and min(rgb.shape[:2]) >= 300:
            chosen[name] = rgb
    assert len(chosen) >= 5, sorted(portraits)
    return chosen


def test_frontal_faces_look_at_the_camera_from_a_plausible_distance(
    estimate, photos, detector_weights: Path
) -> None:
    """The portraits are crops of larger photos whose optical axis is unknown; a photographer
    aims at the face, so the principal point is put there (else a face near the top of a tall
    crop looks 20 deg off-axis for no reason of its own)."""
    detector = BlazeFace(detector_weights)
    for name, rgb in photos.items():
        (found,) = detector.detect(rgb)
        k = camera_for(rgb).k.copy()
        k[:2, 2] = (found.box[:2] + found.box[2:]) / 2
        camera = CameraModel(k, rgb.shape[1], rgb.shape[0])
        head = only_face(estimate(rgb, camera))
        rotation, origin = face_pose(head, smoothed=False)
        to_camera = -origin / np.linalg.norm(origin)
        off = np.degrees(np.arccos(np.clip(rotation[:, 0] @ to_camera, -1, 1)))
        assert off < 30, f"{name}: face x axis {off:.1f} deg away from the camera"
        eye_px = np.linalg.norm(head.landmarks_2d[45] - head.landmarks_2d[36])
        expected = camera.fx * 0.09 / eye_px  # outer eye corners ~9 cm apart
        distance = float(np.linalg.norm(origin))
        assert 0.6 < distance / expected < 1.6, f"{name}: {distance:.2f} m vs ~{expected:.2f} m"


def test_mirrored_photo_gives_the_mirrored_pose(estimate, photos) -> None:
    for name, rgb in photos.items():
        camera = camera_for(rgb)
        w = rgb.shape[1]
        k = camera.k.copy()
        k[0, 2] = w - 1 - k[0, 2]  # the principal point mirrors with the pixels
        mirrored = CameraModel(k, w, rgb.shape[0])
        a = only_face(estimate(rgb, camera))
        b = only_face(estimate(np.ascontiguousarray(rgb[:, ::-1]), mirrored))
        (ya, pa, ra), (yb, pb, rb) = euler(a), euler(b)
        msg = f"{name}: yaw {ya:.1f}/{yb:.1f}, pitch {pa:.1f}/{pb:.1f}, roll {ra:.1f}/{rb:.1f}"
        assert abs(ya + yb) < 3 and abs(ra + rb) < 3 and abs(pa - pb) < 3, msg
        oa, ob = face_pose(a, False)[1], face_pose(b, False)[1]
        assert abs(oa[0] + ob[0]) < 0.01 * np.linalg.norm(oa), f"{name}: x {oa[0]:.3f}/{ob[0]:.3f}"
        ratio = np.linalg.norm(ob) / np.linalg.norm(oa)
        assert abs(ratio - 1) < 0.03, f"{name}: distance ratio {ratio:.3f}"


def test_half_size_image_with_halved_intrinsics_gives_the_same_pose(estimate, photos) -> None:
    for name, rgb in photos.items():
        camera = camera_for(rgb)
        h, w = rgb.shape[:2]
        small = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        k = camera.k.copy()
        k[:2] *= np.array([[(w // 2) / w], [(h // 2) / h]])
        k[0, 2] = (camera.k[0, 2] + 0.5) * (w // 2) / w - 0.5  # pixel centres scale too
        k[1, 2] = (camera.k[1, 2] + 0.5) * (h // 2) / h - 0.5
        a = only_face(estimate(rgb, camera))
        b = only_face(estimate(small, CameraModel(k, w // 2, h // 2)))
        turn = angle_between(a, b)
        ratio = np.linalg.norm(face_pose(b, False)[1]) / np.linalg.norm(face_pose(a, False)[1])
        assert turn < 2 and abs(ratio - 1) < 0.03, f"{name}: {turn:.2f} deg, ratio {ratio:.3f}"


def test_a_crop_with_the_shifted_principal_point_gives_the_same_pose(
    estimate, photos, detector_weights: Path
) -> None:
    detector = BlazeFace(detector_weights)
    for name, rgb in photos.items():
        camera = camera_for(rgb)
        (found,) = detector.detect(rgb)
        head = only_face(estimate(rgb, camera, [found]))
        x0, y0, x1, y1 = head.box
        left = int(max(0, x0 - (x1 - x0)))
        top = int(max(0, y0 - (y1 - y0)))
        crop = np.ascontiguousarray(rgb[top:, left:])
        shifted = camera.shifted(left, top, crop.shape[1], crop.shape[0])
        offset = np.array([left, top])
        # The same face box, moved with the crop: only the principal point differs.
        moved = Detection(found.box - np.tile(offset, 2), found.score, found.keypoints - offset)
        other = only_face(estimate(crop, shifted, [moved]))
        turn = angle_between(head, other)
        a, b = face_pose(head, False)[1], face_pose(other, False)[1]
        change = np.linalg.norm(a - b) / np.linalg.norm(a)
        assert turn < 1 and change < 0.01, f"{name}: {turn:.2f} deg, {change * 100:.2f}% moved"


def test_twice_the_focal_length_puts_the_face_twice_as_far(estimate, photos) -> None:
    """The face keeps its size in pixels, so its depth doubles (its sideways offset in
    metres, (u - cx) Z / f, stays)."""
    for name, rgb in photos.items():
        camera = camera_for(rgb)
        a = only_face(estimate(rgb, camera))
        b = only_face(estimate(rgb, camera_for(rgb, 2.0 * camera.fx)))
        ratio = face_pose(b, False)[1][2] / face_pose(a, False)[1][2]
        assert abs(ratio - 2) < 0.1, f"{name}: depth ratio {ratio:.3f}"


def test_a_lens_with_matching_distortion_gives_the_pose_of_the_pinhole_image(
    estimate, photos
) -> None:
    for name, rgb in photos.items():
        h, w = rgb.shape[:2]
        pinhole = camera_for(rgb)
        lens = CameraModel(pinhole.k, w, h, np.array([-0.25, 0.08, 0.001, -0.001, 0.0]))
        # Each distorted pixel shows what the pinhole camera sees at its undistorted place.
        v, u = np.mgrid[0:h, 0:w].astype(np.float64)
        ideal = lens.undistort_pixels(np.column_stack([u.ravel(), v.ravel()]))
        maps = ideal.astype(np.float32).reshape(h, w, 2)
        distorted = cv2.remap(rgb, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR)
        a = only_face(estimate(rgb, pinhole))
        b = only_face(estimate(distorted, lens))
        turn = angle_between(a, b)
        ratio = np.linalg.norm(face_pose(b, False)[1]) / np.linalg.norm(face_pose(a, False)[1])
        assert turn < 2 and abs(ratio - 1) < 0.03, f"{name}: {turn:.2f} deg, ratio {ratio:.3f}"


def test_face_landmarks_carry_the_irises_inside_the_eyes(estimate, photos) -> None:
    """Head.face_landmarks is FaceMesh's 478 points in K's pixel convention: each iris centre
    (468 subject's right, 473 left) lies between that eye's corners (iBUG 36/39, 42/45)."""
    for name, rgb in photos.items():
        head = only_face(estimate(rgb, camera_for(rgb)))
        points = head.face_landmarks
        assert points is not None and points.shape == (478, 3), name
        assert np.allclose(points[FACEMESH_TO_IBUG68, :2], head.landmarks_2d), name
        for centre, (a, b) in ((468, (36, 39)), (473, (42, 45))):
            corner_a, corner_b = head.landmarks_2d[a], head.landmarks_2d[b]
            along = (points[centre, :2] - corner_a) @ (corner_b - corner_a)
            share = along / np.sum((corner_b - corner_a) ** 2)
            assert 0.2 < share < 0.8, f"{name}: iris {centre} at {share:.2f} along its eye"
