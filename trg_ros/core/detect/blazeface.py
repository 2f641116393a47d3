"""MediaPipe BlazeFace full-range face detector.

The network is the Apache-2.0 ``face_detection_full_range.tflite`` (see
:mod:`trg_ros.core.detect.files`), run by :class:`~trg_ros.core.tflite.runtime.TFLiteNetwork`
(ai-edge-litert on CPU, its PyTorch conversion on CUDA). Pre- and post-processing
follow MediaPipe's published graph settings for this model: a 192 x 192 letterboxed RGB input
scaled to [-1, 1]; 2304 SSD anchors, one per cell of a 48 x 48 grid with unit size; boxes and
six keypoints regressed in input pixels; sigmoid scores; weighted non-maximum suppression.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from trg_ros.core.boxes import iou
from trg_ros.core.detect.base import Detection
from trg_ros.core.device import Device
from trg_ros.core.tflite.runtime import TFLiteNetwork

if TYPE_CHECKING:
    import torch

INPUT_SIZE = 192
GRID = 48
NUM_KEYPOINTS = 6
SCORE_CLIP = 100.0  # logits are clipped before the sigmoid, as MediaPipe does


def anchors() -> np.ndarray:
    """(2304, 2) anchor centres in [0, 1], row-major over the 48 x 48 grid."""
    centres = (np.arange(GRID, dtype=np.float32) + 0.5) / GRID
    y, x = np.meshgrid(centres, centres, indexing="ij")
    return np.stack([x.ravel(), y.ravel()], 1)


@dataclass(frozen=True)
class BlazeFaceConfig:
    """Detector thresholds.

    Attributes:
        score_threshold: minimum face probability.
        nms_iou: boxes overlapping more than this are merged (weighted NMS).
        min_face_size: smallest box side in image px that is reported.
    """

    score_threshold: float = 0.6
    nms_iou: float = 0.3
    min_face_size: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.score_threshold < 1.0:
            raise ValueError(f"score_threshold must be in (0, 1), got {self.score_threshold}")
        if not 0.0 < self.nms_iou <= 1.0:
            raise ValueError(f"nms_iou must be in (0, 1], got {self.nms_iou}")
        if self.min_face_size < 0:
            raise ValueError(f"min_face_size must be >= 0, got {self.min_face_size}")


def letterbox(image_rgb: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """Fit the image into 192 x 192 keeping its aspect ratio, padding with black.

    Returns:
        (192, 192, 3) float32 in [-1, 1], the scale, and the x / y padding in input px.
    """
    h, w = image_rgb.shape[:2]
    scale = INPUT_SIZE / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    # Anti-aliased like INTER_AREA (a mean 1-2 grey levels from it) at a fraction of its cost:
    # halve with INTER_AREA while at least twice too large (2 x 2 means, its fast path for even
    # sizes), then bilinear.
    small = image_rgb
    while small.shape[1] >= 2 * nw and small.shape[0] >= 2 * nh:
        half = (small.shape[1] // 2, small.shape[0] // 2)
        small = cv2.resize(small, half, interpolation=cv2.INTER_AREA)
    resized = cv2.resize(small, (nw, nh), interpolation=cv2.INTER_LINEAR)
    canvas = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
    px, py = (INPUT_SIZE - nw) // 2, (INPUT_SIZE - nh) // 2
    canvas[py : py + nh, px : px + nw] = resized
    return canvas.astype(np.float32) / 127.5 - 1.0, scale, float(px), float(py)


def weighted_nms(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, threshold: float
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Blend every cluster of overlapping boxes into one, weighted by score."""
    order = np.argsort(-scores)
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    remaining = np.ones(len(scores), bool)
    out = []
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        members = remaining & (iou(boxes[i], boxes) > threshold)
        members[i] = True
        remaining &= ~members
        w = scores[members][:, None]
        box = (boxes[members] * w).sum(0) / w.sum()
        kps = (keypoints[members].reshape(-1, NUM_KEYPOINTS * 2) * w).sum(0) / w.sum()
        out.append((box, kps.reshape(NUM_KEYPOINTS, 2), float(scores[i])))
    return out


class BlazeFace:
    """Face detector implementing :class:`trg_ros.core.detect.base.FaceDetector`.

    Args:
        weights: converted ``.npz`` (``trg-ros assets fetch`` writes it); the ``.tflite`` it
            was converted from is expected next to it, under the same stem.
        config: thresholds.
        device: ``cpu``, ``cuda`` or ``cuda:N`` (a str, :class:`Device` or ``torch.device``).
        runtime: ``auto``, ``litert`` or ``torch`` (see :mod:`trg_ros.core.tflite.runtime`).
    """

    def __init__(
        self,
        weights: Path,
        config: BlazeFaceConfig | None = None,
        device: str | Device | torch.device = "cpu",
        runtime: str = "auto",
    ) -> None:
        self.config = config or BlazeFaceConfig()
        weights = Path(weights)
        self.net = TFLiteNetwork(weights.with_suffix(".tflite"), weights, device, runtime)
        self._anchors = anchors()

    def raw(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, 192, 192, 3) inputs in [-1, 1] -> regressors (B, 2304, 16), logits (B, 2304)."""
        reg, cls = self.net.run(inputs)
        return reg, cls[..., 0]

    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        """Faces in a (H, W, 3) uint8 RGB image, boxes and keypoints in image px."""
        inp, scale, px, py = letterbox(image_rgb)
        reg, logits = self.raw(inp[None])
        return self.decode(reg[0], logits[0], scale, px, py, image_rgb.shape[:2])

    def decode(
        self,
        reg: np.ndarray,
        logits: np.ndarray,
        scale: float,
        pad_x: float,
        pad_y: float,
        image_hw: tuple[int, int],
    ) -> list[Detection]:
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -SCORE_CLIP, SCORE_CLIP)))
        keep = scores >= self.config.score_threshold
        if not keep.any():
            return []
        reg, scores, anc = reg[keep], scores[keep], self._anchors[keep]
        centre = reg[:, :2] / INPUT_SIZE + anc
        half = reg[:, 2:4] / INPUT_SIZE / 2
        boxes = np.concatenate([centre - half, centre + half], 1) * INPUT_SIZE
        kps = reg[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) / INPUT_SIZE + anc[:, None]
        kps = kps * INPUT_SIZE
        detections = []
        offset = np.array([pad_x, pad_y])
        for box, kp, score in weighted_nms(boxes, kps, scores, self.config.nms_iou):
            box_px = (box.reshape(2, 2) - offset) / scale
            box_px = np.clip(box_px, 0, [image_hw[1], image_hw[0]]).ravel()
            if min(box_px[2] - box_px[0], box_px[3] - box_px[1]) < self.config.min_face_size:
                continue
            detections.append(Detection(box_px, score, (kp - offset) / scale))
        return detections
