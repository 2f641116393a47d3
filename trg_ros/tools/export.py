"""``trg-ros export --onnx``: TRG as an ONNX graph (:mod:`trg_ros.core.model.onnx`), checked
against PyTorch with onnxruntime."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trg_ros.core.assets import cache_dir
from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.errors import TRGError
from trg_ros.core.model.checkpoint import load_trg
from trg_ros.core.model.onnx import (
    INPUTS,
    OPSET,
    OUTPUTS,
    ExportWrapper,
    example_inputs,
    export_onnx,
)
from trg_ros.core.model.trg import TRGNet


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
    files = ModelFiles.in_dir(args.data_dir or cache_dir(), args.weights)
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
