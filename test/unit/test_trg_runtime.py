"""TRG's runtime is chosen in one place, by measurement, and says why."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.model.checkpoint import load_trg
from trg_ros.core.model.config import TRGConfig
from trg_ros.core.model.estimator import TRGEstimator
from trg_ros.core.model.fast import cpu_has_bf16


@pytest.fixture(scope="module")
def net(model_dir: Path):
    files = ModelFiles.in_dir(model_dir)
    return load_trg(files.weights, files.sampled_vertices)


def estimator(net, **config) -> TRGEstimator:
    return TRGEstimator(net, np.arange(68), TRGConfig("cpu", **config))


@pytest.fixture
def fresh_decision(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """A cache whose exported graph is kept across this module's tests but with no decision,
    so each test's ``auto`` measures."""
    home = tmp_path_factory.getbasetemp() / "trg_runtime_module"
    shutil.rmtree(home / "trg_runtime" / "decisions", ignore_errors=True)
    monkeypatch.setenv("TRG_ROS_HOME", str(home))
    return home


@pytest.mark.parametrize(
    ("faster_at_1", "faster_at_4", "chosen"),
    [
        ("onnxruntime", "onnxruntime", "onnxruntime"),
        ("torch", "torch", "torch"),
        ("onnxruntime", "torch", "onnxruntime up to 2 faces, else torch"),
        ("torch", "onnxruntime", "torch"),  # one face is the common case: it decides
    ],
)
def test_auto_on_cpu_fp32_keeps_the_faster_runtime_per_batch_size(
    net, faster_at_1: str, faster_at_4: str, chosen: str, monkeypatch: pytest.MonkeyPatch,
    parity_outputs, fresh_decision,
) -> None:  # fmt: skip
    """The measurement decides, at one face and at four; whichever runs gives the official
    numbers."""
    from trg_ros.core.model import runtime

    def timed(onnx, torch_runner):  # the faster runtime at this size: 10 ms, else 20
        assert onnx.name == "onnxruntime" and torch_runner.name == "torch"
        out = {}
        for b, faster in (("1", faster_at_1), ("4", faster_at_4)):
            o, t = (10.0, 20.0) if faster == "onnxruntime" else (20.0, 10.0)
            out[b] = {"onnxruntime_ms": o, "torch_ms": t, "ratio": o / t}
        return out

    monkeypatch.setattr(runtime, "measure", timed)
    est = estimator(net)
    assert est.runner.name == chosen
    assert est.runtime_reason.startswith("measured: batch 1: onnxruntime "), est.runtime_reason
    bbox = parity_outputs["c2_in_bbox_info"]  # two crops
    centre = np.stack([bbox[:, 6] / 2, bbox[:, 5] / 2], 1).astype(np.float32)
    inputs = (parity_outputs["c2_in_img"], parity_outputs["c2_in_K_crop"], bbox, centre)
    for batch in (inputs, tuple(np.concatenate([x, x, x]) for x in inputs)):  # 2 and 6 faces
        rotation, _, _ = est.runner(*batch)
        want = np.concatenate([parity_outputs["c2_final_R"]] * (len(batch[0]) // 2))
        assert np.abs(rotation - want).max() <= 1e-4


def test_a_failing_onnxruntime_leaves_trg_on_torch(
    net, monkeypatch: pytest.MonkeyPatch, fresh_decision
) -> None:
    from trg_ros.core.model import runtime

    def broken(*args, **kwargs):
        raise RuntimeError("exporter unavailable")

    monkeypatch.setattr(runtime, "onnx_runner", broken)
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
        TRGConfig("cpu", runtime="tensorrt")


def test_onnxruntime_sessions_are_set_to_stop_spinning_when_a_run_returns(net) -> None:
    """Left spinning, its threads slow down whatever the node runs next (the next frame's
    detector, publishing; measured in the node, see ``cpu_session``)."""
    from trg_ros.core.model.onnx import onnx_session

    options = onnx_session(net, threads=2).get_session_options()
    assert options.get_session_config_entry("session.force_spinning_stop") == "1"
    assert options.intra_op_num_threads == 2
