"""Fast paths against the float32 eager reference: the issue's accuracy bounds."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from trg_ros.core.assets import ModelFiles
from trg_ros.core.model.checkpoint import load_trg
from trg_ros.core.model.estimator import EstimatorConfig, TRGEstimator
from trg_ros.core.model.fast import fold_batchnorm
from trg_ros.tools.accuracy import pose_differences, sweep_crops
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
    ref = TRGEstimator(net, kpt, EstimatorConfig("cpu", optimise=False))
    fast = TRGEstimator(net, kpt, EstimatorConfig("cpu"))
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


def test_onnx_matches_pytorch(parts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    import tempfile

    from trg_ros.tools.export import check_onnx, example_inputs, onnx_session

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


def test_bench_model_only_prints_a_ratio(model_dir: Path) -> None:
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
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fp32-eager (baseline)" in done.stdout and "1.00x" in done.stdout
    assert "fp32-fast" in done.stdout and "torch=" in done.stdout
