"""From a face box and a camera to TRG's network inputs, exactly as the official demo does.

SPEC §1: square landmark-extent box with ``int()`` truncation, a three-point affine warp to
192 x 192 (scale 191 / width), crop intrinsics scaled by 192 / width, ImageNet normalisation.
When the camera has lens distortion the crop is resampled from the ideal pinhole image
instead, so the pinhole model TRG assumes holds inside the crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from trg_ros.core.camera import CameraModel
from trg_ros.core.model.config import PRINCIPAL_POINT_MODES, PrincipalPointMode
from trg_ros.core.model.trg import CROP_SIZE

# Half-side of the official box in units of the larger landmark extent (1.5 x extent).
BOX_HALF_SIDE = 0.75
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass(frozen=True)
class Box:
    """Integer crop box in full-image px (right/bottom exclusive in spirit, as official)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def centre(self) -> tuple[float, float]:
        return (self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0

    def as_array(self) -> np.ndarray:
        return np.array([self.left, self.top, self.right, self.bottom], dtype=np.float64)


def square_box(x0: float, y0: float, x1: float, y1: float) -> Box:
    """The official crop box around an extent: centre of the extent, side 1.5 x its larger side.

    Coordinates go through ``int()``, which truncates toward zero (so -2.5 becomes -2), as the
    official code does (SPEC §1.2, §5.4).
    """
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    half = BOX_HALF_SIDE * max(x1 - x0, y1 - y0)
    return Box(int(cx - half), int(cy - half), int(cx + half), int(cy + half))


def landmark_box(landmarks: np.ndarray) -> Box:
    """Official box from (68, 2) landmarks in full-image px."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
    return square_box(x0, y0, x1, y1)


def crop_affine(box: Box) -> np.ndarray:
    """(2, 3) full image -> crop affine from three corner correspondences (scale 191 / w)."""
    last = CROP_SIZE - 1
    src = np.array([[box.left, box.top], [box.left, box.bottom], [box.right, box.top]], np.float32)
    dst = np.array([[0, 0], [0, last], [last, 0]], np.float32)
    return cv2.getAffineTransform(src, dst)


@dataclass(frozen=True)
class FaceCrop:
    """One face's network inputs.

    Attributes:
        pixels: (192, 192, 3) uint8 RGB crop.
        k_crop: (4, 3) crop intrinsics in the official transposed layout.
        bbox_info: (7,) ``[l, t, r, b, f, H, W]`` in full-image px (f = fx).
        principal_point: (2,) principal point the box features and translation use.
        box: the crop box in ideal (undistorted) full-image px.
    """

    pixels: np.ndarray
    k_crop: np.ndarray
    bbox_info: np.ndarray
    principal_point: np.ndarray
    box: Box


def ideal_box(box: Box, camera: CameraModel) -> Box:
    """Map a box found in the raw (distorted) image to the ideal pinhole image."""
    if not camera.has_distortion:
        return box
    x0, y0, x1, y1 = box.as_array()
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    border = np.array(
        [[x0, y0], [mx, y0], [x1, y0], [x1, my], [x1, y1], [mx, y1], [x0, y1], [x0, my]]
    )
    und = camera.undistort_pixels(border)
    (u0, v0), (u1, v1) = und.min(0), und.max(0)
    cx, cy, half = (u0 + u1) / 2, (v0 + v1) / 2, max(u1 - u0, v1 - v0) / 2
    return Box(*(round(float(c)) for c in (cx - half, cy - half, cx + half, cy + half)))


def _warp(image: np.ndarray, affine: np.ndarray, camera: CameraModel) -> np.ndarray:
    size = (CROP_SIZE, CROP_SIZE)
    if not camera.has_distortion:
        return cv2.warpAffine(
            image,
            affine,
            size,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
    # Each crop pixel -> ideal full-image px (inverse affine) -> raw px through the lens model.
    inverse = cv2.invertAffineTransform(affine)
    v, u = np.mgrid[0:CROP_SIZE, 0:CROP_SIZE].astype(np.float64)
    ideal = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], 1) @ inverse.T
    raw = camera.distort_pixels(ideal).astype(np.float32).reshape(CROP_SIZE, CROP_SIZE, 2)
    return cv2.remap(
        image,
        raw[..., 0],
        raw[..., 1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def make_crop(
    image_rgb: np.ndarray,
    box: Box,
    camera: CameraModel,
    principal_point: PrincipalPointMode = "camera",
) -> FaceCrop:
    """Crop one face for TRG.

    Args:
        image_rgb: (H, W, 3) uint8 RGB full image, the size ``camera`` describes.
        box: crop box in raw image px (e.g. from :func:`landmark_box`); may run off the image,
            the outside is filled with black as in the official code.
        camera: full-image intrinsics.
        principal_point: ``camera`` uses (cx, cy) everywhere; ``image_centre`` reproduces the
            official (W/2, H/2) assumption of the translation formula (SPEC §5.2).
    """
    if principal_point not in PRINCIPAL_POINT_MODES:
        raise ValueError(
            f"principal_point must be one of {PRINCIPAL_POINT_MODES}, got {principal_point!r}"
        )
    height, width = image_rgb.shape[:2]
    camera.check_image(width, height)
    box = ideal_box(box, camera)
    if box.width <= 0 or box.bottom <= box.top:
        raise ValueError(f"face box {box} is empty")
    pixels = _warp(image_rgb, crop_affine(box), camera)
    scale = CROP_SIZE / box.width
    cx, cy = camera.principal_point
    k_crop = np.array(
        [
            [camera.fx * scale, 0, 0],
            [0, camera.fy * scale, 0],
            [(cx - box.left) * scale, (cy - box.top) * scale, 1],
            [0, 0, 0],
        ],
        dtype=np.float32,
    )
    bbox_info = np.array(
        [box.left, box.top, box.right, box.bottom, camera.fx, height, width], dtype=np.float32
    )
    pp = (cx, cy) if principal_point == "camera" else (width / 2.0, height / 2.0)
    return FaceCrop(pixels, k_crop, bbox_info, np.array(pp, dtype=np.float32), box)


def normalise(pixels: np.ndarray) -> torch.Tensor:
    """(B, 192, 192, 3) uint8 RGB -> (B, 3, 192, 192) float32 ImageNet-normalised tensor."""
    x = (pixels.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
