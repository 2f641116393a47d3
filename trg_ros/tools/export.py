"""``trg-ros export --onnx``: TRG as an ONNX graph, checked against PyTorch with onnxruntime.

Opset 17 (GridSample exists from opset 16; ``align_corners=1``, bilinear, zero padding map
onto it directly). The graph takes the same four inputs as :class:`TRGNet` with a dynamic
batch axis and returns the final rotation, translation, camera-frame vertices and the 68
soft-argmax landmarks.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trg_ros.core import assets
from trg_ros.core.errors import TRGError
from trg_ros.core.model.checkpoint import load_trg
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
    k = torch.tensor([[1000.0, 0, 0], [0, 1000.0, 0], [96.0, 96.0, 1], [0, 0, 0]])
    bbox = torch.tensor([270.0, 190.0, 370.0, 290.0, 800.0, 480.0, 640.0])
    return (
        torch.randn(batch, 3, 192, 192),
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


def onnx_session(model: TRGNet, threads: int = 0) -> Any:
    """An onnxruntime CPU session of ``model``, exported through a temporary file that is
    gone when this returns (onnxruntime keeps the graph in memory)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    with tempfile.TemporaryDirectory(prefix="trg_onnx_") as tmp:
        path = Path(tmp) / "trg.onnx"
        export_onnx(model, path)
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def check_onnx(model: TRGNet, session: Any, inputs: tuple[torch.Tensor, ...]) -> dict[str, float]:
    """Max abs difference per output between an onnxruntime session and PyTorch."""
    got = session.run(None, {n: x.numpy() for n, x in zip(INPUTS, inputs, strict=True)})
    with torch.inference_mode():
        want = ExportWrapper(model.eval())(*inputs)
    return {
        n: float(np.abs(g - w.numpy()).max()) for n, g, w in zip(OUTPUTS, got, want, strict=True)
    }


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export TRG to ONNX")
    p.add_argument("--onnx", type=Path, required=True, help="output .onnx file")
    p.add_argument("--weights", type=Path)
    p.add_argument("--data-dir", type=Path)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    files = assets.ModelFiles.in_dir(args.data_dir or assets.cache_dir(), args.weights)
    try:
        model = load_trg(files.weights, files.sampled_vertices)
    except TRGError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    export_onnx(model, args.onnx)
    print(f"wrote {args.onnx} (opset {OPSET}, dynamic batch)")
    try:
        import onnxruntime as ort

        session = ort.InferenceSession(str(args.onnx), providers=["CPUExecutionProvider"])
        diffs = check_onnx(model, session, example_inputs(3))
    except ImportError:
        print("onnxruntime is not installed: skipped the check against PyTorch")
        return 0
    print(
        "onnxruntime vs PyTorch, max abs diff: "
        + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items())
    )
    return 0
