"""TRG re-implementation vs the official model's outputs on the shared fixture."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from trg_ros.core.camera import CameraModel
from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.device import tf32
from trg_ros.core.model import fast
from trg_ros.core.model.checkpoint import load_trg
from trg_ros.core.model.crop import crop_affine, make_crop, normalise, square_box
from trg_ros.core.model.trg import TRGNet
from trg_ros.tools.parity import CASES, TOL, case_differences, final_differences, tolerance

pytestmark = pytest.mark.parity


@pytest.fixture(scope="module")
def model(model_dir: Path) -> TRGNet:
    files = ModelFiles.in_dir(model_dir)
    return load_trg(files.weights, files.sampled_vertices)


@pytest.mark.parametrize("case", CASES)
def test_every_output_matches_official(
    model: TRGNet, parity_outputs, case: str, reference: Path
) -> None:
    kpt = np.load(reference / "upstream/npy__kpt_ind.npy")
    for key, diff in case_differences(model, parity_outputs, case, kpt).items():
        assert diff <= tolerance(key), f"{case} {key}: {diff:.3g}"


@pytest.mark.gpu
@pytest.mark.parametrize("case", CASES)
def test_cuda_fp32_matches_official(
    model: TRGNet, parity_outputs, case: str, reference: Path
) -> None:
    """The same bounds on CUDA with TF32 off, for the eager network and the folded copy."""
    kpt = np.load(reference / "upstream/npy__kpt_ind.npy")
    cuda = torch.device("cuda")
    with tf32():
        diffs = case_differences(copy.deepcopy(model).to(cuda), parity_outputs, case, kpt)
        folded, _ = fast.optimise(model, cuda, "fp32")
        finals = final_differences(folded, parity_outputs, case, channels_last=True)
    for key, diff in diffs.items():
        assert diff <= tolerance(key), f"{case} {key} on CUDA: {diff:.3g}"
    for key, diff in finals.items():
        assert diff <= TOL, f"{case} {key}, folded on CUDA: {diff:.3g}"


def _fixture_inputs(ref: dict[str, np.ndarray]):
    """(case, index, image, landmark extent, f) as the fixture README describes them."""
    ast = ref["astronaut_rgb_u8"]
    canvas = np.zeros((512, 640, 3), np.uint8)
    canvas[:, 64:576] = ast
    return [
        ("c1", 0, ast, (180, 75, 270, 175), 5000.0),
        ("c2", 0, canvas, (244, 75, 334, 175), 800.0),
        ("c2", 1, np.ascontiguousarray(ast[:, ::-1]), (212, 35, 352, 185), 1500.0),
    ]


def test_preprocessing_matches_official(parity_outputs) -> None:
    for case, i, image, extent, f in _fixture_inputs(parity_outputs):
        h, w = image.shape[:2]
        camera = CameraModel(np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]]), w, h)
        box = square_box(*extent)
        crop = make_crop(image, box, camera, "image_centre")
        np.testing.assert_array_equal(crop_affine(box), parity_outputs[f"{case}_in_tform"][i])
        np.testing.assert_array_equal(crop.pixels, parity_outputs[f"{case}_in_crop_rgb_u8"][i])
        np.testing.assert_array_equal(crop.bbox_info, parity_outputs[f"{case}_in_bbox_info"][i])
        np.testing.assert_allclose(crop.k_crop, parity_outputs[f"{case}_in_K_crop"][i], atol=1e-3)
        img = normalise(crop.pixels[None]).numpy()[0]
        np.testing.assert_allclose(img, parity_outputs[f"{case}_in_img"][i], atol=1e-5)


def test_batch_of_three_is_per_sample(model: TRGNet, parity_outputs) -> None:
    """Official B=3 crosses over the batch (SPEC §5.1); ours must equal per-sample runs."""
    ref = parity_outputs
    inputs = [
        torch.from_numpy(np.concatenate([ref[f"c1_in_{k}"], ref[f"c2_in_{k}"]]))
        for k in ("img", "K_crop", "bbox_info")
    ]
    with torch.inference_mode():
        batched = model(*inputs).rotations[-1]
        single = torch.cat(
            [model(*(x[i : i + 1] for x in inputs)).rotations[-1] for i in range(3)]
        )
    assert float((batched - single).abs().max()) < 1e-4


def test_state_dict_keys_and_shapes_match_official_list(reference: Path) -> None:
    rows = [
        line.split("\t")
        for line in (reference / "state_dict_keys.tsv").read_text().splitlines()[1:]
    ]
    model = TRGNet(torch.arange(305))
    ours = model.state_dict()
    assert list(ours) == [r[1] for r in rows]  # same keys, same order
    for _, key, shape, dtype, _ in rows:
        want = () if shape == "scalar" else tuple(int(s) for s in shape.split("x"))
        assert tuple(ours[key].shape) == want, key
        assert str(ours[key].dtype) == f"torch.{dtype}", key


@pytest.mark.parametrize("runtime", ["torch", "onnxruntime"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_runtime_gives_the_official_final_pose(
    model: TRGNet, parity_outputs, case: str, runtime: str
) -> None:
    """Whichever runtime the estimator picks (trg_ros.core.model.runtime) is held to the same
    parity bound on the official final rotation, translation and camera-frame mesh."""
    from trg_ros.core.model.config import TRGConfig
    from trg_ros.core.model.estimator import TRGEstimator

    est = TRGEstimator(model, np.arange(68), TRGConfig("cpu", runtime=runtime))
    assert est.runner.name == runtime
    ref = parity_outputs
    bbox = ref[f"{case}_in_bbox_info"]
    centre = np.stack([bbox[:, 6] / 2, bbox[:, 5] / 2], 1).astype(np.float32)  # official W/2, H/2
    rotation, translation, vertices = est.runner(
        ref[f"{case}_in_img"], ref[f"{case}_in_K_crop"], bbox, centre
    )
    for name, got in (("R", rotation), ("t", translation), ("face_cam", vertices)):
        diff = float(np.abs(got - ref[f"{case}_final_{name}"]).max())
        assert diff <= TOL, f"{runtime} {case} final_{name}: {diff:.3g}"
