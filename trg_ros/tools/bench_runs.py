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
        "fp32-fast": EstimatorConfig(str(device)),
    }
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
    onnx = _onnx_rows(net, sizes, args.repeats, base_rate) if device.type == "cpu" else []
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
        rows + onnx,
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


def _onnx_rows(net: Any, sizes: list[int], repeats: int, base: dict[int, float]) -> list[list]:
    try:
        from trg_ros.tools.export import INPUTS, example_inputs, onnx_session

        session = onnx_session(net, torch.get_num_threads())
    except ImportError:
        return []
    rows = []
    for b in sizes:
        feed = {n: x.numpy() for n, x in zip(INPUTS, example_inputs(b), strict=True)}
        s = summary(measure(lambda f=feed: session.run(None, f), repeats), b)
        rows.append(
            [
                "onnxruntime fp32",
                b,
                f"{s['p50_ms']:.1f}",
                f"{s['p90_ms']:.1f}",
                f"{s['per_s']:.1f}",
                f"{s['per_s'] / base[b]:.2f}x",
                "-",
                "-",
                "-",
            ]
        )
    return rows


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
    """Per stage, core-only, for 1/2/4/8 faces and two image sizes; then through the node."""
    from rclpy.serialization import serialize_message

    from trg_ros.core.detect.blazeface import BlazeFace
    from trg_ros.core.pipeline import HeadPosePipeline, PipelineConfig
    from trg_ros.ros import convert, messages

    device, info, net, kpt = _load(files, args)
    detector_ = BlazeFace(files.detector, device=str(device))
    configs = {
        "baseline (fp32 eager)": EstimatorConfig(str(device), optimise=False),
        "ours": EstimatorConfig(str(device)),
    }
    results, rows = [], []
    from std_msgs.msg import Header

    for w, h in ((640, 480), (1280, 720)):
        for n in (1, 2, 4, 8):
            frame = faces_frame(n, w, h)
            cam = CameraModel(np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]], float), w, h)
            msg = convert.rgb_to_image(frame, Header(frame_id="cam"))
            for name, cfg in configs.items():
                pipe = HeadPosePipeline(
                    TRGEstimator(net, kpt, cfg), detector_, PipelineConfig(smoothing=True)
                )
                stages: dict[str, list[float]] = {
                    k: [] for k in ("convert", "detect", "estimate", "messages", "total")
                }
                faces = 0
                for i in range(args.repeats // 2 + 2):
                    t0 = time.perf_counter()
                    rgb = convert.image_to_rgb(msg)
                    t1 = time.perf_counter()
                    res = pipe.process(rgb, cam, i / 30.0)
                    t2 = time.perf_counter()
                    # what publishing costs in the node: building and serialising
                    serialize_message(messages.heads_msg(res.heads, msg.header, True))
                    messages.markers_cdr(res.heads, res.lost_ids, msg.header, "face_", None)
                    t3 = time.perf_counter()
                    if i < 2:
                        continue  # warm-up
                    faces = len(res.heads)
                    for k in ("detect", "estimate"):
                        stages[k].append(res.timings[k])
                    stages["convert"].append(t1 - t0)
                    stages["messages"].append(t3 - t2)
                    stages["total"].append(t3 - t0)
                row: dict[str, Any] = {
                    "size": f"{w}x{h}",
                    "faces": n,
                    "found": faces,
                    "variant": name,
                }
                for k, v in stages.items():
                    row[f"{k}_p50_ms"] = float(np.percentile(v, 50) * 1e3)
                row["total_p90_ms"] = float(np.percentile(stages["total"], 90) * 1e3)
                row["total_p99_ms"] = float(np.percentile(stages["total"], 99) * 1e3)
                row["fps"] = 1e3 / row["total_p50_ms"]
                results.append(row)
    base = {(r["size"], r["faces"]): r["fps"] for r in results if r["variant"].startswith("base")}
    for r in results:
        r["ratio"] = r["fps"] / base[(r["size"], r["faces"])]
        rows.append(
            [r["size"], r["faces"], r["found"], r["variant"]]
            + [
                f"{r[f'{k}_p50_ms']:.1f}"
                for k in ("convert", "detect", "estimate", "messages", "total")
            ]
            + [
                f"{r['total_p90_ms']:.1f}",
                f"{r['total_p99_ms']:.1f}",
                f"{r['fps']:.1f}",
                f"{r['ratio']:.2f}x",
            ]
        )
    print_table(
        "Core pipeline per stage (p50 ms), image in -> messages out",
        [
            "image",
            "faces",
            "found",
            "variant",
            "convert",
            "detect",
            "estimate",
            "msgs",
            "total",
            "p90",
            "p99",
            "fps",
            "vs base",
        ],
        rows,
    )
    node = _through_node(files, device, args.repeats)
    return {"machine": info, "pipeline": results, "node": node}


def _through_node(files: assets.ModelFiles, device: torch.device, repeats: int) -> list[dict]:
    """Image published -> heads received over DDS at 640x480, frame by frame, 1 and 4 faces."""
    from rclpy.parameter import Parameter

    from trg_ros.tools.demo import Player

    player = Player(
        [
            Parameter("data_dir", value=str(files.sampled_vertices.parent)),
            Parameter("weights", value=str(files.weights)),
            Parameter("device", value=str(device)),
            Parameter("smoothing", value=False),
        ]
    )
    cam = CameraModel(np.array([[640.0, 0, 320], [0, 640.0, 240], [0, 0, 1]]), 640, 480)
    results = []
    try:
        player.start()
        for n in (1, 4):
            frame = faces_frame(n, 640, 480)
            times = []
            for i in range(repeats + 5):
                t0 = time.perf_counter()
                answered = player.request(frame, cam, time.time(), 30.0, 5.0) is not None
                if answered and i >= 5:  # the first frames also set up the track
                    times.append(time.perf_counter() - t0)
            s = {"faces": n, **summary(np.array(times), 1)} if times else {"faces": n}
            results.append(s)
            if times:
                print(
                    f"Through the node over DDS (640x480, {n} face(s), frame by frame): "
                    f"p50 {s['p50_ms']:.1f} ms, p90 {s['p90_ms']:.1f} ms, "
                    f"p99 {s['p99_ms']:.1f} ms, {s['per_s']:.1f} frames/s ({len(times)})"
                )
    finally:
        player.close()
    return results


__all__ = ["model", "pipeline"]
