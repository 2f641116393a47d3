"""The runtime choice for TFLite networks: which one runs and why, and one ``run`` for all."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from trg_ros.core.errors import TRGError
from trg_ros.core.tflite import runtime
from trg_ros.core.tflite.runtime import TFLiteNetwork, choose_runtime


def test_choice_and_its_reason(tmp_path: Path, detector_weights: Path) -> None:
    tflite = detector_weights.with_suffix(".tflite")
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert choose_runtime("torch", cpu, tflite) == ("torch", "asked for")
    chosen, reason = choose_runtime("auto", cuda, tflite)
    assert chosen == "torch" and "cuda" in reason
    chosen, reason = choose_runtime("auto", cpu, tmp_path / "gone.tflite")
    assert chosen == "torch" and "gone.tflite is missing" in reason
    with pytest.raises(TRGError, match="CPU only"):
        choose_runtime("litert", cuda, tflite)
    with pytest.raises(ValueError, match="auto, litert, torch"):
        choose_runtime("onnx", cpu, tflite)
    expected = "litert" if runtime.litert_available() else "torch"
    assert choose_runtime("auto", cpu, tflite)[0] == expected


def test_missing_litert_falls_back_to_torch(
    monkeypatch: pytest.MonkeyPatch, detector_weights: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runtime, "litert_available", lambda: False)
    with caplog.at_level(logging.INFO, logger=runtime.__name__):
        net = TFLiteNetwork(detector_weights.with_suffix(".tflite"), detector_weights)
    assert net.runtime == "torch"
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        (
            "WARNING",  # several times slower on the CPU: not a line to miss
            "face_detection_full_range runs with torch (cpu): ai-edge-litert is not installed",
        )
    ]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=runtime.__name__):
        TFLiteNetwork(detector_weights.with_suffix(".tflite"), detector_weights, runtime="torch")
    assert [r.levelname for r in caplog.records] == ["INFO"]  # asked for: no warning
    with pytest.raises(TRGError, match="not installed"):
        TFLiteNetwork(detector_weights.with_suffix(".tflite"), detector_weights, runtime="litert")


def test_missing_conversion_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(TRGError, match="assets fetch"):
        TFLiteNetwork(tmp_path / "x.tflite", tmp_path / "x.npz", runtime="torch")


@pytest.mark.parametrize("network", ["blazeface", "facemesh"])
def test_a_batch_equals_its_items_one_by_one(
    network: str, detector_weights: Path, facemesh_dir: Path
) -> None:
    """BlazeFace's fixed-shape RESHAPE cannot be batched by litert (it runs item by item);
    FaceMesh batches; 11 inputs also cross the chunk size of 8."""
    if network == "blazeface":
        tflite, size = detector_weights.with_suffix(".tflite"), 192
    else:
        tflite, size = facemesh_dir / "face_landmarks_detector.tflite", 256
    inputs = np.random.default_rng(0).random((11, size, size, 3), np.float32)
    for rt in ("litert", "torch"):
        net = TFLiteNetwork(tflite, tflite.with_suffix(".npz"), runtime=rt)
        batched = net.run(inputs)
        singles = [net.run(x[None]) for x in inputs]
        for k, out in enumerate(batched):
            assert out.shape[0] == len(inputs)
            one_by_one = np.concatenate([s[k] for s in singles])
            err = np.abs(out - one_by_one).max()
            assert err <= 1e-4 * max(1.0, np.abs(one_by_one).max()), f"{rt} output {k}: {err:.2e}"
    with pytest.raises(ValueError, match="at least one"):
        net.run(inputs[:0])


def test_the_bench_checks_its_onnxruntime_export(
    detector_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export runs like the conversion; an export that computes something else is refused
    rather than timed."""
    from trg_ros.core.model import onnx
    from trg_ros.tools.bench.tflite import onnxruntime_run

    run = onnxruntime_run(detector_weights, 192)
    assert run is not None
    x = np.random.default_rng(1).uniform(-1, 1, (1, 192, 192, 3)).astype(np.float32)
    want = TFLiteNetwork(
        detector_weights.with_suffix(".tflite"), detector_weights, runtime="torch"
    ).run(x)
    for got, ref in zip(run(x), want, strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)

    real = onnx.cpu_session

    class Off:
        def __init__(self, session) -> None:
            self.session = session

        def run(self, names, feed):
            return [y + 0.01 for y in self.session.run(names, feed)]

    monkeypatch.setattr(onnx, "cpu_session", lambda *a, **k: Off(real(*a, **k)))
    with pytest.raises(TRGError, match=r"ONNX export of face_detection_full_range\.npz is off"):
        onnxruntime_run(detector_weights, 192)
