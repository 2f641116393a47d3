"""TRG as an estimator: image + face boxes + camera in, :class:`Head` results out.

Usable from plain Python (``estimate_boxes`` with TRG crop boxes) and by the pipeline through
the :class:`~trg_ros.core.estimate.Estimator` protocol (``estimate`` with tracked faces).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.device import resolve_device
from trg_ros.core.estimate import Estimate, FaceQuery, keep_following
from trg_ros.core.frames import SELLION_LANDMARK
from trg_ros.core.model import fast
from trg_ros.core.model.checkpoint import load_trg
from trg_ros.core.model.config import PrincipalPointMode, TRGConfig
from trg_ros.core.model.crop import (
    Box,
    FaceCrop,
    landmark_box,
    make_crop,
    normalise,
    square_box,
)
from trg_ros.core.model.files import TRGFiles
from trg_ros.core.model.runners import TorchRunner
from trg_ros.core.model.runtime import Placement, choose_runner
from trg_ros.core.model.trg import TRGNet
from trg_ros.core.types import Head

log = logging.getLogger(__name__)

# Detector box -> landmark extent. BlazeFace boxes span brows to chin and roughly the cheeks,
# close to the extent of the 68 iBUG landmarks that TRG's crop convention starts from. This
# mapping (extent = detector box scaled about its centre, shifted down by a fraction of its
# height) only seeds the first frame of a track; later frames use TRG's own landmarks. The two
# numbers were fitted on skimage's astronaut: BlazeFace box (173, 68, 280, 175) against the
# hand-picked landmark extent (180, 75, 270, 175) of the parity fixture.
EXTENT_SCALE = 0.94
EXTENT_SHIFT_Y = 0.035


def crop_box_from_detection(box: np.ndarray) -> Box:
    """The TRG crop box (official landmark-extent convention) seeded from a detector box."""
    x0, y0, x1, y1 = (float(v) for v in box)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + EXTENT_SHIFT_Y * (y1 - y0)
    hw, hh = EXTENT_SCALE * (x1 - x0) / 2, EXTENT_SCALE * (y1 - y0) / 2
    return square_box(cx - hw, cy - hh, cx + hw, cy + hh)


def crop_box_for(query: FaceQuery) -> Box:
    """The crop for a tracked face: TRG's own landmark box from the last frame while it is
    trusted (:func:`trg_ros.core.estimate.keep_following`), else the detector-seeded box."""
    seeded = crop_box_from_detection(query.box)
    followed = query.follow
    if isinstance(followed, Box) and keep_following(
        followed.as_array(), seeded.as_array(), query.detected
    ):
        return followed
    if followed is not None:
        log.debug("TRG's crop drifted from the detection: re-seeding it")
    return seeded


class TRGEstimator:
    """Runs TRG on every face of a frame in one batch; implements
    :class:`trg_ros.core.estimate.Estimator`.

    Args:
        model: a loaded :class:`TRGNet`, or a function that loads it: called only when PyTorch
            runs TRG or the graph must be exported (a cached onnxruntime decision with its
            graph needs neither, and starts without reading the checkpoint).
        landmark_vertices: (68,) indices of the iBUG-68 landmarks in the 1220-vertex mesh.
        config: device, fp16 and principal-point handling.
        triangles: (T, 3) faces of the 1220-vertex mesh (for mesh markers).
        source: where the weights came from (for the log and diagnostics).
        loaded_from: the files ``model`` is (or will be) loaded from, checkpoint first: their
            content hashes key the cached CPU runtime decision (:mod:`.runtime`); without
            them the network's tensors are hashed.
    """

    name = "trg"

    def __init__(
        self,
        model: TRGNet | Callable[[], TRGNet],
        landmark_vertices: np.ndarray,
        config: TRGConfig | None = None,
        triangles: np.ndarray | None = None,
        source: str = "",
        loaded_from: Sequence[Path] = (),
    ) -> None:
        self.config = config or TRGConfig()
        self.source = source
        self.device = resolve_device(self.config.device)
        self._load = (lambda: model) if isinstance(model, TRGNet) else model
        self.model: TRGNet | None = None  # the checkpoint-shaped network, once loaded
        self.net: TRGNet | None = None  # what PyTorch runs, once it runs TRG
        self._torch: TorchRunner | None = None
        self._fast = self.config.optimise or self.config.precision != "fp32"
        self.precision = (
            fast.usable_precision(self.device, self.config.precision) if self._fast else "fp32"
        )
        self.runner, self.runtime_reason = choose_runner(
            self.network,
            self.torch_runner,
            Placement(self.device, self.precision, self.config.optimise),
            self.config.runtime,
            tuple(loaded_from),
        )
        log.info("TRG runs with %s (%s)", self.runner.name, self.runtime_reason)
        self.landmark_vertices = np.asarray(landmark_vertices, dtype=np.int64)
        self.sellion_vertex = int(self.landmark_vertices[SELLION_LANDMARK])
        self.triangles = (
            np.zeros((0, 3), np.int64) if triangles is None else np.asarray(triangles, np.int64)
        )

    def network(self) -> TRGNet:
        """The checkpoint-shaped network on this device, loaded on first use."""
        if self.model is None:
            self.model = self._load().eval().to(self.device)
        return self.model

    def torch_runner(self) -> TorchRunner:
        """TRG in PyTorch (folded BatchNorm and channels-last unless the eager reference path
        was asked for), prepared on first use."""
        if self._torch is None:
            model = self.network()
            self.net = model
            if self._fast:
                self.net = fast.optimise(model, self.device, self.precision)[0]
            self._torch = TorchRunner(
                self.net,
                self.device,
                self.precision,
                channels_last=self.net is not model,
                allow_tf32=self.config.allow_tf32,
            )
        return self._torch

    @classmethod
    def from_files(cls, files: TRGFiles, config: TRGConfig | None = None) -> TRGEstimator:
        """Weights and data files (see :class:`trg_ros.core.catalogue.ModelFiles`); the
        checkpoint is read only when it is needed (see ``model``)."""
        files.check()
        return cls(
            lambda: load_trg(files.weights, files.sampled_vertices),
            np.load(files.landmark_vertices, allow_pickle=False),
            config,
            np.load(files.triangles, allow_pickle=False),
            str(files.weights),
            (files.weights, files.sampled_vertices),
        )

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
        faces: Sequence[FaceQuery],
        camera: CameraModel,
        passes: int = 1,
    ) -> list[Estimate]:
        """See :meth:`trg_ros.core.estimate.Estimator.estimate`; the next frame's crop is the
        official box around this frame's 68 landmarks."""
        boxes = [crop_box_for(q) for q in faces]
        scores = [q.score for q in faces]
        heads = self.estimate_boxes(image_rgb, boxes, camera, scores)
        for _ in range(passes - 1):
            boxes = [
                landmark_box(h.landmarks_2d) if h.is_finite() else b
                for h, b in zip(heads, boxes, strict=True)
            ]
            heads = self.estimate_boxes(image_rgb, boxes, camera, scores)
        out = []
        for head, query in zip(heads, faces, strict=True):
            head = dataclasses.replace(head, box=np.asarray(query.box, float))
            if not head.is_finite():
                out.append(Estimate(head))
                continue
            follow = landmark_box(head.landmarks_2d)
            out.append(Estimate(head, follow, float(follow.width)))
        return out

    def estimate_boxes(
        self,
        image_rgb: np.ndarray,
        boxes: Sequence[Box],
        camera: CameraModel,
        scores: Sequence[float] | None = None,
    ) -> list[Head]:
        """Pose of every crop box.

        Args:
            image_rgb: (H, W, 3) uint8 RGB image.
            boxes: TRG crop boxes in raw image px (the official landmark-extent convention).
            camera: intrinsics of the image.
            scores: detector scores, one per box (default 1).
        """
        return self.run_crops(self.crop(image_rgb, boxes, camera), camera, scores)

    def run_crops(
        self, crops: Sequence[FaceCrop], camera: CameraModel, scores: Sequence[float] | None = None
    ) -> list[Head]:
        """TRG on prepared crops (one batch) and decoding into camera-frame results."""
        if not crops:
            return []
        img = normalise(np.stack([c.pixels for c in crops])).numpy()
        rotations, translations, vertices = self.runner(
            img,
            np.stack([c.k_crop for c in crops]),
            np.stack([c.bbox_info for c in crops]),
            np.stack([c.principal_point for c in crops]),
        )
        heads = []
        for i, c in enumerate(crops):
            lmk3d = vertices[i, self.landmark_vertices]
            heads.append(
                Head(
                    id="",
                    score=float(scores[i]) if scores is not None else 1.0,
                    box=c.box.as_array(),
                    rotation=rotations[i],
                    translation=translations[i],
                    vertices=vertices[i],
                    landmarks_2d=camera.project(lmk3d),
                    sellion=vertices[i, self.sellion_vertex],
                    model=self.name,
                )
            )
        return heads
