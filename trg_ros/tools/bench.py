"""``trg-ros bench``: latency and throughput against a baseline measured in the same run."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trg_ros.tools.options import add_model_files, model_files


def machine_info(device: torch.device) -> dict[str, Any]:
    info = {
        "machine": platform.node(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def measure(
    fn: Callable[[], object], repeats: int, warmup: int = 2, sync: bool = False
) -> np.ndarray:
    """Wall time of ``fn`` per call in seconds, after warm-up."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if sync:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if sync:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return np.array(times)


def summary(times: np.ndarray, items: int) -> dict[str, float]:
    return {
        "p50_ms": float(np.percentile(times, 50) * 1e3),
        "p90_ms": float(np.percentile(times, 90) * 1e3),
        "p99_ms": float(np.percentile(times, 99) * 1e3),
        "per_s": float(items / np.median(times)),
    }


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    print(fmt.format(*header))
    for r in rows:
        print(fmt.format(*r))


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="latency and throughput per stage and batch size")
    p.add_argument("--model-only", action="store_true", help="only the TRG network")
    p.add_argument("--detector", action="store_true", help="only the face detector")
    p.add_argument("--facemesh", action="store_true", help="only the FaceMesh landmark network")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=None)
    p.add_argument(
        "--repeats",
        type=_positive,
        default=20,
        help="timed calls per figure (five times as many for the TFLite networks)",
    )
    add_model_files(p)
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    p.add_argument("--plot", type=Path, default=None, help="draw the per-stage bars (PNG)")
    p.add_argument(
        "--load-seconds",
        type=float,
        default=60.0,
        help="seconds at 30 Hz and at 60 Hz through the node (0: skip)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trg_ros.tools import bench_goals, bench_runs, bench_tflite

    files = model_files(args)
    data_dir = files.data_dir
    if args.model_only:
        result = bench_runs.model(files, args)
    elif args.detector:
        result = bench_tflite.detector(files, args)
    elif args.facemesh:
        result = bench_tflite.facemesh(data_dir, args.repeats, args.device)
    else:
        result = bench_goals.run(files, args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0
