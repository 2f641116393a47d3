"""Command-line options several tools share."""

from __future__ import annotations

import argparse
from pathlib import Path

from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.model.files import CHECKPOINTS


def add_model_files(p: argparse.ArgumentParser) -> None:
    """``--weights``, ``--data-dir`` and ``--checkpoint``: which model files a tool loads
    (read back with :func:`model_files`)."""
    p.add_argument("--weights", type=Path, help="TRG state_dict.bin (default: asset cache)")
    p.add_argument("--data-dir", type=Path, help="asset folder (default: the cache)")
    p.add_argument(
        "--checkpoint",
        choices=list(CHECKPOINTS),
        default="trg-star",
        help="official checkpoint from the cache when --weights is not given",
    )


def model_files(args: argparse.Namespace) -> ModelFiles:
    return ModelFiles.in_dir(args.data_dir, args.weights, args.checkpoint)
