"""The one place that decides how a TFLite network runs.

On CPU, ``ai-edge-litert`` with XNNPACK runs MediaPipe's many small convolutions several
times faster than PyTorch (whose per-op overhead dominates there); on CUDA, or where litert
has no wheel, the PyTorch conversion made at install runs instead. Both take and give the
TFLite layout, so callers never learn which one runs. torch is imported only when the
conversion runs: the litert path starts without it.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trg_ros.core.device import Device, cpu_threads, parse_device
from trg_ros.core.errors import AssetError, TRGError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

TFLITE_RUNTIMES = ("auto", "litert", "torch")
# litert: one interpreter per batch size up to this many inputs; larger batches run in chunks.
# Batched invocation measured 2.3 ms/face against 2.6 ms/face one by one for FaceMesh at 4.
MAX_BATCH = 8


def litert_available() -> bool:
    return importlib.util.find_spec("ai_edge_litert") is not None


def choose_runtime(requested: str, device: Device, tflite: Path) -> tuple[str, str]:
    """(runtime, reason): litert on CPU when it can run, else the PyTorch conversion.

    Raises:
        ValueError: for an unknown runtime name.
        TRGError: when ``"litert"`` is asked for and cannot run here.
    """
    if requested not in TFLITE_RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(TFLITE_RUNTIMES)}, got {requested!r}")
    if requested == "torch":
        return "torch", "asked for"
    problem = ""
    if device.type != "cpu":
        problem = f"device {device} (litert runs on the CPU only)"
    elif not litert_available():
        problem = "ai-edge-litert is not installed"
    elif not tflite.is_file():
        problem = f"{tflite} is missing (`trg-ros assets fetch` installs it)"
    if requested == "litert":
        if problem:
            raise TRGError(f"runtime 'litert' cannot run {tflite.name}: {problem}")
        return "litert", "asked for"
    return ("torch", problem) if problem else ("litert", "CPU and ai-edge-litert installed")


class TFLiteNetwork:
    """A TFLite network run by ai-edge-litert or by its PyTorch conversion.

    Args:
        tflite: the ``.tflite`` file (litert runs it).
        converted: its ``.npz`` conversion (PyTorch runs it; read only when chosen).
        device: ``cpu``, ``cuda`` or ``cuda:N`` (a str, :class:`Device` or ``torch.device``);
            litert only runs on ``cpu``.
        runtime: ``auto`` (litert on CPU when importable, else torch), ``litert`` or ``torch``.
    """

    def __init__(
        self,
        tflite: Path,
        converted: Path,
        device: str | Device | torch.device = "cpu",
        runtime: str = "auto",
    ) -> None:
        self.device = parse_device(str(device))
        tflite, converted = Path(tflite), Path(converted)
        self.runtime, reason = choose_runtime(runtime, self.device, tflite)
        self._torch: torch.nn.Module | None = None
        self._interpreters: dict[int, Any] = {}
        self._batchable = True
        if self.runtime == "litert":
            self._model = tflite.read_bytes()
            self._threads = cpu_threads()
            self._interpreter(1)
            where = f"XNNPACK, {self._threads} threads"
        else:
            if not converted.is_file():
                raise AssetError(f"{converted} is missing: run `trg-ros assets fetch`")
            import torch

            from trg_ros.core.tflite.convert import load_converted

            # channels-last: about 1.5x faster on CPU for these many-small-convolution networks
            self._torch = load_converted(converted).to(
                str(self.device), memory_format=torch.channels_last
            )
            where = str(self.device)
        # On the CPU the conversion is several times slower than litert: say so where it is seen
        slow = self.runtime == "torch" and runtime == "auto" and self.device.type == "cpu"
        level = logging.WARNING if slow else logging.INFO
        log.log(level, "%s runs with %s (%s): %s", tflite.stem, self.runtime, where, reason)

    def run(self, inputs: np.ndarray) -> list[np.ndarray]:
        """(B, ...) float32 inputs (images: (B, H, W, C)), B >= 1 -> the graph's outputs in the
        TFLite layout, batch first (a graph whose outputs drop the batch axis runs one input
        at a time, its outputs concatenated), in the graph's output order."""
        if len(inputs) == 0:
            raise ValueError("run() needs at least one input")
        x = np.ascontiguousarray(inputs, np.float32)
        return self._run_litert(x) if self.runtime == "litert" else self._run_torch(x)

    def _run_torch(self, x: np.ndarray) -> list[np.ndarray]:
        import torch

        assert self._torch is not None
        with torch.inference_mode():
            t = torch.from_numpy(x)
            if self._torch.layout == "nchw":  # image CNNs (see tflite.convert)
                # NHWC numpy memory is already the channels-last layout of an NCHW tensor.
                t = t.permute(0, 3, 1, 2)
            t = t.to(str(self.device))
            return [np.ascontiguousarray(y.float().cpu().numpy()) for y in self._torch(t)]

    def _run_litert(self, x: np.ndarray) -> list[np.ndarray]:
        parts = []
        for start in range(0, len(x), MAX_BATCH):
            chunk = x[start : start + MAX_BATCH]
            it = self._interpreter(len(chunk))
            if self._batchable:
                parts.append(self._invoke(it, chunk))
            else:
                parts += [self._invoke(it, chunk[i : i + 1]) for i in range(len(chunk))]
        return [np.concatenate(outs) for outs in zip(*parts, strict=True)]

    @staticmethod
    def _invoke(interpreter: Any, x: np.ndarray) -> list[np.ndarray]:
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]

    def _interpreter(self, batch: int) -> Any:
        """The interpreter for ``batch`` inputs; falls back to one at a time for a graph whose
        outputs do not follow the batch (a RESHAPE with a fixed shape, as in BlazeFace) or
        that cannot be resized at all (the blendshape network)."""
        if not self._batchable:
            batch = 1
        if batch not in self._interpreters:
            from ai_edge_litert.interpreter import Interpreter

            it = Interpreter(model_content=self._model, num_threads=self._threads)
            if batch > 1:
                shape = list(it.get_input_details()[0]["shape"])
                it.resize_tensor_input(it.get_input_details()[0]["index"], [batch, *shape[1:]])
                try:
                    it.allocate_tensors()
                    resized = all(d["shape"][0] == batch for d in it.get_output_details())
                except RuntimeError:
                    resized = False
                if not resized:
                    self._batchable = False
                    return self._interpreter(1)
            else:
                it.allocate_tensors()
            self._interpreters[batch] = it
        return self._interpreters[batch]
