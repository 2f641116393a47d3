"""The one place that decides how TRG runs: PyTorch or onnxruntime, chosen by measurement.

On CUDA, in bf16/fp16, or for the eager reference path PyTorch runs TRG. For fp32 on the CPU
both runtimes are timed on batches of 1 and 4 faces when the estimator is built, and the faster
one runs - onnxruntime for one or two faces and PyTorch for more when each wins at its size
(onnxruntime was 1.3-1.7x faster at batch 1 on a 2-core AVX-512 machine; PyTorch catches up
at larger batches). Both return the same numbers within float rounding (the tests
hold both to the parity bounds); callers never branch on the runtime.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from trg_ros.core.device import tf32
from trg_ros.core.model import fast
from trg_ros.core.model.config import TRG_RUNTIMES
from trg_ros.core.model.trg import TRGNet

log = logging.getLogger(__name__)

# (B, 3, 3) head -> camera rotations, (B, 3) translations (m), (B, 1220, 3) vertices (m).
Outputs = tuple[np.ndarray, np.ndarray, np.ndarray]


class TorchRunner:
    """TRG in PyTorch on any device and precision (see :mod:`.fast`). On CUDA, fp32 runs
    without TF32 unless ``allow_tf32`` (PyTorch's own default lets cuDNN use it)."""

    name = "torch"

    def __init__(
        self,
        net: TRGNet,
        device: torch.device,
        precision: str,
        channels_last: bool,
        allow_tf32: bool = False,
    ) -> None:
        self.net, self.device, self.precision = net, device, precision
        self.channels_last, self.allow_tf32 = channels_last, allow_tf32

    @torch.inference_mode()
    def __call__(
        self, img: np.ndarray, k_crop: np.ndarray, bbox_info: np.ndarray, pp: np.ndarray
    ) -> Outputs:
        dev = self.device
        x = torch.from_numpy(img).to(dev)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        args = [torch.from_numpy(a).to(dev) for a in (k_crop, bbox_info, pp)]
        with tf32(self.allow_tf32, self.allow_tf32), fast.autocast(dev, self.precision):
            out = self.net(x, *args)
        return tuple(  # type: ignore[return-value]
            t[-1].cpu().numpy().astype(np.float64)
            for t in (out.rotations, out.translations, out.faces_cam)
        )


class OnnxRunner:
    """TRG in onnxruntime (CPU, fp32), from a graph exported once when it is built."""

    name = "onnxruntime"

    def __init__(self, model: TRGNet, threads: int) -> None:
        from trg_ros.core.model.onnx import onnx_session

        self.session = onnx_session(model, threads)

    def __call__(
        self, img: np.ndarray, k_crop: np.ndarray, bbox_info: np.ndarray, pp: np.ndarray
    ) -> Outputs:
        feed = {"img": img, "k_crop": k_crop, "bbox_info": bbox_info, "principal_point": pp}
        rotation, translation, vertices, _ = self.session.run(None, feed)
        return (
            rotation.astype(np.float64),
            translation.astype(np.float64),
            vertices.astype(np.float64),
        )


Runner = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], Outputs]


def onnx_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


def _example(batch: int) -> tuple[np.ndarray, ...]:
    from trg_ros.core.model.onnx import example_inputs

    return tuple(x.numpy() for x in example_inputs(batch))


class SplitRunner:
    """onnxruntime for small batches, PyTorch for larger ones, where each measured faster."""

    def __init__(self, small: Any, large: Any, up_to: int) -> None:
        self.small, self.large, self.up_to = small, large, up_to
        self.name = f"{small.name} up to {up_to} faces, else {large.name}"

    def __call__(
        self, img: np.ndarray, k_crop: np.ndarray, bbox_info: np.ndarray, pp: np.ndarray
    ) -> Outputs:
        runner = self.small if len(img) <= self.up_to else self.large
        return runner(img, k_crop, bbox_info, pp)


def seconds_per_call(runner: Runner, inputs: tuple[np.ndarray, ...], repeats: int = 5) -> float:
    """Median wall time of one call, after two warm-up calls."""
    for _ in range(2):
        runner(*inputs)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        runner(*inputs)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def choose_runner(
    model: TRGNet, torch_runner: TorchRunner, requested: str, optimised: bool
) -> tuple[Any, str]:
    """(runner, reason) for TRG: ``requested`` is ``auto``, ``torch`` or ``onnxruntime``.

    Raises:
        ValueError: an unknown runtime, or onnxruntime asked for where it cannot run.
    """
    if requested not in TRG_RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(TRG_RUNTIMES)}, got {requested!r}")
    problem = ""
    if torch_runner.device.type != "cpu":
        problem = f"device {torch_runner.device} (onnxruntime runs TRG on the CPU only)"
    elif torch_runner.precision != "fp32":
        problem = f"precision {torch_runner.precision} (onnxruntime runs fp32)"
    elif not optimised:
        problem = "the eager reference path was asked for"
    elif not onnx_available():
        problem = "onnx/onnxruntime are not installed"
    if requested == "torch":
        return torch_runner, "asked for"
    if problem:
        if requested == "onnxruntime":
            raise ValueError(f"runtime onnxruntime cannot run TRG here: {problem}")
        return torch_runner, problem
    try:
        onnx = OnnxRunner(model, torch.get_num_threads())
        if requested == "onnxruntime":
            return onnx, "asked for"
        one, four = _example(1), _example(4)
        t_onnx = seconds_per_call(onnx, one), seconds_per_call(onnx, four, 3)
    except Exception as e:  # export or session failed: PyTorch runs it, and the log says why
        if requested == "onnxruntime":
            raise ValueError(f"runtime onnxruntime cannot run TRG: {e}") from e
        log.warning("onnxruntime could not run TRG (%s: %s): using PyTorch", type(e).__name__, e)
        return torch_runner, f"onnxruntime failed ({type(e).__name__})"
    t_torch = seconds_per_call(torch_runner, one), seconds_per_call(torch_runner, four, 3)
    measured = "; ".join(
        f"batch {b}: onnxruntime {o * 1e3:.1f} ms, torch {t * 1e3:.1f} ms"
        for b, o, t in zip((1, 4), t_onnx, t_torch, strict=True)
    )
    onnx_small, onnx_large = t_onnx[0] <= t_torch[0], t_onnx[1] <= t_torch[1]
    if onnx_small and not onnx_large:  # one face or two on onnxruntime, more on PyTorch
        return SplitRunner(onnx, torch_runner, up_to=2), measured
    return (onnx, measured) if onnx_small else (torch_runner, measured)
