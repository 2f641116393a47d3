"""Pinhole camera with optional lens distortion (OpenCV / ROS ``plumb_bob`` model).

Reads the same fields as ``sensor_msgs/CameraInfo`` (K, D, width, height) without importing
the message, like image_geometry does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from trg_ros.core.errors import CameraError


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics of the full image.

    Attributes:
        k: (3, 3) camera matrix in px.
        width, height: image size in px the intrinsics belong to.
        dist: distortion coefficients (k1, k2, p1, p2[, k3, ...]); empty or zeros = pinhole.
        guessed: True when the focal length was guessed, so translations are only relative.
    """

    k: np.ndarray
    width: int
    height: int
    dist: np.ndarray = field(default_factory=lambda: np.zeros(0))
    guessed: bool = False

    def __post_init__(self) -> None:
        k = np.asarray(self.k, dtype=np.float64).reshape(3, 3)
        dist = np.asarray(self.dist, dtype=np.float64).reshape(-1)
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "dist", dist)
        if self.width < 1 or self.height < 1:
            raise CameraError(f"camera size must be positive, got {self.width}x{self.height}")
        if not (np.isfinite(k).all() and np.isfinite(dist).all()):
            raise CameraError("camera intrinsics contain NaN or infinite values")
        if k[0, 0] <= 0 or k[1, 1] <= 0:
            raise CameraError(
                f"camera focal lengths must be positive, got fx={k[0, 0]:g} fy={k[1, 1]:g} "
                "(an all-zero K means the camera is not calibrated)"
            )

    @classmethod
    def guess(cls, width: int, height: int) -> CameraModel:
        """An uncalibrated guess, f = w + h and the principal point at the centre.

        Translation is then only correct up to scale: callers must say so to the user.
        """
        f = float(width + height)
        k = np.array([[f, 0, width / 2.0], [0, f, height / 2.0], [0, 0, 1]])
        return cls(k, width, height, guessed=True)

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float) -> CameraModel:
        """Square pixels, centred principal point, focal length from a horizontal field of view."""
        if not 1.0 <= hfov_deg < 179.0:
            raise CameraError(f"horizontal field of view must be in [1, 179) deg, got {hfov_deg}")
        f = width / 2.0 / np.tan(np.radians(hfov_deg) / 2.0)
        return cls(np.array([[f, 0, width / 2.0], [0, f, height / 2.0], [0, 0, 1]]), width, height)

    @property
    def fx(self) -> float:
        return float(self.k[0, 0])

    @property
    def fy(self) -> float:
        return float(self.k[1, 1])

    @property
    def principal_point(self) -> tuple[float, float]:
        return float(self.k[0, 2]), float(self.k[1, 2])

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.dist != 0))

    def check_image(self, width: int, height: int) -> None:
        """Raise when an image is not the size these intrinsics were calibrated for."""
        if (width, height) != (self.width, self.height):
            raise CameraError(
                f"image is {width}x{height} but the camera intrinsics are for "
                f"{self.width}x{self.height}"
            )

    def shifted(self, dx: float, dy: float, width: int, height: int) -> CameraModel:
        """The same camera seen through a window whose top-left corner is at (dx, dy)."""
        k = self.k.copy()
        k[0, 2] -= dx
        k[1, 2] -= dy
        return CameraModel(k, width, height, self.dist, self.guessed)

    def undistort_pixels(self, uv: np.ndarray) -> np.ndarray:
        """(N, 2) raw image px -> (N, 2) px of the ideal pinhole camera with the same K."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        if not self.has_distortion:
            return uv
        return cv2.undistortPoints(uv.reshape(-1, 1, 2), self.k, self.dist, P=self.k).reshape(
            -1, 2
        )

    def distort_pixels(self, uv: np.ndarray) -> np.ndarray:
        """(N, 2) ideal pinhole px -> (N, 2) raw image px (where they appear in the image)."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        if not self.has_distortion:
            return uv
        rays = np.column_stack([(uv - self.k[:2, 2]) / np.diag(self.k)[:2], np.ones(len(uv))])
        return self.project(rays)

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) camera optical-frame points (m) -> (N, 2) raw image px, distortion included."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        if not self.has_distortion:
            uvw = points @ self.k.T
            return uvw[:, :2] / uvw[:, 2:3]
        zero = np.zeros(3)
        uv, _ = cv2.projectPoints(points, zero, zero, self.k, self.dist)
        return uv.reshape(-1, 2)
