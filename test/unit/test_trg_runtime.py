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


def test_auto_on_cpu_fp32_measures_both_and_keeps_the_faster(net) -> None:
    if not onnx_available():
        pytest.skip("onnx/onnxruntime are not installed")
    est = estimator(net)
    reason = est.runtime_reason
    assert reason.startswith("batch 1: onnxruntime"), reason
    ms = {
        name: float(reason.split(f"{name} ")[1].split(" ms")[0])
        for name in ("onnxruntime", "torch")
    }
    assert est.runner.name == min(ms, key=ms.get), (est.runner.name, reason)


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
