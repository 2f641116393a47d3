"""Accuracy cost of a fast path against the float32 reference, on real-face crops."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.model.crop import Box, FaceCrop, make_crop
from trg_ros.core.types import Head

# What a reduced-precision mode may cost against fp32 before it can be recommended (issue 12).
PRECISION_BOUNDS = {"rotation_deg": 0.1, "translation_mm": 0.5, "vertices_mm": 0.5}
# The astronaut's face in skimage.data.astronaut(): the parity fixture's landmark extent.
FACE_EXTENT = (180.0, 75.0, 270.0, 175.0)


def sweep_crops(image_rgb: np.ndarray) -> tuple[list[FaceCrop], CameraModel]:
    """The face at 3 scales x 3 shifts x 3 in-plane rotations (27 crops), f = 600 px."""
    h, w = image_rgb.shape[:2]
    camera = CameraModel(np.array([[600.0, 0, w / 2], [0, 600.0, h / 2], [0, 0, 1]]), w, h)
    cx, cy = (FACE_EXTENT[0] + FACE_EXTENT[2]) / 2, (FACE_EXTENT[1] + FACE_EXTENT[3]) / 2
    side = 1.5 * max(FACE_EXTENT[2] - FACE_EXTENT[0], FACE_EXTENT[3] - FACE_EXTENT[1])
    crops = []
    for angle in (-20.0, 0.0, 20.0):
        m = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
        rotated = cv2.warpAffine(image_rgb, m, (w, h))
        for scale in (0.85, 1.0, 1.2):
            for dx, dy in ((0, 0), (-12, 8), (10, -10)):
                half = side * scale / 2
                box = Box(
                    int(cx + dx - half),
                    int(cy + dy - half),
                    int(cx + dx + half),
                    int(cy + dy + half),
                )
                crops.append(make_crop(rotated, box, camera))
    return crops, camera


def pose_differences(a: list[Head], b: list[Head]) -> dict[str, float]:
    """Largest rotation (deg), translation (mm) and vertex (mm) difference over the heads."""
    rot = max(
        float(
            np.degrees(
                np.arccos(np.clip((np.trace(x.rotation @ y.rotation.T) - 1) / 2, -1.0, 1.0))
            )
        )
        for x, y in zip(a, b, strict=True)
    )
    trans = max(
        float(np.abs(x.translation - y.translation).max()) for x, y in zip(a, b, strict=True)
    )
    verts = max(float(np.abs(x.vertices - y.vertices).max()) for x, y in zip(a, b, strict=True))
    return {"rotation_deg": rot, "translation_mm": trans * 1e3, "vertices_mm": verts * 1e3}


def compare(
    run: Callable[[list[FaceCrop], CameraModel], list[Head]],
    reference: Callable[[list[FaceCrop], CameraModel], list[Head]],
    crops: list[FaceCrop],
    camera: CameraModel,
) -> dict[str, float]:
    return pose_differences(run(crops, camera), reference(crops, camera))


def within_bounds(diff: dict[str, float]) -> bool:
    """Whether a :func:`pose_differences` result keeps to :data:`PRECISION_BOUNDS`."""
    return all(diff[key] <= bound for key, bound in PRECISION_BOUNDS.items())


def precision_verdict(mode: str, diff: dict[str, float], random_weights: bool) -> str:
    """One line on what ``mode`` costs against fp32 and whether that is acceptable.

    With the random parity-fixture weights the cost is meaningless (that network amplifies
    input noise, see the README's benchmark section), and the line says so instead.
    """
    if random_weights:
        return (
            f"{mode} cost cannot be judged with the random parity-fixture weights (they turn "
            "rounding noise into degrees, see the README): run "
            "`trg-ros bench --model-only --weights <real checkpoint>`"
        )
    b = PRECISION_BOUNDS
    verdict = (
        f"within the bounds, {mode} is usable"
        if within_bounds(diff)
        else "outside the bounds, keep fp32"
    )
    return (
        f"{mode} cost on your checkpoint: max rotation {diff['rotation_deg']:.3f} deg, "
        f"translation {diff['translation_mm']:.3f} mm, vertices {diff['vertices_mm']:.3f} mm "
        f"vs fp32 (bounds {b['rotation_deg']:g} deg / {b['translation_mm']:g} mm): {verdict}"
    )
