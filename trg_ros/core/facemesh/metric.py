"""Metric 6-DoF face pose from FaceMesh landmarks, the camera's intrinsics and the canonical face.

Landmark model (what FaceMesh outputs, mapped to full-image px by the caller): ``u, v`` are raw
image px; ``z`` is depth relative to the face in the same px scale as ``u``, negative toward the
camera. In pinhole terms, for a mesh point at depth ``Z_i`` of a face whose mean vertex depth is
``Z_m``::

    z_i = (Z_i - Z_m) * fx / Z_m      (px; up to a constant offset, removed here)

so ``z_i / fx`` is the relative depth on the plane z = 1 that ``(u - cx) / fx`` lives on.

Fit (MediaPipe's geometry pipeline, re-derived for a calibrated camera and written in the camera
optical frame, x right, y down, z forward, so no OpenGL handedness flips are needed): with the
rays ``r_i = K^-1 (u_i, v_i, 1)`` and ``d_i = z_i / fx``, the points
``P_i = r_i * (d_i - mean(d) + 1)`` are the face at unit mean depth, i.e. the metric face divided
by ``Z_m``. A weighted orthogonal Procrustes fit with scale (Akca 2003) of the canonical basis
vertices to ``P`` gives ``R``, ``s`` and ``t``; the canonical face having metric size, ``1 / s``
is the mean depth, ``P / s`` the metric landmarks and ``t / s`` the metric translation.

MediaPipe reaches the same point in three solves: a first scale ``s1`` from the un-unprojected
points, points rebuilt with depth ``(d - mean(d) + 1) / s1`` (i.e. ``P / s1``) giving ``s2``, then
``P / (s1 s2)`` and a last solve. The closed-form scale is linear in the target points, so
``s2 = s / s1`` and ``s1 s2 = s`` whatever ``s1`` was: the single solve above is that iteration in
closed form (``test_metric`` checks both agree).

Depth is right for a face of the canonical size only: the distance error is about the relative
difference between the person's face size and the canonical one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.facemesh.canonical import NUM_VERTICES, SELLION_VERTEX, CanonicalFace

CANONICAL_IN_TRG_HEAD = np.diag([1.0, -1.0, -1.0])
"""(3, 3) columns: the canonical frame's axes in TRG's head frame (a half turn about x).

Canonical: x subject's left, y up, z out of the face. TRG head: x subject's left, y down, z into
the head. So ``p_head = CANONICAL_IN_TRG_HEAD @ p_canonical`` and a canonical -> camera rotation
``R`` is the TRG head -> camera rotation ``R @ CANONICAL_IN_TRG_HEAD.T`` (the origins differ; the
translation of the canonical origin is not TRG's). A face looking straight into the camera has
``R = CANONICAL_IN_TRG_HEAD`` and a TRG rotation of identity.
"""


@dataclass(frozen=True)
class MetricPose:
    """One face's metric pose in the camera optical frame (x right, y down, z forward).

    Attributes:
        rotation: (3, 3) canonical frame -> optical frame, det = +1.
        translation: (3,) the canonical origin in the optical frame, m.
        mesh: (468, 3) the fitted metric landmarks in the optical frame, m: the network's points
            at the fitted scale, not the rigid canonical mesh, so they keep the expression (open
            mouth, closed eyes) and ``camera.project(mesh)`` gives back the input x, y.
        sellion: (3,) canonical vertex 168 moved by the rigid pose, m: steadier than
            ``mesh[168]``, which carries that landmark's own noise and expression.
    """

    rotation: np.ndarray
    translation: np.ndarray
    mesh: np.ndarray
    sellion: np.ndarray


def procrustes(
    source: np.ndarray, target: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray]:
    """Weighted similarity fit ``target ~ scale * rotation @ source + translation``.

    Minimises ``sum_i w_i |target_i - (s R source_i + t)|^2`` in closed form: square-root
    weights on the points centred at their weighted centroids, an SVD of the cross-covariance
    with the reflection fixed, the scale from the singular values.

    Args:
        source, target: (N, 3) corresponding points, N >= 3.
        weights: (N,) non-negative, not all zero.

    Returns:
        (3, 3) rotation (det = +1), scale, (3,) translation.
    """
    w = np.asarray(weights, dtype=np.float64)
    sqrt_w = np.sqrt(w)[:, None]
    source_mean = w @ source / w.sum()
    target_mean = w @ target / w.sum()
    a = (source - source_mean) * sqrt_w
    b = (target - target_mean) * sqrt_w
    u, sigma, vt = np.linalg.svd(b.T @ a)
    signs = np.array([1.0, 1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = (u * signs) @ vt
    scale = float(sigma @ signs / np.einsum("ij,ij->", a, a))
    return rotation, scale, target_mean - scale * rotation @ source_mean


def _image_rays(landmarks: np.ndarray, camera: CameraModel) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) raw px + relative depth -> (N, 3) rays on z = 1 and (N,) relative depth there."""
    uv = camera.undistort_pixels(landmarks[:, :2])
    z = landmarks[:, 2]
    if camera.has_distortion:
        # The network measured z in the (distorted) image's local px scale; undistorting
        # magnifies the face's x, y by the spread ratio, so z is rescaled by the same factor.
        raw = landmarks[:, :2]
        z = z * np.sqrt(uv.var(axis=0).sum() / raw.var(axis=0).sum())
    rays = np.linalg.solve(camera.k, np.column_stack([uv, np.ones(len(uv))]).T).T
    return rays, z / camera.fx


def metric_pose(landmarks: np.ndarray, camera: CameraModel, face: CanonicalFace) -> MetricPose:
    """Pose the canonical face on FaceMesh landmarks with the camera's real intrinsics.

    Args:
        landmarks: (478, 3) or (468, 3) FaceMesh output in full-image px (module docstring);
            the iris points 468-477 have no canonical counterpart and are ignored.
        camera: intrinsics (and distortion) of the full image the landmarks are in.
        face: the canonical face and its Procrustes landmark weights.

    Returns:
        The rigid pose, metric landmarks and sellion in the camera optical frame.

    Raises:
        ValueError: wrong shape or non-finite landmarks.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.ndim != 2 or landmarks.shape[1] != 3 or len(landmarks) < NUM_VERTICES:
        raise ValueError(f"landmarks must be (478, 3) or (468, 3), got {landmarks.shape}")
    landmarks = landmarks[:NUM_VERTICES]
    if not np.isfinite(landmarks).all():
        raise ValueError("landmarks contain NaN or infinite values")
    rays, depth = _image_rays(landmarks, camera)
    unit_depth_face = rays * (depth - depth.mean() + 1.0)[:, None]
    ids, weights = face.basis_ids, face.basis_weights
    rotation, scale, shift = procrustes(face.vertices[ids], unit_depth_face[ids], weights)
    translation = shift / scale
    mesh = unit_depth_face / scale
    sellion = rotation @ face.vertices[SELLION_VERTEX] + translation
    return MetricPose(rotation, translation, mesh, sellion)
