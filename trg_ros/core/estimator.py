"""Plain-Python inference API: image + face boxes + camera in, :class:`Head` results out."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from trg_ros.core import assets
from trg_ros.core.camera import CameraModel
from trg_ros.core.crop import (
    PRINCIPAL_POINT_MODES,
    Box,
    FaceCrop,
    PrincipalPointMode,
    make_crop,
    normalise,
)
from trg_ros.core.model import fast
from trg_ros.core.model.checkpoint import load_trg
from trg_ros.core.model.fast import PRECISIONS
from trg_ros.core.model.trg import TRGNet
from trg_ros.core.types import Head

log = logging.getLogger(__name__)


def resolve_device(device: str) -> torch.device:
    """``auto`` picks the first CUDA device when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {device!r}")
    return dev


@dataclass(frozen=True)
class EstimatorConfig:
    """Settings of :class:`HeadPoseEstimator`, validated on construction.

    Attributes:
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        half: fp16 on CUDA (shorthand for ``precision="fp16"``).
        principal_point: ``camera`` or ``image_centre`` (see :mod:`trg_ros.core.crop`).
        precision: ``fp32``, ``bf16`` (CPUs with AVX-512 BF16/AMX) or ``fp16`` (CUDA).
        optimise: fold BatchNorm and use channels-last (exact up to float rounding); off
            runs the checkpoint-shaped model eagerly, the reference path.
    """

    device: str = "auto"
    half: bool = False
    principal_point: str = "camera"
    precision: str = "fp32"
    optimise: bool = True

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.principal_point not in PRINCIPAL_POINT_MODES:
            raise ValueError(
                f"principal_point must be one of {PRINCIPAL_POINT_MODES}, "
                f"got {self.principal_point!r}"
            )


class HeadPoseEstimator:
    """Runs TRG on every face of a frame in one batch.

    Args:
        model: a loaded :class:`TRGNet`.
        landmark_vertices: (68,) indices of the iBUG-68 landmarks in the 1220-vertex mesh.
        config: device, fp16 and principal-point handling.
    """

    def __init__(
        self, model: TRGNet, landmark_vertices: np.ndarray, config: EstimatorConfig | None = None
    ) -> None:
        self.config = config or EstimatorConfig()
        self.device = resolve_device(self.config.device)
        self.model = model.eval().to(self.device)
        precision = "fp16" if self.config.half else self.config.precision
        if self.config.optimise or precision != "fp32":
            self.net, self.precision = fast.optimise(self.model, self.device, precision)
        else:
            self.net, self.precision = self.model, "fp32"
        self.landmark_vertices = np.asarray(landmark_vertices, dtype=np.int64)

    @classmethod
    def from_files(
        cls, files: assets.ModelFiles, config: EstimatorConfig | None = None
    ) -> HeadPoseEstimator:
        """Load weights and data files (see :class:`trg_ros.core.assets.ModelFiles`)."""
        files.check()
        model = load_trg(files.weights, files.sampled_vertices)
        return cls(model, np.load(files.landmark_vertices, allow_pickle=False), config)

    @property
    def principal_point(self) -> PrincipalPointMode:
        return "camera" if self.config.principal_point == "camera" else "image_centre"

    def crop(
        self, image_rgb: np.ndarray, boxes: Sequence[Box], camera: CameraModel
    ) -> list[FaceCrop]:
        return [make_crop(image_rgb, b, camera, self.principal_point) for b in boxes]

    def estimate(
        self,
        image_rgb: np.ndarray,
        boxes: Sequence[Box],
        camera: CameraModel,
        scores: Sequence[float] | None = None,
    ) -> list[Head]:
        """Pose of every face box.

        Args:
            image_rgb: (H, W, 3) uint8 RGB image.
            boxes: TRG crop boxes in raw image px (the official landmark-extent convention).
            camera: intrinsics of the image.
            scores: detector scores, one per box (default 1).
        """
        return self.run_crops(self.crop(image_rgb, boxes, camera), camera, scores)

    @torch.inference_mode()
    def run_crops(
        self, crops: Sequence[FaceCrop], camera: CameraModel, scores: Sequence[float] | None = None
    ) -> list[Head]:
        """TRG on prepared crops (one batch) and decoding into camera-frame results."""
        if not crops:
            return []
        dev = self.device
        img = normalise(np.stack([c.pixels for c in crops])).to(dev)
        if self.net is not self.model:
            img = img.contiguous(memory_format=torch.channels_last)
        k_crop = torch.from_numpy(np.stack([c.k_crop for c in crops])).to(dev)
        bbox_info = torch.from_numpy(np.stack([c.bbox_info for c in crops])).to(dev)
        pp = torch.from_numpy(np.stack([c.principal_point for c in crops])).to(dev)
        with fast.autocast(dev, self.precision):
            out = self.net(img, k_crop, bbox_info, pp)
        rotations = out.rotations[-1].cpu().numpy().astype(np.float64)
        translations = out.translations[-1].cpu().numpy().astype(np.float64)
        vertices = out.faces_cam[-1].cpu().numpy().astype(np.float64)
        heads = []
        for i, c in enumerate(crops):
            lmk3d = vertices[i, self.landmark_vertices]
            heads.append(
                Head(
                    id="",
                    score=float(scores[i]) if scores is not None else 1.0,
                    box=c.box.as_array(),
                    crop_box=c.box.as_array(),
                    rotation=rotations[i],
                    translation=translations[i],
                    vertices=vertices[i],
                    landmarks_2d=camera.project(lmk3d),
                )
            )
        return heads
