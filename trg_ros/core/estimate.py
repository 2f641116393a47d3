"""The seam between "where are the faces" and "what pose has each": the Estimator protocol.

The pipeline finds and tracks faces; an estimator turns each tracked face into a
:class:`~trg_ros.core.types.Head` and says where to look for that face in the next frame.
TRG (:mod:`trg_ros.core.model.estimator`) and FaceMesh (:mod:`trg_ros.core.facemesh.estimator`)
implement it; the pipeline, the tracker, the smoothing and the ROS layer never ask which runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from trg_ros.core.boxes import iou
from trg_ros.core.camera import CameraModel
from trg_ros.core.device import Device
from trg_ros.core.types import Head

if TYPE_CHECKING:
    import torch

MODELS = ("auto", "trg", "facemesh")  # see trg_ros.core.estimators.load_estimator

# A region an estimator followed from its own landmarks that overlaps the one seeded from
# this frame's detection less than this is not trusted: the face is looked for afresh.
MIN_FOLLOW_IOU = 0.5


@dataclass(frozen=True)
class FaceQuery:
    """One tracked face, as the estimator sees it.

    Attributes:
        box: (4,) face box x_min, y_min, x_max, y_max in raw image px (detector convention).
        keypoints: (K, 2) detector keypoints in raw image px (BlazeFace: eyes first); may be
            empty (external detections).
        score: detector confidence.
        detected: the box comes from a detection in this very frame.
        follow: what the estimator returned as ``Estimate.follow`` for this face last frame
            (its own idea of where the face is now), or None for a new face.
    """

    box: np.ndarray
    score: float
    detected: bool
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    follow: object | None = None


@dataclass(frozen=True)
class Estimate:
    """An estimator's answer for one :class:`FaceQuery`.

    Attributes:
        head: the pose and geometry; None when the estimator found no face there.
        follow: where to look for this face next frame (opaque to the caller).
        follow_size: that region's size in image px (the caller ends tracks that collapse).
    """

    head: Head | None
    follow: object | None = None
    follow_size: float = 0.0


class Estimator(Protocol):
    """What the pipeline needs of a head-pose model.

    Attributes:
        name: ``trg`` or ``facemesh``; every output says which model made it.
        device: where it runs (``.type`` is ``cpu`` or ``cuda``; ``str()`` names it): a
            ``torch.device`` for TRG, a torch-free :class:`~trg_ros.core.device.Device` where
            no PyTorch runs.
        triangles: (T, 3) faces of ``Head.vertices`` for mesh markers.
        source: where its model files came from (a path), for the log and diagnostics.
    """

    name: str
    device: Device | torch.device
    triangles: np.ndarray
    source: str

    def estimate(
        self,
        image_rgb: np.ndarray,
        faces: Sequence[FaceQuery],
        camera: CameraModel,
        passes: int = 1,
    ) -> list[Estimate]:
        """Every face of one frame, batched.

        Args:
            image_rgb: (H, W, 3) uint8 RGB image.
            faces: the tracked faces.
            camera: intrinsics of the image.
            passes: 2 = look at each face a second time, in the region its first-pass
                landmarks give.

        Returns:
            One estimate per face, in order.
        """
        ...


def keep_following(followed: np.ndarray, seeded: np.ndarray, detected: bool) -> bool:
    """Whether a region an estimator followed from its landmarks (x0, y0, x1, y1 px) is still
    trusted: always between detections; on a detection frame only while it overlaps the region
    seeded from the detection."""
    return not detected or iou(followed, seeded[None])[0] >= MIN_FOLLOW_IOU
