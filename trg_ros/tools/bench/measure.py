"""The bottom of the bench: timing, tables and what machine a figure came from.

Every other bench module builds on these; nothing here imports them.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch


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
