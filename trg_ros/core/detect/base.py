"""What every face detector gives the pipeline, and the detector-box to TRG-box mapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from trg_ros.core.crop import Box, square_box

# Detector box -> landmark extent. BlazeFace boxes span brows to chin and roughly the cheeks,
# close to the extent of the 68 iBUG landmarks that TRG's crop convention starts from. This
# mapping (extent = detector box scaled about its centre, shifted down by a fraction of its
# height) only seeds the first frame of a track; later frames use TRG's own landmarks. The two
# numbers were fitted on skimage's astronaut: BlazeFace box (173, 68, 280, 175) against the
# hand-picked landmark extent (180, 75, 270, 175) of the parity fixture.
EXTENT_SCALE = 0.94
EXTENT_SHIFT_Y = 0.035


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


def crop_box_from_detection(box: np.ndarray) -> Box:
    """The TRG crop box (official landmark-extent convention) seeded from a detector box."""
    x0, y0, x1, y1 = (float(v) for v in box)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + EXTENT_SHIFT_Y * (y1 - y0)
    hw, hh = EXTENT_SCALE * (x1 - x0) / 2, EXTENT_SCALE * (y1 - y0) / 2
    return square_box(cx - hw, cy - hh, cx + hw, cy + hh)
