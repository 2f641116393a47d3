"""FaceMesh v2: 478 face landmarks for square, rotated regions of interest (ROIs).

Follows the settings MediaPipe publishes for its Face Landmarker graph. A ROI is a square
1.5 times the long side of a face's box, centred on it and rotated so that the line between
the eyes is horizontal in the crop: from a detection the eyes are its first two keypoints;
when tracking, the box is the extent of the previous frame's landmarks and the eyes are their
outer corners (33, 263). The network sees the ROI as a 256 x 256 RGB crop in [0, 1] (bilinear,
border pixels replicated) and returns x, y in crop pixels, z (relative depth, negative toward
the camera) on the same scale, and a face-presence logit.

Pixel coordinates are continuous: pixel (i, j) covers [i, i + 1) x [j, j + 1), as in the
detector's boxes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from trg_ros.core.detect.base import Detection
from trg_ros.core.device import Device
from trg_ros.core.facemesh.files import LANDMARKER
from trg_ros.core.tflite.files import converted_path
from trg_ros.core.tflite.runtime import TFLiteNetwork

if TYPE_CHECKING:
    import torch

INPUT_SIZE = 256
NUM_LANDMARKS = 478  # 468 mesh vertices, then 10 iris points
ROI_SCALE = 1.5
EYE_CORNERS = (33, 263)  # outer corners: subject's right eye (image left when facing), left
PRESENCE_THRESHOLD = 0.5  # MediaPipe's default minimum presence to keep tracking a face


@dataclass(frozen=True)
class Roi:
    """A square region of the image, rotated about its centre, that the network sees.

    Attributes:
        centre: x, y in image px.
        size: side in image px.
        angle: direction of the crop's x axis in the image, radians from the image x axis
            toward its y axis (clockwise on screen, as image y points down).
    """

    centre: tuple[float, float]
    size: float
    angle: float

    def crop_to_image(self) -> np.ndarray:
        """(2, 3) affine map from crop px (0..256, continuous) to image px."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        rot = np.array([[c, -s], [s, c]]) * (self.size / INPUT_SIZE)
        shift = np.asarray(self.centre) - rot @ [INPUT_SIZE / 2, INPUT_SIZE / 2]
        return np.hstack([rot, shift[:, None]])


def square_roi(box: np.ndarray, eye_a: np.ndarray | None, eye_b: np.ndarray | None) -> Roi:
    """The ROI of a face box (x_min, y_min, x_max, y_max px), turned so that ``eye_a`` ->
    ``eye_b`` (image left to right on an upright face) runs along the crop's x axis."""
    x0, y0, x1, y1 = (float(v) for v in box)
    angle = 0.0
    if eye_a is not None and eye_b is not None:
        angle = math.atan2(float(eye_b[1] - eye_a[1]), float(eye_b[0] - eye_a[0]))
    # Square: the network wants an undistorted face (MediaPipe's tasks graph leaves the
    # detector's rectangle unsquared; BlazeFace boxes are near-square anyway).
    side = ROI_SCALE * max(x1 - x0, y1 - y0)
    return Roi(((x0 + x1) / 2, (y0 + y1) / 2), side, angle)


def roi_from_detection(detection: Detection) -> Roi:
    """The first ROI of a face, from a detector box whose first two keypoints are the eyes
    (BlazeFace); without keypoints the ROI is upright."""
    kps = detection.keypoints
    return square_roi(detection.box, *(kps[:2] if len(kps) >= 2 else (None, None)))


def roi_from_landmarks(points: np.ndarray) -> Roi:
    """The ROI for the next frame from this frame's (478, 2 or 3) landmarks in image px."""
    xy = np.asarray(points)[:, :2]
    box = np.concatenate([xy.min(0), xy.max(0)])
    return square_roi(box, xy[EYE_CORNERS[0]], xy[EYE_CORNERS[1]])


@dataclass(frozen=True)
class FaceLandmarks:
    """FaceMesh's answer for one ROI.

    Attributes:
        points: (478, 3) x, y in image px; z relative depth in image px (scaled like x, y),
            negative toward the camera.
        presence: probability that the ROI holds a face (sigmoid of the network's logit).
        roi: the ROI the landmarks were found in.
    """

    points: np.ndarray
    presence: float
    roi: Roi

    @property
    def present(self) -> bool:
        """Whether a tracker should keep this face (MediaPipe's default threshold)."""
        return self.presence >= PRESENCE_THRESHOLD

    def next_roi(self) -> Roi:
        """Where to look for this face in the next frame (:func:`roi_from_landmarks`)."""
        return roi_from_landmarks(self.points)


class FaceLandmarker:
    """FaceMesh v2 on any number of ROIs of an image, in one batch.

    Args:
        tflite: ``face_landmarks_detector.tflite`` from the Face Landmarker bundle.
        converted: its PyTorch conversion (``.npz``).
        device: ``cpu``, ``cuda`` or ``cuda:N`` (a str, :class:`Device` or ``torch.device``).
        runtime: ``auto``, ``litert`` or ``torch`` (see :mod:`trg_ros.core.tflite.runtime`).
    """

    def __init__(
        self,
        tflite: Path,
        converted: Path,
        device: str | Device | torch.device = "cpu",
        runtime: str = "auto",
    ) -> None:
        self.net = TFLiteNetwork(tflite, converted, device, runtime)

    @classmethod
    def from_dir(
        cls,
        data_dir: str | Path,
        device: str | Device | torch.device = "cpu",
        runtime: str = "auto",
    ) -> FaceLandmarker:
        """Load from a folder laid out like the asset cache (``trg-ros assets fetch``)."""
        tflite = Path(data_dir).expanduser() / LANDMARKER
        return cls(tflite, converted_path(tflite), device, runtime)

    @staticmethod
    def crop(image_rgb: np.ndarray, roi: Roi) -> np.ndarray:
        """The network's (256, 256, 3) float32 input in [0, 1] for ``roi`` of a uint8 image."""
        m = roi.crop_to_image()
        # warpAffine maps output pixel indices to input ones; indices are centres - 0.5.
        shift = m[:, :2] @ [0.5, 0.5] + m[:, 2] - 0.5
        crop = cv2.warpAffine(
            image_rgb,
            np.hstack([m[:, :2], shift[:, None]]),
            (INPUT_SIZE, INPUT_SIZE),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        return crop.astype(np.float32) / 255.0

    def landmarks(self, image_rgb: np.ndarray, rois: Sequence[Roi]) -> list[FaceLandmarks]:
        """Landmarks of every ROI of an (H, W, 3) uint8 RGB image, one network batch."""
        if not rois:
            return []
        crops = np.stack([self.crop(image_rgb, roi) for roi in rois])
        raw, logits = self.net.run(crops)[:2]
        raw = raw.reshape(len(rois), NUM_LANDMARKS, 3)
        presence = 1.0 / (1.0 + np.exp(-logits.reshape(len(rois)).astype(np.float64)))
        out = []
        for roi, pts, p in zip(rois, raw, presence, strict=True):
            m = roi.crop_to_image()
            xy = pts[:, :2].astype(np.float64) @ m[:, :2].T + m[:, 2]
            z = pts[:, 2:].astype(np.float64) * (roi.size / INPUT_SIZE)
            out.append(FaceLandmarks(np.hstack([xy, z]), float(p), roi))
        return out
