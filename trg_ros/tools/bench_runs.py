"""The measurements behind ``trg-ros bench``; every table carries a same-run baseline ratio."""

from __future__ import annotations

import argparse
import time
from typing import Any

import cv2
import numpy as np
import torch

from trg_ros.core import assets
from trg_ros.core.camera import CameraModel
from trg_ros.core.device import resolve_device
from trg_ros.core.model.checkpoint import load_trg
from trg_ros.core.model.estimator import EstimatorConfig, TRGEstimator
from trg_ros.core.model.fast import cpu_has_bf16
from trg_ros.core.model.runtime import onnx_available
from trg_ros.tools.accuracy import (
    pose_differences,
    precision_verdict,
    sweep_crops,
    within_bounds,
)
from trg_ros.tools.bench import machine_info, measure, print_table, summary
from trg_ros.tools.fixture import is_parity_fixture
from trg_ros.tools.sources import sample_image


def _describe(device: torch.device) -> dict[str, Any]:
    info = machine_info(device)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    return info


def _load(files: assets.ModelFiles, args: argparse.Namespace):
    """Device, machine description, TRG and the landmark indices, shared by the benches."""
    device = resolve_device(args.device)
    info = _describe(device)
    return (
        device,
        info,
        load_trg(files.weights, files.sampled_vertices),
        np.load(files.landmark_vertices),
    )


def model(files: assets.ModelFiles, args: argparse.Namespace) -> dict[str, Any]:
    """TRG forward only, per precision mode and batch size, vs fp32 eager in the same run."""
    device, info, net, kpt = _load(files, args)
    random_weights = is_parity_fixture(net)
    modes = {
        "fp32-eager (baseline)": EstimatorConfig(str(device), optimise=False),
        "fp32-fast": EstimatorConfig(str(device), runtime="torch"),
    }
    if device.type == "cpu" and onnx_available():
        modes["onnxruntime fp32"] = EstimatorConfig(str(device), runtime="onnxruntime")
    if device.type == "cpu" and cpu_has_bf16():
        modes["bf16"] = EstimatorConfig(str(device), precision="bf16")
    if device.type == "cuda":
        modes["fp16"] = EstimatorConfig(str(device), precision="fp16")
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


def pipeline(files: assets.ModelFiles, args: argparse.Namespace) -> dict[str, Any]:
    """The core pipeline per stage at 640x480 for 1, 4 and 8 faces: the baseline (TRG eager
    and BlazeFace in PyTorch, what a straight port runs) against ours (runtimes chosen by
    :mod:`trg_ros.core.model.runtime` and :mod:`trg_ros.core.tflite.runtime`)."""
    from std_msgs.msg import Header

    from trg_ros.core.detect.blazeface import BlazeFace
    from trg_ros.core.pipeline import HeadPosePipeline, PipelineConfig
    from trg_ros.ros import convert

    device, info, net, kpt = _load(files, args)
    variants = {
        "baseline": (EstimatorConfig(str(device), optimise=False), "torch"),
        "ours": (EstimatorConfig(str(device)), "auto"),
    }
    results, rows, heads_by_faces = [], [], {}
    w, h = 640, 480
    cam = CameraModel(np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]], float), w, h)
    for name, (config, detector_runtime) in variants.items():
        estimator = TRGEstimator(net, kpt, config)
        detector = BlazeFace(files.detector, device=str(device), runtime=detector_runtime)
        for n in (1, 4, 8):
            msg = convert.rgb_to_image(faces_frame(n, w, h), Header(frame_id="cam"))
            pipe = HeadPosePipeline(estimator, detector, PipelineConfig(smoothing=True))
            stages: dict[str, list[float]] = {k: [] for k in ("convert", "detect", "estimate")}
            for i in range(args.repeats // 2 + 2):
                t0 = time.perf_counter()
                rgb = convert.image_to_rgb(msg)
                t1 = time.perf_counter()
                res = pipe.process(rgb, cam, i / 30.0)
                if i < 2:
                    continue  # warm-up
                stages["convert"].append(t1 - t0)
                stages["detect"].append(res.timings["detect"])
                stages["estimate"].append(res.timings["estimate"])
            if name == "ours":
                heads_by_faces[n] = res.heads
            row: dict[str, Any] = {"variant": name, "faces": n, "found": len(res.heads)}
            row |= {f"{k}_p50_ms": float(np.median(v) * 1e3) for k, v in stages.items()}
            row["total_p50_ms"] = float(np.median(np.sum(list(stages.values()), axis=0)) * 1e3)
            results.append(row)
    base = {r["faces"]: r["total_p50_ms"] for r in results if r["variant"] == "baseline"}
    for r in results:
        r["speedup"] = base[r["faces"]] / r["total_p50_ms"]
        cells = [f"{r[f'{k}_p50_ms']:.1f}" for k in ("convert", "detect", "estimate", "total")]
        rows.append([r["variant"], r["faces"], r["found"], *cells, f"{r['speedup']:.2f}x"])
    print_table(
        "Core pipeline at 640x480 per stage, p50 ms (baseline: TRG eager + BlazeFace in PyTorch)",
        ["variant", "faces", "found", "convert", "detect", "estimate", "total", "vs base"],
        rows,
    )
    return {"machine": info, "rows": results, "heads_by_faces": heads_by_faces}


__all__ = ["model", "pipeline"]
