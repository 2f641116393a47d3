"""The principal-point switch: invariance to cropping the image in `camera` mode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trg_ros.core.camera import CameraModel
from trg_ros.core.model import codec
from trg_ros.core.model.crop import Box, make_crop, normalise
from trg_ros.core.model.trg import TRGNet


@pytest.fixture(scope="module")
def random_model() -> TRGNet:
    torch.manual_seed(0)
    model = TRGNet(torch.arange(0, 1220, 4)[:305])
    with torch.no_grad():  # small pose updates, so the sampled points stay inside the crop
        for reg in model.regressor:
            reg.decpose.weight.mul_(1e-3)
            reg.decshape.weight.mul_(1e-4)
            reg.init_face.normal_(0, 0.05)
    return model.eval()


def run(model: TRGNet, image: np.ndarray, box: Box, cam: CameraModel, mode: str):
    crop = make_crop(image, box, cam, mode)  # type: ignore[arg-type]
    args = [torch.from_numpy(a[None]) for a in (crop.k_crop, crop.bbox_info, crop.principal_point)]
    with torch.inference_mode():
        out = model(normalise(crop.pixels[None]), *args)
    beta = codec.box_features(args[1], args[2])
    return crop, beta.numpy()[0], out.translations[-1].numpy()[0]


def test_cropping_the_image_leaves_camera_mode_unchanged(random_model: TRGNet) -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    cam = CameraModel(np.array([[700.0, 0, 300.5], [0, 700.0, 251.0], [0, 0, 1]]), 640, 480)
    box = Box(260, 150, 380, 270)
    dx, dy = 100, 40
    sub = image[dy : dy + 400, dx : dx + 500]
    sub_cam = cam.shifted(dx, dy, 500, 400)
    sub_box = Box(box.left - dx, box.top - dy, box.right - dx, box.bottom - dy)

    full = run(random_model, image, box, cam, "camera")
    part = run(random_model, sub, sub_box, sub_cam, "camera")
    # warpAffine's fixed-point maths may round a pixel the other way when the offset changes.
    assert np.abs(full[0].pixels.astype(int) - part[0].pixels).max() <= 1
    np.testing.assert_allclose(full[0].k_crop, part[0].k_crop, atol=1e-4)
    np.testing.assert_allclose(full[1], part[1], atol=1e-6)
    np.testing.assert_allclose(full[2], part[2], atol=1e-5)  # m
    assert np.all(np.isfinite(full[2]))

    # The official image-centre assumption moves the answer when the image is cropped.
    full_c = run(random_model, image, box, cam, "image_centre")
    part_c = run(random_model, sub, sub_box, sub_cam, "image_centre")
    assert np.abs(full_c[2] - part_c[2]).max() > 1e-3
