"""TRG's forward pass timed per precision mode, runtime and batch size, against fp32 eager
PyTorch (the official-style baseline) in the same run."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch

from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.model.checkpoint import load_trg
from trg_ros.core.model.config import TRGConfig
from trg_ros.core.model.estimator import TRGEstimator
from trg_ros.core.model.fast import cpu_has_bf16
from trg_ros.core.model.runtime import onnx_available
from trg_ros.tools.accuracy import (
    pose_differences,
    precision_verdict,
    sweep_crops,
    within_bounds,
)
from trg_ros.tools.bench.inputs import load
from trg_ros.tools.bench.measure import measure, print_table, summary
from trg_ros.tools.fixture import is_parity_fixture
from trg_ros.tools.sources import sample_image


def model(files: ModelFiles, args: argparse.Namespace) -> dict[str, Any]:
    """TRG forward only, per precision mode and batch size, vs fp32 eager in the same run."""
    device, info, net, kpt = load(files, args)
    random_weights = is_parity_fixture(net)
    modes = {
        "fp32-eager (baseline)": TRGConfig(str(device), optimise=False),
        "fp32-fast": TRGConfig(str(device), runtime="torch"),
    }
    if device.type == "cpu" and onnx_available():
        modes["onnxruntime fp32"] = TRGConfig(str(device), runtime="onnxruntime")
    if device.type == "cpu" and cpu_has_bf16():
        modes["bf16"] = TRGConfig(str(device), precision="bf16")
    if device.type == "cuda":
        modes["fp16"] = TRGConfig(str(device), precision="fp16")
    estimators = {name: TRGEstimator(net, kpt, cfg) for name, cfg in modes.items()}
    crops, camera = sweep_crops(sample_image())
    sizes = args.batch_sizes or (
        [1, 2, 4, 8] if device.type == "cpu" else [1, 2, 4, 8, 16, 32, 64]
    )
    base = estimators["fp32-eager (baseline)"]
    reference = base.run_crops(crops, camera)
    rows, results, accuracy = [], [], {}
    for name, est in estimators.items():
        acc = accuracy[name] = pose_differences(est.run_crops(crops, camera), reference)
        for b in sizes:
            batch = [crops[i % len(crops)] for i in range(b)]
            times = measure(
                lambda e=est, c=batch: e.run_crops(c, camera),
                args.repeats,
                sync=device.type == "cuda",
            )
            s = summary(times, b)
            results.append({"mode": name, "batch": b, **s, **acc})
    base_rate = {r["batch"]: r["per_s"] for r in results if r["mode"].endswith("(baseline)")}
    for r in results:
        r["ratio"] = r["per_s"] / base_rate[r["batch"]]
        rows.append(
            [
                r["mode"],
                r["batch"],
                f"{r['p50_ms']:.1f}",
                f"{r['p90_ms']:.1f}",
                f"{r['per_s']:.1f}",
                f"{r['ratio']:.2f}x",
                f"{r['rotation_deg']:.3f}",
                f"{r['translation_mm']:.3f}",
                f"{r['vertices_mm']:.3f}",
            ]
        )
    print_table(
        "TRG forward (crop batch in -> poses out), accuracy vs fp32 eager on 27 real-face crops",
        [
            "mode",
            "batch",
            "p50 ms",
            "p90 ms",
            "crops/s",
            "vs base",
            "max rot deg",
            "max t mm",
            "max vert mm",
        ],
        rows,
    )
    return {
        "machine": info,
        "model": results,
        "precision_cost": _precision_costs(device, accuracy, random_weights),
    }


def _precision_costs(
    device: torch.device, accuracy: dict[str, dict[str, float]], random_weights: bool
) -> dict[str, dict[str, Any]]:
    """Print and return the reduced-precision modes' cost against fp32, judged on the bounds."""
    if device.type == "cpu" and "bf16" not in accuracy:
        print("bf16 not measured: this CPU has no AVX-512 BF16/AMX")
    costs = {}
    for mode in ("bf16", "fp16"):
        if mode in accuracy:
            diff = accuracy[mode]
            print(precision_verdict(mode, diff, random_weights))
            judged = None if random_weights else within_bounds(diff)
            costs[mode] = {**diff, "random_weights": random_weights, "within_bounds": judged}
    return costs


def trg_forward_ms(files: ModelFiles, device: str, repeats: int) -> dict[str, Any]:
    """Bare TRG at batch 1 (crop in, pose out): official-style (fp32, eager PyTorch) and as
    the node runs it."""
    net = load_trg(files.weights, files.sampled_vertices)
    kpt = np.load(files.landmark_vertices)
    crops, camera = sweep_crops(sample_image())
    out: dict[str, Any] = {}
    for name, config in (
        ("official-style fp32 eager", TRGConfig(device, optimise=False)),
        ("ours", TRGConfig(device)),
    ):
        est = TRGEstimator(net, kpt, config)
        times = measure(lambda e=est: e.run_crops(crops[:1], camera), repeats)
        out[name] = summary(times, 1)["p50_ms"]
        out[f"{name} runtime"] = est.runner.name
    print(
        f"\nTRG forward at batch 1: official-style {out['official-style fp32 eager']:.1f} ms, "
        f"ours {out['ours']:.1f} ms ({out['ours runtime']})"
    )
    return out
