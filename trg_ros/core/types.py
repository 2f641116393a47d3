"""Result types shared by the core and the ROS layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Head:
    """One face's pose and geometry in the camera optical frame (x right, y down, z forward),
    whichever estimator made it.

    Attributes:
        id: track id, a short string starting with a letter ("" before tracking).
        score: detector confidence in [0, 1].
        box: (4,) x_min, y_min, x_max, y_max of the face box in raw image px.
        rotation: (3, 3) head -> camera, proper rotation (det = +1), the head frame in TRG's
            convention (x to the person's left, y down, z into the head).
        translation: (3,) the estimator's head-frame origin in the camera frame, m.
        vertices: (N, 3) dense face points in the camera frame, m (TRG 1220, FaceMesh 468).
        landmarks_2d: (68, 2) iBUG-68 landmarks in raw image px.
        sellion: (3,) the point between the eyes (REP-155 face origin), camera frame, m.
        model: the estimator's name (``trg`` or ``facemesh``).
        smoothed_rotation, smoothed_translation: the pose after temporal filtering, when the
            pipeline smooths; ``rotation``/``translation`` stay the raw per-frame estimate.
        face_landmarks: (478, 3) FaceMesh v2 points, x, y in raw image px (pixel centres on
            integers, like K), z relative depth in px; 468-477 are the irises (468 and 473
            the centres, subject's right and left). Set where a FaceMesh landmarker ran on
            the face (the FaceMesh estimator, or the signals stage beside TRG), else None.
            The one source of eye and iris points for ROS4HRI pupils and driver signals.
    """

    id: str
    score: float
    box: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    vertices: np.ndarray
    landmarks_2d: np.ndarray
    sellion: np.ndarray
    model: str
    smoothed_rotation: np.ndarray | None = None
    smoothed_translation: np.ndarray | None = None
    face_landmarks: np.ndarray | None = None

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
            for a in (
                self.rotation,
                self.translation,
                self.vertices,
                self.landmarks_2d,
                self.sellion,
            )
        )
