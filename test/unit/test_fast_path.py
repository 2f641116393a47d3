"""Fast paths against the float32 eager reference: the issue's accuracy bounds."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.device import tf32
from trg_ros.core.model.checkpoint import load_trg
from trg_ros.core.model.config import TRGConfig
from trg_ros.core.model.estimator import TRGEstimator
from trg_ros.core.model.fast import cpu_has_bf16, fold_batchnorm
from trg_ros.tools.accuracy import pose_differences, precision_verdict, sweep_crops
from trg_ros.tools.fixture import is_parity_fixture
from trg_ros.tools.sources import sample_image

BOUNDS = {"rotation_deg": 0.1, "translation_mm": 0.5, "vertices_mm": 0.5}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def parts(model_dir: Path):
    files = ModelFiles.in_dir(model_dir)
    return load_trg(files.weights, files.sampled_vertices), np.load(files.landmark_vertices)


def within(diff: dict[str, float]) -> None:
    for key, bound in BOUNDS.items():
        assert diff[key] <= bound, diff


def test_folded_channels_last_fp32_keeps_the_numbers(parts, parity_outputs) -> None:
    net, kpt = parts
    ref = TRGEstimator(net, kpt, TRGConfig("cpu", optimise=False))
    fast = TRGEstimator(net, kpt, TRGConfig("cpu", runtime="torch"))
    assert fast.net is not fast.model
    crops, camera = sweep_crops(sample_image())
    within(pose_differences(fast.run_crops(crops, camera), ref.run_crops(crops, camera)))
    # And on the parity fixture's own inputs, at the parity tolerance.
    folded = fold_batchnorm(copy.deepcopy(net).eval())
    for case in ("c1", "c2"):
        args = [
            torch.from_numpy(parity_outputs[f"{case}_in_{k}"])
            for k in ("img", "K_crop", "bbox_info")
        ]
        with torch.inference_mode():
            got = folded(*args).faces_cam[-1].numpy()
        assert np.abs(got - parity_outputs[f"{case}_final_face_cam"]).max() <= 1e-4


@pytest.mark.gpu
def test_cuda_fast_path_and_fp16_against_fp32(parts) -> None:
    """On CUDA with TF32 off: fp32 eager agrees with the CPU, fp32-fast keeps the bounds, and
    fp16 runs in fp16 with finite poses (its cost is judged on the real checkpoint below)."""
    net, kpt = parts
    crops, camera = sweep_crops(sample_image())
    cpu = TRGEstimator(net, kpt, TRGConfig("cpu", optimise=False)).run_crops(crops, camera)
    with tf32():
        eager = TRGEstimator(copy.deepcopy(net), kpt, TRGConfig("cuda", optimise=False))
        ref = eager.run_crops(crops, camera)
        fast = TRGEstimator(net, kpt, TRGConfig("cuda"))
        half = TRGEstimator(net, kpt, TRGConfig("cuda", precision="fp16"))
        fast_heads, half_heads = fast.run_crops(crops, camera), half.run_crops(crops, camera)
    net.to("cpu")  # the estimators moved the shared module
    within(pose_differences(ref, cpu))
    within(pose_differences(fast_heads, ref))
    assert half.precision == "fp16"
    assert all(h.is_finite() for h in half_heads)


@pytest.mark.gpu
def test_fp16_keeps_the_bounds_on_the_official_checkpoint(
    model_dir: Path, user_cache: Path
) -> None:
    files = ModelFiles.in_dir(user_cache)  # where `trg-ros assets fetch` puts the checkpoint
    if not files.weights.is_file():
        pytest.skip("no official checkpoint cached: the GPU fp16 cost needs real weights")
    net = load_trg(files.weights, ModelFiles.in_dir(model_dir).sampled_vertices)
    assert not is_parity_fixture(net)
    kpt = np.load(ModelFiles.in_dir(model_dir).landmark_vertices)
    crops, camera = sweep_crops(sample_image())
    with tf32():
        ref = TRGEstimator(net, kpt, TRGConfig("cuda", optimise=False))
        half = TRGEstimator(net, kpt, TRGConfig("cuda", precision="fp16"))
        within(pose_differences(half.run_crops(crops, camera), ref.run_crops(crops, camera)))


def test_onnx_matches_pytorch(parts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from trg_ros.core.model.onnx import example_inputs, onnx_session
    from trg_ros.tools.export import check_onnx

    net, _ = parts
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    session = onnx_session(net)
    assert list(tmp_path.iterdir()) == []  # the 150 MB graph file is not left behind
    crops, _ = sweep_crops(sample_image())
    from trg_ros.core.model.crop import normalise

    batch = crops[:5]
    inputs = (
        normalise(np.stack([c.pixels for c in batch])),
        torch.from_numpy(np.stack([c.k_crop for c in batch])),
        torch.from_numpy(np.stack([c.bbox_info for c in batch])),
        torch.from_numpy(np.stack([c.principal_point for c in batch])),
    )
    diffs = check_onnx(net, session, inputs)
    assert diffs["translation"] * 1e3 <= BOUNDS["translation_mm"]
    assert diffs["vertices"] * 1e3 <= BOUNDS["vertices_mm"]
    assert diffs["rotation"] <= np.radians(BOUNDS["rotation_deg"])  # matrix entries ~ angle
    assert example_inputs(3)[0].shape[0] == 3


def bench_model_only(model_dir: Path, *extra: str) -> str:
    """``trg-ros bench --model-only`` as a user runs it, at batch 1; its stdout."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "trg_ros.cli",
            "bench",
            "--model-only",
            "--data-dir",
            str(model_dir),
            "--device",
            "cpu",
            "--batch-sizes",
            "1",
            "--repeats",
            "2",
            *extra,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_bench_model_only_prints_a_ratio(model_dir: Path) -> None:
    out = bench_model_only(model_dir)
    assert "fp32-eager (baseline)" in out and "1.00x" in out
    assert "fp32-fast" in out and "torch=" in out
    if cpu_has_bf16():
        assert "bf16 cost cannot be judged with the random parity-fixture weights" in out, out
        assert "cost on your checkpoint" not in out, out
    else:
        assert "bf16 not measured: this CPU has no AVX-512 BF16/AMX" in out, out


def test_bench_judges_bf16_on_other_weights(model_dir: Path, tmp_path: Path) -> None:
    """Weights that are not the fixture (here: the fixture with one bias nudged) get the
    measured cost, the same figures as the table's bf16 row, and a verdict that fits them;
    a CPU without bf16 support says it did not measure it."""
    state = torch.load(model_dir / "state_dict.bin", weights_only=True)
    state["regressor.2.decpose.bias"] += 1e-4
    weights = tmp_path / "mine.bin"
    torch.save(state, weights)
    out = bench_model_only(model_dir, "--weights", str(weights))
    if not cpu_has_bf16():
        assert "bf16 not measured: this CPU has no AVX-512 BF16/AMX" in out, out
        return
    line = next(x for x in out.splitlines() if x.startswith("bf16 cost on your checkpoint: "))
    found = re.search(
        r"max rotation ([\d.]+) deg, translation ([\d.]+) mm, vertices ([\d.]+) mm vs fp32 "
        r"\(bounds 0\.1 deg / 0\.5 mm\): (within the bounds|outside the bounds)",
        line,
    )
    assert found, line
    rot, trans, verts = (float(found[i]) for i in (1, 2, 3))
    row = next(x.split() for x in out.splitlines() if x.split()[:2] == ["bf16", "1"])
    assert (rot, trans, verts) == pytest.approx(tuple(map(float, row[-3:])), abs=1e-3), row
    inside = rot <= 0.1 and trans <= 0.5 and verts <= 0.5
    assert found[4] == ("within the bounds" if inside else "outside the bounds"), line


def test_precision_verdict_follows_the_bounds() -> None:
    inside = {"rotation_deg": 0.1, "translation_mm": 0.5, "vertices_mm": 0.5}  # at the bounds
    assert "within the bounds, bf16 is usable" in precision_verdict("bf16", inside, False)
    for key in inside:
        outside = {**inside, key: inside[key] + 0.01}
        assert "outside the bounds, keep fp32" in precision_verdict("bf16", outside, False), key
    assert "cannot be judged" in precision_verdict("bf16", outside, True)
