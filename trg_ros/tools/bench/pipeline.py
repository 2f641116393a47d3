"""The core pipeline per stage (detect, estimate, track) on frames with 1, 4 and 8 faces:
what a straight port runs against what the package runs, in the same run."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.model.config import TRGConfig
from trg_ros.core.model.estimator import TRGEstimator
from trg_ros.tools.bench.inputs import faces_frame, load
from trg_ros.tools.bench.measure import print_table


def pipeline(files: ModelFiles, args: argparse.Namespace) -> dict[str, Any]:
    """The core pipeline per stage at 640x480 for 1, 4 and 8 faces: the baseline (TRG eager
    and BlazeFace in PyTorch, what a straight port runs) against ours (runtimes chosen by
    :mod:`trg_ros.core.model.runtime` and :mod:`trg_ros.core.tflite.runtime`)."""
    from std_msgs.msg import Header

    from trg_ros.core.detect.blazeface import BlazeFace
    from trg_ros.core.pipeline import HeadPosePipeline, PipelineConfig
    from trg_ros.ros import convert

    device, info, net, kpt = load(files, args)
    variants = {
        "baseline": (TRGConfig(str(device), optimise=False), "torch"),
        "ours": (TRGConfig(str(device)), "auto"),
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
