"""TRG's runtime is chosen in one place, by measurement, and says why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trg_ros.core.assets import ModelFiles
from trg_ros.core.model.checkpoint import load_trg
from trg_ros.core.model.estimator import EstimatorConfig, TRGEstimator
from trg_ros.core.model.fast import cpu_has_bf16
from trg_ros.core.model.runtime import onnx_available


@pytest.fixture(scope="module")
def net(model_dir: Path):
    files = ModelFiles.in_dir(model_dir)
    return load_trg(files.weights, files.sampled_vertices)


def estimator(net, **config) -> TRGEstimator:
    return TRGEstimator(net, np.arange(68), EstimatorConfig("cpu", **config))


@pytest.mark.parametrize("faster", ["onnxruntime", "torch"])
def test_auto_on_cpu_fp32_keeps_the_faster_runtime(
    net, faster: str, monkeypatch: pytest.MonkeyPatch, parity_outputs
) -> None:
    """The measurement decides: each runtime wins when it is the faster one, and whichever
    wins gives the official numbers."""
    if not onnx_available():
        pytest.skip("onnx/onnxruntime are not installed")
    from trg_ros.core.model import runtime

    def timed(runner, inputs, repeats=5):  # the faster runtime takes 10 ms, the other 20
        return 0.010 if runner.name == faster else 0.020

    monkeypatch.setattr(runtime, "seconds_per_call", timed)
    est = estimator(net)
    assert est.runner.name == faster
    assert est.runtime_reason == "batch 1: onnxruntime " + (
        "10.0 ms, torch 20.0 ms" if faster == "onnxruntime" else "20.0 ms, torch 10.0 ms"
    )
    bbox = parity_outputs["c1_in_bbox_info"]
    centre = np.stack([bbox[:, 6] / 2, bbox[:, 5] / 2], 1).astype(np.float32)
    rotation, _, _ = est.runner(
        parity_outputs["c1_in_img"], parity_outputs["c1_in_K_crop"], bbox, centre
    )
    assert np.abs(rotation - parity_outputs["c1_final_R"]).max() <= 1e-4


def test_a_failing_onnxruntime_leaves_trg_on_torch(net, monkeypatch: pytest.MonkeyPatch) -> None:
    from trg_ros.core.model import runtime

    def broken(*args, **kwargs):
        raise RuntimeError("exporter unavailable")

    monkeypatch.setattr(runtime, "OnnxRunner", broken)
    monkeypatch.setattr(runtime, "onnx_available", lambda: True)
    est = estimator(net)
    assert est.runner.name == "torch" and "onnxruntime failed" in est.runtime_reason
    with pytest.raises(ValueError, match="exporter unavailable"):
        estimator(net, runtime="onnxruntime")


def test_paths_onnxruntime_cannot_take_stay_on_torch(net) -> None:
    eager = estimator(net, optimise=False)
    assert eager.runner.name == "torch" and "eager reference" in eager.runtime_reason
    with pytest.raises(ValueError, match="eager reference"):
        estimator(net, optimise=False, runtime="onnxruntime")
    if cpu_has_bf16():
        bf16 = estimator(net, precision="bf16")
        assert bf16.runner.name == "torch" and "precision bf16" in bf16.runtime_reason
    asked = estimator(net, runtime="torch")
    assert asked.runner.name == "torch" and asked.runtime_reason == "asked for"


def test_unknown_runtime_is_rejected() -> None:
    with pytest.raises(ValueError, match="runtime must be one of"):
        EstimatorConfig("cpu", runtime="tensorrt")
