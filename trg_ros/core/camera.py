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

    def windowed(
        self, binning_x: int = 1, binning_y: int = 1, roi: tuple[int, int, int, int] = (0, 0, 0, 0)
    ) -> CameraModel:
        """The camera of an image that shows a binned window of this full-resolution
        calibration: CameraInfo's ``binning_x``/``binning_y`` and ``roi``, read by
        image_geometry's PinholeCameraModel rules.

        Binning 0 means 1 (none); an all-zero roi means the whole sensor. The roi is in
        full-resolution (unbinned) px and comes first, binning second: ``cx' = (cx - x_offset)
        / binning_x``, ``fx' = fx / binning_x`` (y likewise), and the image is ``roi width //
        binning_x`` by ``roi height // binning_y`` px. The distortion coefficients act on
        normalised coordinates ``(u - cx) / fx``, which this change of pixel grid leaves as
        they were, so D is kept and undistorting the delivered image with the new K is exact.
        Like image_geometry, the half-pixel offset between a bin's centre and its first
        sensor pixel is ignored (0.25 px of the binned image at 2x).

        Args:
            binning_x, binning_y: sensor pixels per image pixel (0 or 1 = none).
            roi: (x_offset, y_offset, width, height) on the full sensor, px; all 0 = full.

        Raises:
            CameraError: the roi leaves the calibrated sensor, or the window is empty.
        """
        bx, by = max(1, int(binning_x)), max(1, int(binning_y))
        x0, y0, w, h = (int(v) for v in roi)
        if (x0, y0, w, h) == (0, 0, 0, 0):
            w, h = self.width, self.height
        if x0 + w > self.width or y0 + h > self.height:
            raise CameraError(
                f"roi {w}x{h} at ({x0}, {y0}) leaves the {self.width}x{self.height} sensor "
                "the camera was calibrated at"
            )
        if w // bx < 1 or h // by < 1:
            raise CameraError(f"roi {w}x{h} with binning {bx}x{by} leaves no image")
        window = self.shifted(x0, y0, w // bx, h // by)
        k = np.diag([1.0 / bx, 1.0 / by, 1.0]) @ window.k
        return CameraModel(k, window.width, window.height, self.dist, self.guessed)

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
