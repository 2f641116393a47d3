"""CameraInfo binning and roi, read by image_geometry's PinholeCameraModel rules, with the
lens distortion still that of the full-resolution sensor."""

from __future__ import annotations

import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo

from trg_ros.core.camera import CameraModel
from trg_ros.core.errors import CameraError
from trg_ros.core.model.crop import Box, _warp, crop_affine
from trg_ros.ros import convert, intrinsics
from trg_ros.ros.intrinsics import Intrinsics

K = np.array([[500.0, 0, 320.5], [0, 510.0, 240.25], [0, 0, 1]])
D = np.array([-0.28, 0.09, 0.001, -0.0015, -0.012])  # a wide-angle plumb_bob lens


def test_binning_and_roi_as_image_geometry_reads_them() -> None:
    full = CameraModel(K, 640, 480)
    same = full.windowed(0, 0, (0, 0, 0, 0))  # 0 = no binning, all-zero roi = whole sensor
    assert (same.width, same.height) == (640, 480) and np.array_equal(same.k, K)
    binned = full.windowed(2, 2)
    assert (binned.width, binned.height) == (320, 240)
    np.testing.assert_allclose(binned.k, [[250, 0, 160.25], [0, 255, 120.125], [0, 0, 1]])
    roi = full.windowed(1, 1, (100, 50, 200, 100))
    assert (roi.width, roi.height) == (200, 100)
    np.testing.assert_allclose(roi.k, [[500, 0, 220.5], [0, 510, 190.25], [0, 0, 1]])
    # The roi is in full-resolution px and applies before the binning.
    both = full.windowed(2, 4, (100, 40, 400, 200))
    assert (both.width, both.height) == (200, 50)
    np.testing.assert_allclose(both.k, [[250, 0, 110.25], [0, 127.5, 50.0625], [0, 0, 1]])
    assert (full.windowed(3, 3).width, full.windowed(3, 3).height) == (213, 160)  # floor
    with pytest.raises(CameraError, match="leaves the 640x480 sensor"):
        full.windowed(1, 1, (600, 0, 100, 480))
    with pytest.raises(CameraError, match="leaves no image"):
        full.windowed(1, 1, (10, 10, 0, 0))  # offsets without a size are not "full"


def points() -> np.ndarray:
    """3-D points spread over the field of view, 0.5-2 m away (camera optical frame)."""
    rng = np.random.default_rng(3)
    z = rng.uniform(0.5, 2.0, 200)
    xy = rng.uniform(-0.55, 0.55, (200, 2)) * z[:, None]
    return np.column_stack([xy, z])


def test_a_window_keeps_the_sensor_s_distortion() -> None:
    """The same 3-D points seen by the full sensor and by a 2x-binned roi: the window's
    pixels are the sensor's moved by the offset and halved, through the lens model both ways."""
    full = CameraModel(K, 640, 480, D)
    off, b = np.array([64.0, 32.0]), 2.0
    win = full.windowed(2, 2, (64, 32, 480, 384))
    uv_full = full.project(points())
    expected = (uv_full - off) / b
    np.testing.assert_allclose(win.project(points()), expected, atol=1e-9)
    # OpenCV undistorts iteratively: compare like with like, and distort the exact pinhole px.
    ideal_full = full.undistort_pixels(uv_full)
    np.testing.assert_allclose(win.undistort_pixels(expected), (ideal_full - off) / b, atol=1e-6)
    pinhole = points() @ K.T
    pinhole = pinhole[:, :2] / pinhole[:, 2:]
    np.testing.assert_allclose(win.distort_pixels((pinhole - off) / b), expected, atol=1e-9)
    # Scaling D with the pixels, or leaving the principal point where it was, would not do.
    wrong = CameraModel(win.k, win.width, win.height, D * b)
    assert np.abs(wrong.project(points()) - expected).max() > 5


def smooth_scene(height: int, width: int) -> np.ndarray:
    """A smooth (H, W, 3) uint8 pattern (periods of 90 px and more): binning and
    resampling change it little, a shift of a few px much."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    grey = 128 + 60 * np.sin(u / 15.0) * np.cos(v / 19.5) + 50 * np.sin((u + 2 * v) / 37.5)
    return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def test_undistorted_crop_of_a_binned_window_matches_the_full_image() -> None:
    """TRG's crop is resampled from the ideal pinhole image through the lens model: from a
    2x-binned roi with its derived camera it shows what the full image shows."""
    raw = smooth_scene(480, 640)
    full = CameraModel(K, 640, 480, D)
    x0, y0 = 64, 48
    window = raw[y0 : y0 + 384, x0 : x0 + 480].reshape(192, 2, 240, 2, 3).mean((1, 3))
    window = np.round(window).astype(np.uint8)
    win = full.windowed(2, 2, (x0, y0, 480, 384))
    box = Box(80, 64, 280, 264)  # ideal full-image px, near a corner where D bends the most
    box_win = Box((80 - x0) // 2, (64 - y0) // 2, (280 - x0) // 2, (264 - y0) // 2)
    want = _warp(raw, crop_affine(box), full).astype(float)
    got = _warp(window, crop_affine(box_win), win).astype(float)
    error = np.abs(got - want).mean()
    # Bilinear resampling of a half-resolution image, and the half-pixel shift of a bin's
    # centre that image_geometry's rule leaves out: about 1.5 grey levels of 255.
    assert error < 2.0, error
    no_lens = CameraModel(win.k, win.width, win.height)
    no_offset = full.windowed(2, 2).shifted(0, 0, win.width, win.height)
    for wrong in (no_lens, no_offset):
        forgot = _warp(window, crop_affine(box_win), wrong).astype(float)
        assert np.abs(forgot - want).mean() > 5 * error


def info(width: int, height: int, binning: int = 0, roi: tuple[int, ...] = ()) -> CameraInfo:
    msg = CameraInfo(width=width, height=height, distortion_model="plumb_bob", d=[0.0] * 5)
    f, cx, cy = 100.0, width / 2, height / 2
    msg.k = [f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0]
    msg.p = [90.0, 0.0, cx - 1, 0.0, 0.0, 90.0, cy + 1, 0.0, 0.0, 0.0, 1.0, 0.0]
    msg.binning_x = msg.binning_y = binning
    if roi:
        msg.roi.x_offset, msg.roi.y_offset, msg.roi.width, msg.roi.height = roi
    return msg


def resolve(msg: CameraInfo, width: int, height: int, rectified: bool = False):
    store = Intrinsics()
    store.store(msg)
    return store.resolve("", width, height, 1.0, rectified, False, "/camera_info")


def test_a_binned_image_with_its_full_resolution_camera_info() -> None:
    camera, reason, _ = resolve(info(128, 128, binning=2), 64, 64)
    assert reason is None and (camera.width, camera.height) == (64, 64)
    np.testing.assert_allclose(camera.k, [[50, 0, 32], [0, 50, 32], [0, 0, 1]])
    rect, _, _ = resolve(info(128, 128, binning=2, roi=(8, 16, 96, 64)), 48, 32, rectified=True)
    np.testing.assert_allclose(rect.k, [[45, 0, (63 - 8) / 2], [0, 45, (65 - 16) / 2], [0, 0, 1]])
    camera, reason, message = resolve(info(128, 128, binning=2), 128, 128)
    assert camera is None and reason == intrinsics.INVALID
    assert message == (
        "image is 128x128 but the camera intrinsics are for 64x64 "
        "(CameraInfo 128x128 with binning 2x2)"
    )
    assert convert.window_text(info(128, 128)) == ""
