"""TRG as an ONNX graph, and an onnxruntime session of it (a CPU runtime for TRG).

Opset 17 (GridSample exists from opset 16; ``align_corners=1``, bilinear, zero padding map
onto it directly). The graph takes the same four inputs as :class:`TRGNet` with a dynamic
batch axis and returns the final rotation, translation, camera-frame vertices and the 68
soft-argmax landmarks. Exporting needs the ``onnx`` package, running it ``onnxruntime``.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from trg_ros.core.model.trg import TRGNet

OPSET = 17
INPUTS = ("img", "k_crop", "bbox_info", "principal_point")
OUTPUTS = ("rotation", "translation", "vertices", "landmarks_68")


class ExportWrapper(torch.nn.Module):
    """Flattens TRG's output dataclass into the tensors the ONNX graph returns."""

    def __init__(self, model: TRGNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, img, k_crop, bbox_info, principal_point):  # type: ignore[no-untyped-def]
        out = self.model(img, k_crop, bbox_info, principal_point)
        return out.rotations[-1], out.translations[-1], out.faces_cam[-1], out.landmarks_68


def example_inputs(batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Plausible inputs of ``batch`` faces, the same at every call (the global random state
    is left alone)."""
    k = torch.tensor([[1000.0, 0, 0], [0, 1000.0, 0], [96.0, 96.0, 1], [0, 0, 0]])
    bbox = torch.tensor([270.0, 190.0, 370.0, 290.0, 800.0, 480.0, 640.0])
    return (
        torch.randn(batch, 3, 192, 192, generator=torch.Generator().manual_seed(batch)),
        k.repeat(batch, 1, 1),
        bbox.repeat(batch, 1),
        torch.tensor([[320.0, 240.0]]).repeat(batch, 1),
    )


def export_onnx(model: TRGNet, path: Path) -> None:
    dynamic = {name: {0: "batch"} for name in INPUTS + OUTPUTS}
    with warnings.catch_warnings():
        # The TorchScript exporter handles grid_sample without onnxscript; torch flags it as
        # legacy, which is fine for this static graph.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            ExportWrapper(model.eval()),
            example_inputs(),
            str(path),
            opset_version=OPSET,
            dynamo=False,
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes=dynamic,
        )


def cpu_session(export: Callable[[Path], None], threads: int = 0) -> Any:
    """An onnxruntime CPU session of the graph ``export`` writes to the path it is given,
    through a temporary file that is gone when this returns (onnxruntime keeps the graph in
    memory).

    Its threads spin during a run but stop when it returns. Left spinning, they take the cores
    from whatever runs next (in the node, frame by frame, two runs each way: the next frame's
    BlazeFace 4.7-5.5 -> 2.0-3.1 ms, publishing 2.3-2.6 -> 1.1-1.5 ms; TRG itself unchanged).
    """
    with tempfile.TemporaryDirectory(prefix="trg_onnx_") as tmp:
        path = Path(tmp) / "graph.onnx"
        export(path)
        return file_session(path, threads)


def file_session(path: Path, threads: int = 0) -> Any:
    """An onnxruntime CPU session of the graph in ``path``, set up as :func:`cpu_session`
    says."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.add_session_config_entry("session.force_spinning_stop", "1")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def onnx_session(model: TRGNet, threads: int = 0) -> Any:
    """An onnxruntime CPU session of TRG."""
    return cpu_session(lambda path: export_onnx(model, path), threads)
