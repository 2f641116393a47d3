"""What every face detector gives the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Detection:
    """One face found in an image.

    Attributes:
        box: (4,) x_min, y_min, x_max, y_max in image px.
        score: confidence in [0, 1].
        keypoints: (K, 2) image px (BlazeFace: eyes, nose tip, mouth, ear tragions).
    """

    box: np.ndarray
    score: float
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    @property
    def size(self) -> float:
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))


class FaceDetector(Protocol):
    """Anything that finds faces in an RGB image can feed the pipeline."""

    def detect(self, image_rgb: np.ndarray) -> list[Detection]: ...
