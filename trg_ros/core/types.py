"""Result types shared by the core and the ROS layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Head:
    """One face's pose and geometry in the camera optical frame (x right, y down, z forward).

    Attributes:
        id: track id, a short string starting with a letter ("" before tracking).
        score: detector confidence in [0, 1].
        box: (4,) x_min, y_min, x_max, y_max of the face box in raw image px.
        crop_box: (4,) the TRG crop box (ideal image px) the pose was computed from.
        rotation: (3, 3) TRG head frame -> camera, proper rotation (det = +1).
        translation: (3,) TRG head-frame origin in the camera frame, m.
        vertices: (1220, 3) dense face mesh in the camera frame, m.
        landmarks_2d: (68, 2) iBUG-68 landmarks in raw image px.
        smoothed_rotation, smoothed_translation: the pose after temporal filtering, when the
            pipeline smooths; ``rotation``/``translation`` stay the raw per-frame estimate.
    """

    id: str
    score: float
    box: np.ndarray
    crop_box: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    vertices: np.ndarray
    landmarks_2d: np.ndarray
    smoothed_rotation: np.ndarray | None = None
    smoothed_translation: np.ndarray | None = None

    def pose(self, smoothed: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(R, t) head -> camera: the smoothed one when there is one and it is asked for."""
        if (
            smoothed
            and self.smoothed_rotation is not None
            and self.smoothed_translation is not None
        ):
            return self.smoothed_rotation, self.smoothed_translation
        return self.rotation, self.translation

    def is_finite(self) -> bool:
        return all(
            bool(np.isfinite(a).all())
            for a in (self.rotation, self.translation, self.vertices, self.landmarks_2d)
        )
