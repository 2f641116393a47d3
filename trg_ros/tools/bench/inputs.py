"""What several benches start from: the machine's description, TRG loaded once, and frames
with real faces. Above :mod:`.measure`, below the runs."""

from __future__ import annotations

import argparse
from typing import Any

import cv2
import numpy as np
import torch

from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.device import resolve_device
from trg_ros.core.model.checkpoint import load_trg
from trg_ros.tools.bench.measure import machine_info
from trg_ros.tools.sources import sample_image


def _describe(device: torch.device) -> dict[str, Any]:
    info = machine_info(device)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    return info


def load(files: ModelFiles, args: argparse.Namespace):
    """Device, machine description, TRG and the landmark indices, shared by the benches."""
    device = resolve_device(args.device)
    info = _describe(device)
    return (
        device,
        info,
        load_trg(files.weights, files.sampled_vertices),
        np.load(files.landmark_vertices),
    )


def faces_frame(n: int, width: int, height: int) -> np.ndarray:
    """A frame with ``n`` copies of a real face on a grey background, in a grid."""
    face = sample_image()[30:230, 125:325]
    cols = int(np.ceil(np.sqrt(n)))
    rows_ = int(np.ceil(n / cols))
    side = int(min(width / cols, height / rows_) * 0.9)
    canvas = np.full((height, width, 3), 90, np.uint8)
    small = cv2.resize(face, (side, side))
    for i in range(n):
        y, x = divmod(i, cols)
        canvas[y * side + 5 : y * side + 5 + side, x * side + 5 : x * side + 5 + side] = small
    return canvas
