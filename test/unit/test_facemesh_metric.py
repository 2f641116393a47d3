"""Metric pose from FaceMesh landmarks: synthetic faces with a known pose, seen by a known camera.

The synthetic landmarks follow the model of :mod:`trg_ros.core.facemesh.metric`: x, y the
projection of the canonical mesh placed at a pose, z = (Z_i - Z_mean) * fx / Z_mean px plus an
arbitrary offset; with lens distortion x, y are distorted and z takes the distortion's local
magnification at the face (from its Jacobian, independent of how the solver estimates it).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from trg_ros.core.camera import CameraModel
from trg_ros.core.facemesh.canonical import SELLION_VERTEX, CanonicalFace
from trg_ros.core.facemesh.metric import CANONICAL_IN_TRG_HEAD, metric_pose, procrustes

WIDTH, HEIGHT = 1280, 720
K = np.array([[900.0, 0.0, 700.0], [0.0, 950.0, 380.0], [0.0, 0.0, 1.0]])
DISTORTION = np.array([-0.25, 0.08, 0.001, -0.002, -0.01])  # strong barrel, ~100 px at corners
MIRROR_X = np.diag([-1.0, 1.0, 1.0])
# (pitch, yaw, roll) in deg of TRG's head frame, and the canonical origin in the camera, m.
POSES = [
    ((0, 0, 0), (0.0, 0.0, 1.0)),
    ((25, -30, 10), (0.25, -0.08, 0.8)),
    ((-40, 35, -25), (-0.45, 0.2, 1.2)),
    ((10, 40, 5), (0.3, 0.02, 0.7)),
    ((-15, -40, 30), (-0.2, -0.1, 0.5)),
    ((30, 20, -40), (0.05, -0.02, 0.4)),
    ((5, -10, 0), (0.9, 0.5, 3.0)),
]


def camera(distorted: bool = False) -> CameraModel:
    return CameraModel(K, WIDTH, HEIGHT, DISTORTION if distorted else np.zeros(5))


def pose(angles: tuple[float, float, float], translation: tuple[float, float, float]):
    head = Rotation.from_euler("XYZ", angles, degrees=True).as_matrix()
    return head @ CANONICAL_IN_TRG_HEAD, np.array(translation)


def local_magnification(cam: CameraModel, uv: np.ndarray) -> float:
    """sqrt |det J| of the distortion map at a pixel: how much it scales a small face."""
    h = 0.5
    cols = [
        (cam.distort_pixels(uv + d) - cam.distort_pixels(uv - d))[0] / (2 * h)
        for d in h * np.eye(2)
    ]
    return float(np.sqrt(abs(np.linalg.det(np.column_stack(cols)))))


def facemesh_landmarks(
    face: CanonicalFace, cam: CameraModel, rotation: np.ndarray, translation: np.ndarray
) -> np.ndarray:
    """(478, 3) landmarks as FaceMesh would report them for the posed canonical face."""
    points = face.vertices @ rotation.T + translation
    z_mean = points[:, 2].mean()
    uv = points[:, :2] / points[:, 2:] * [cam.fx, cam.fy] + cam.k[:2, 2]
    z = (points[:, 2] - z_mean) * cam.fx / z_mean + 37.0  # FaceMesh's z has its own offset
    if cam.has_distortion:
        z = z * local_magnification(cam, uv.mean(axis=0))
        uv = cam.distort_pixels(uv)
    iris = np.full((10, 3), 1e4)  # no canonical counterpart: must be ignored
    return np.vstack([np.column_stack([uv, z]), iris])


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(Rotation.from_matrix(a @ b.T).magnitude()))


def mirror_ids(face: CanonicalFace) -> np.ndarray:
    """The vertex at each vertex's mirror position (the canonical mesh is symmetric in x)."""
    mirrored = face.vertices @ MIRROR_X
    d = np.linalg.norm(face.vertices[None] - mirrored[:, None], axis=2)
    return np.argmin(d, axis=1)


@pytest.mark.parametrize(("angles", "translation"), POSES)
def test_exact_pose_with_a_pinhole_camera(
    canonical_face: CanonicalFace, angles: tuple, translation: tuple
) -> None:
    cam = camera()
    rotation, t = pose(angles, translation)
    landmarks = facemesh_landmarks(canonical_face, cam, rotation, t)
    assert (landmarks[:468, :2] > 0).all() and (landmarks[:468, :2] < [WIDTH, HEIGHT]).all()
    result = metric_pose(landmarks, cam, canonical_face)
    assert angle_deg(result.rotation, rotation) < 1e-6, angle_deg(result.rotation, rotation)
    np.testing.assert_allclose(result.translation, t, atol=1e-9)
    posed = canonical_face.vertices @ rotation.T + t
    np.testing.assert_allclose(result.mesh, posed, atol=1e-9)
    np.testing.assert_allclose(result.sellion, posed[SELLION_VERTEX], atol=1e-9)
    assert np.isclose(np.linalg.det(result.rotation), 1.0)


@pytest.mark.parametrize(("angles", "translation"), POSES)
def test_pose_through_lens_distortion(
    canonical_face: CanonicalFace, angles: tuple, translation: tuple
) -> None:
    cam = camera(distorted=True)
    rotation, t = pose(angles, translation)
    landmarks = facemesh_landmarks(canonical_face, cam, rotation, t)
    result = metric_pose(landmarks, cam, canonical_face)
    error = angle_deg(result.rotation, rotation)
    relative = np.linalg.norm(result.translation - t) / np.linalg.norm(t)
    assert error < 0.5 and relative < 0.01, f"{error:.3f} deg, {relative:.2%} of the distance"


def test_ignoring_the_distortion_would_be_wrong(canonical_face: CanonicalFace) -> None:
    """The same distorted landmarks read as a pinhole image: the check above is not vacuous."""
    rotation, t = pose(*POSES[3])
    landmarks = facemesh_landmarks(canonical_face, camera(distorted=True), rotation, t)
    right = metric_pose(landmarks, camera(distorted=True), canonical_face)
    wrong = metric_pose(landmarks, camera(), canonical_face)
    errors = [
        (angle_deg(r.rotation, rotation), np.linalg.norm(r.translation - t) / np.linalg.norm(t))
        for r in (right, wrong)
    ]
    assert errors[1][0] > 10 * errors[0][0] and errors[1][1] > 10 * errors[0][1], errors


def test_the_single_solve_is_mediapipes_iteration(canonical_face: CanonicalFace) -> None:
    """The note's three solves (scale from the flat points, two depth rescalings, last solve)."""
    cam = camera()
    rotation, t = pose(*POSES[2])
    landmarks = facemesh_landmarks(canonical_face, cam, rotation, t)[:468]
    ids, w = canonical_face.basis_ids, canonical_face.basis_weights
    canon = canonical_face.vertices[ids]
    rays = np.column_stack([(landmarks[:, :2] - K[:2, 2]) / [K[0, 0], K[1, 1]], np.ones(468)])
    depth = landmarks[:, 2] / K[0, 0]
    flat = np.column_stack([rays[:, :2], depth])
    s1 = procrustes(canon, flat[ids], w)[1]
    s2 = procrustes(canon, (rays * (depth - depth.mean() + 1)[:, None] / s1)[ids], w)[1]
    metric = rays * (depth - depth.mean() + 1)[:, None] / (s1 * s2)
    r, s, shift = procrustes(canon, metric[ids], w)
    result = metric_pose(landmarks, cam, canonical_face)
    assert abs(s - 1) < 1e-12 and abs(s1 - s2) > 1e-3, (s1, s2, s)  # the first guess was off
    np.testing.assert_allclose(result.rotation, r, atol=1e-12)
    np.testing.assert_allclose(result.translation, shift, atol=1e-12)
    np.testing.assert_allclose(result.mesh, metric, atol=1e-12)


def test_mirrored_image_negates_yaw_and_roll(canonical_face: CanonicalFace) -> None:
    cam = camera()
    rotation, t = pose((20, 30, 15), (0.2, -0.1, 0.9))
    landmarks = facemesh_landmarks(canonical_face, cam, rotation, t)[:468]
    # The mirrored image: u -> W - 1 - u, and FaceMesh labels the mirrored face's points
    # anatomically, so vertex i now sits where its mirror vertex was.
    mirrored = landmarks[mirror_ids(canonical_face)] * [-1, 1, 1] + [WIDTH - 1, 0, 0]
    k = K.copy()
    k[0, 2] = WIDTH - 1 - K[0, 2]
    a = metric_pose(landmarks, cam, canonical_face)
    b = metric_pose(mirrored, CameraModel(k, WIDTH, HEIGHT), canonical_face)
    euler_a, euler_b = (
        Rotation.from_matrix(r @ CANONICAL_IN_TRG_HEAD.T).as_euler("XYZ", degrees=True)
        for r in (a.rotation, b.rotation)
    )
    np.testing.assert_allclose(euler_a, [20, 30, 15], atol=1e-6)
    np.testing.assert_allclose(euler_b, [20, -30, -15], atol=1e-6)
    np.testing.assert_allclose(b.translation, MIRROR_X @ a.translation, atol=1e-9)


def test_doubling_the_focal_length_doubles_the_distance(canonical_face: CanonicalFace) -> None:
    rotation, t = pose((10, -20, 5), (0.15, 0.05, 0.8))
    landmarks = facemesh_landmarks(canonical_face, camera(), rotation, t)
    k = K.copy()
    k[0, 0] *= 2
    k[1, 1] *= 2
    near = metric_pose(landmarks, camera(), canonical_face)
    far = metric_pose(landmarks, CameraModel(k, WIDTH, HEIGHT), canonical_face)
    # The same pixels through a narrower field of view: twice as far, on rays closer to the
    # axis, so the lateral offset stays. Not exact, as the perspective is weaker there: measured
    # 1.9945x the distance, 1.3 % lateral change and 2.6 deg of rotation, the face being seen
    # 5 deg more head-on than before.
    ratio = far.translation[2] / near.translation[2]
    assert abs(ratio - 2) < 0.01, f"distance ratio {ratio:.4f}"
    np.testing.assert_allclose(far.translation[:2], near.translation[:2], rtol=0.02)
    assert angle_deg(far.rotation, near.rotation) < 3.5, angle_deg(far.rotation, near.rotation)


def test_one_pixel_of_noise(canonical_face: CanonicalFace) -> None:
    """Gaussian noise of 1 px on x, y and z, face at 1 m, fx = 900.

    Expected size: the 33 basis weights give about 17 effective points, their weighted RMS
    radius is 5.3 cm = 48 px here, so each rotation axis moves by about
    1 / (48 * sqrt(17)) rad = 0.29 deg and the error angle by ~1.6x that on average (0.46
    deg); the scale, hence the distance, by about 0.3 % (3 mm). Measured over these 200 seeded
    draws: mean 0.49 deg and 3.4 mm, 95th percentile 0.85 deg and 8.1 mm; the bounds leave
    ~20 % of margin.
    """
    cam = camera()
    rotation, t = pose((10, 25, -5), (0.1, -0.05, 1.0))
    clean = facemesh_landmarks(canonical_face, cam, rotation, t)
    rng = np.random.default_rng(7)
    errors = []
    for _ in range(200):
        result = metric_pose(clean + rng.normal(0.0, 1.0, clean.shape), cam, canonical_face)
        errors.append(
            (angle_deg(result.rotation, rotation), np.linalg.norm(result.translation - t))
        )
    (mean_deg, mean_m), (p95_deg, p95_m) = np.mean(errors, axis=0), np.percentile(errors, 95, 0)
    figures = f"mean {mean_deg:.3f} deg {mean_m * 1e3:.1f} mm, "
    figures += f"p95 {p95_deg:.3f} deg {p95_m * 1e3:.1f} mm"
    assert mean_deg < 0.6 and p95_deg < 1.0, figures
    assert mean_m < 0.005 and p95_m < 0.01, figures


def test_procrustes_recovers_a_similarity_and_never_reflects() -> None:
    rng = np.random.default_rng(3)
    source = rng.normal(size=(20, 3))
    weights = rng.uniform(0.1, 1.0, 20)
    r = Rotation.random(random_state=4).as_matrix()
    rotation, scale, shift = procrustes(source, 2.5 * source @ r.T + [1, 2, 3], weights)
    np.testing.assert_allclose(rotation, r, atol=1e-12)
    assert np.isclose(scale, 2.5) and np.allclose(shift, [1, 2, 3])
    rotation, _, _ = procrustes(source, source @ MIRROR_X, weights)
    assert np.isclose(np.linalg.det(rotation), 1.0)


def test_468_and_478_points_agree_and_bad_input_is_refused(canonical_face: CanonicalFace) -> None:
    landmarks = facemesh_landmarks(canonical_face, camera(), *pose(*POSES[1]))
    a = metric_pose(landmarks, camera(), canonical_face)
    b = metric_pose(landmarks[:468], camera(), canonical_face)
    np.testing.assert_array_equal(a.translation, b.translation)
    with pytest.raises(ValueError, match=r"\(478, 3\) or \(468, 3\), got \(100, 3\)"):
        metric_pose(landmarks[:100], camera(), canonical_face)
    landmarks[5, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        metric_pose(landmarks, camera(), canonical_face)


def test_frontal_face_is_trg_identity(canonical_face: CanonicalFace) -> None:
    assert np.isclose(np.linalg.det(CANONICAL_IN_TRG_HEAD), 1.0)
    landmarks = facemesh_landmarks(canonical_face, camera(), *pose((0, 0, 0), (0, 0, 1)))
    result = metric_pose(landmarks, camera(), canonical_face)
    np.testing.assert_allclose(result.rotation @ CANONICAL_IN_TRG_HEAD.T, np.eye(3), atol=1e-9)
    # The nose (canonical +z) points at the camera (optical -z); up (canonical +y) is -y.
    assert result.mesh[4, 2] < result.mesh[SELLION_VERTEX, 2]
    assert result.mesh[10, 1] < result.mesh[152, 1]
