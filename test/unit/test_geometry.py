"""Crop, camera and pose-decoding geometry, checked against hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trg_ros.core.camera import CameraModel
from trg_ros.core.errors import CameraError
from trg_ros.core.model import codec
from trg_ros.core.model.crop import Box, landmark_box, make_crop, square_box


def pinhole(
    f: float, w: int, h: int, cx: float | None = None, cy: float | None = None
) -> CameraModel:
    cx = w / 2 if cx is None else cx
    cy = h / 2 if cy is None else cy
    return CameraModel(np.array([[f, 0, cx], [0, f, cy], [0, 0, 1]]), w, h)


def test_landmark_box_follows_official_rule_with_truncation() -> None:
    # Fixture README: extent (180,75,270,175) gives the box [150,50,300,200].
    pts = np.array([[180, 75], [270, 175], [200, 100]], float)
    assert landmark_box(pts) == Box(150, 50, 300, 200)
    # Extent (212,35,352,185): centre (282,110), S=150, 0.75*S=112.5 -> int(-2.5) = -2, not -3.
    assert square_box(212, 35, 352, 185) == Box(169, -2, 394, 222)


def test_crop_over_the_border_is_padded_black() -> None:
    image = np.full((100, 120, 3), 200, np.uint8)
    crop = make_crop(image, Box(-50, -50, 50, 50), pinhole(300, 120, 100))
    assert crop.pixels.shape == (192, 192, 3)
    assert crop.pixels[:80, :80].max() == 0  # outside the image
    assert crop.pixels[120:, 120:].min() == 200  # inside
    assert crop.k_crop[2, 0] == pytest.approx((60 + 50) * 192 / 100)


def test_distorted_camera_crop_is_undistorted() -> None:
    w, h = 320, 240
    k = np.array([[260.0, 0, 165], [0, 260.0, 118], [0, 0, 1]])
    lens = CameraModel(k, w, h, dist=np.array([-0.32, 0.12, 0.001, -0.002, 0.0]))
    ideal_cam = CameraModel(k, w, h)
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    ideal = (127 + 60 * np.sin(u / 9.0) * np.cos(v / 7.0)).astype(np.float32)
    # Render what the real lens sees: each raw pixel shows the ideal image at its undistorted px.
    und = lens.undistort_pixels(np.column_stack([u.ravel(), v.ravel()])).reshape(h, w, 2)
    import cv2

    raw = cv2.remap(
        ideal, und[..., 0].astype(np.float32), und[..., 1].astype(np.float32), cv2.INTER_LINEAR
    )
    raw_rgb = np.repeat(np.clip(raw, 0, 255).astype(np.uint8)[..., None], 3, 2)
    ideal_rgb = np.repeat(np.clip(ideal, 0, 255).astype(np.uint8)[..., None], 3, 2)
    box_ideal = Box(20, 15, 120, 115)  # near the corner, where distortion is strongest
    corners = lens.distort_pixels(np.array([[20, 15], [120, 115]], float))
    box_raw = Box(*(round(float(x)) for x in corners.ravel()))
    want = make_crop(ideal_rgb, box_ideal, ideal_cam).pixels.astype(float)
    got = make_crop(raw_rgb, box_raw, lens)
    naive = make_crop(raw_rgb, box_raw, ideal_cam).pixels.astype(float)
    assert abs(got.box.left - 20) <= 2 and abs(got.box.right - 120) <= 2
    inner = (slice(10, -10), slice(10, -10))
    err = np.abs(got.pixels.astype(float) - want)[inner].mean()
    naive_err = np.abs(naive - want)[inner].mean()
    assert err < 6 and err < naive_err / 3, (err, naive_err)


@pytest.mark.parametrize("k", [np.zeros((3, 3)), np.diag([np.nan, 1, 1])])
def test_bad_intrinsics_are_rejected(k: np.ndarray) -> None:
    with pytest.raises(CameraError):
        CameraModel(k, 640, 480)


def test_image_size_mismatch_is_an_error() -> None:
    with pytest.raises(CameraError, match="640x480"):
        make_crop(np.zeros((100, 100, 3), np.uint8), Box(0, 0, 50, 50), pinhole(500, 640, 480))


def test_rotation_from_6d_is_proper() -> None:
    six = torch.randn(64, 6, generator=torch.Generator().manual_seed(0))
    r = codec.rotation_from_6d(six)
    eye = torch.eye(3).expand(64, 3, 3)
    assert torch.allclose(r.transpose(1, 2) @ r, eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(r), torch.ones(64), atol=1e-5)


def test_projection_round_trip_through_crop_intrinsics() -> None:
    """Known 3-D points, known K: crop-K projection equals full projection mapped into the crop."""
    cam = pinhole(900.0, 640, 480, cx=331.0, cy=228.0)
    rng = np.random.default_rng(1)
    pts = rng.normal([0.05, -0.02, 0.7], 0.04, size=(50, 3))
    uv = cam.project(pts)
    box = landmark_box(uv)
    crop = make_crop(np.zeros((480, 640, 3), np.uint8), box, cam)
    uv_crop = codec.project(
        torch.tensor(pts[None], dtype=torch.float32),
        torch.eye(3)[None],
        torch.zeros(1, 3),
        torch.from_numpy(crop.k_crop[None]),
    )[0].numpy()
    expected = (uv - [box.left, box.top]) * 192 / box.width
    np.testing.assert_allclose(uv_crop, expected, atol=1e-3)


def test_translation_units_follow_the_box() -> None:
    """s=1, tau=0 and a box centred on the principal point: t = (0, 0, 0.2 f / w) metres."""
    bbox = torch.tensor([[270.0, 190.0, 370.0, 290.0, 800.0, 480.0, 640.0]])
    pose = codec.IDENTITY_POSE.clone()
    t = codec.translation_from_pose(pose, bbox, torch.tensor([[320.0, 240.0]]))
    np.testing.assert_allclose(t.numpy()[0], [0, 0, 0.2 * 800 / 100], atol=1e-6)
    # A box 100 px right of the principal point at depth 1.6 m sits 0.2 m to the right.
    bbox[0, [0, 2]] += 100
    t = codec.translation_from_pose(pose, bbox, torch.tensor([[320.0, 240.0]]))
    np.testing.assert_allclose(t.numpy()[0], [0.2, 0, 1.6], atol=1e-6)


def test_soft_argmax_of_a_peak() -> None:
    logits = torch.full((1, 1, 48, 48), -1e4)
    logits[0, 0, 10, 30] = 0  # row 10, col 30
    np.testing.assert_allclose(codec.soft_argmax(logits)[0, 0].numpy(), [30 / 24 - 1, 10 / 24 - 1])
