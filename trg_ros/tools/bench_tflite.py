"""Benches of the TFLite networks (BlazeFace, FaceMesh): each runtime against the PyTorch
conversion measured in the same run."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from trg_ros.core import assets
from trg_ros.core.device import resolve_device
from trg_ros.core.tflite.runtime import litert_available
from trg_ros.tools.bench import machine_info, measure, print_table, summary
from trg_ros.tools.sources import sample_image


def _runtimes(device: torch.device) -> list[str]:
    """The PyTorch conversion (the baseline) first, then litert where it can run."""
    return ["torch"] + (["litert"] if device.type == "cpu" and litert_available() else [])


def _canvas(w: int, h: int) -> np.ndarray:
    """The astronaut scaled to the frame height, centred on a black (w, h) frame."""
    canvas = np.zeros((h, w, 3), np.uint8)
    x0 = (w - h) // 2
    canvas[:, x0 : x0 + h] = cv2.resize(sample_image(), (h, h))
    return canvas


def _p50(fn: Callable[[], object], repeats: int) -> float:
    return summary(measure(fn, repeats), 1)["p50_ms"]


def detector(files: assets.ModelFiles, args: argparse.Namespace) -> dict[str, Any]:
    """BlazeFace per frame with each runtime; ratios against the PyTorch conversion."""
    from trg_ros.core.detect.blazeface import BlazeFace, letterbox

    device = resolve_device(args.device)
    info = machine_info(device)
    nets = {rt: BlazeFace(files.detector, device=device, runtime=rt) for rt in _runtimes(device)}
    rows, results = [], []
    for w, h in ((640, 480), (1280, 720), (1920, 1080)):
        canvas = _canvas(w, h)
        inp = letterbox(canvas)[0][None]
        base = None
        for rt, net in nets.items():
            t_raw = _p50(lambda n=net, x=inp: n.raw(x), args.repeats)
            t_all = _p50(lambda n=net, c=canvas: n.detect(c), args.repeats)
            base = base or t_all
            row = {"size": f"{w}x{h}", "runtime": rt, "net_ms": t_raw, "detect_ms": t_all}
            row |= {"speedup": base / t_all, "faces": len(net.detect(canvas))}
            results.append(row)
            cells = [row["size"], rt, f"{t_raw:.2f}", f"{t_all:.2f}"]
            rows.append([*cells, f"{base / t_all:.2f}x", row["faces"]])
    print_table(
        "BlazeFace full-range per frame, p50 (baseline: the PyTorch conversion)",
        ["image", "runtime", "net ms", "detect ms", "vs torch", "faces"],
        rows,
    )
    return {"machine": info, "detector": results}


def facemesh(
    data_dir: Path, repeats: int = 30, device: str = "cpu", faces: tuple[int, ...] = (1, 2, 4, 8)
) -> dict[str, Any]:
    """FaceMesh latency per face (crop, network, projection) for 1..8 faces of a frame, with
    each runtime; prints a table and returns the rows."""
    from trg_ros.core.detect.blazeface import BlazeFace
    from trg_ros.core.facemesh.landmarker import FaceLandmarker, roi_from_detection

    dev = resolve_device(device)
    image = sample_image()
    found = BlazeFace(Path(data_dir) / str(assets.BLAZEFACE.members[0].converted_name))
    roi = roi_from_detection(found.detect(image)[0])
    rows, results = [], []
    base: dict[int, float] = {}
    for rt in _runtimes(dev):
        landmarker = FaceLandmarker.from_dir(data_dir, dev, rt)
        crop = landmarker.crop(image, roi)
        for n in faces:
            batch = np.repeat(crop[None], n, 0)
            t_net = summary(measure(lambda m=landmarker, b=batch: m.net.run(b), repeats), n)
            t_all = summary(
                measure(lambda m=landmarker, k=n: m.landmarks(image, [roi] * k), repeats), n
            )
            ms = 1e3 / t_all["per_s"]
            base.setdefault(n, ms)  # the PyTorch conversion runs first
            row = {"runtime": rt, "faces": n, "net_ms_per_face": 1e3 / t_net["per_s"]}
            row |= {"ms_per_face": ms, "p90_ms_per_face": t_all["p90_ms"] / n}
            row["speedup"] = base[n] / ms
            results.append(row)
            cells = [row["net_ms_per_face"], ms, row["p90_ms_per_face"]]
            rows.append([rt, n, *(f"{v:.2f}" for v in cells), f"{row['speedup']:.2f}x"])
    print_table(
        f"FaceMesh v2 per face ({dev}, {torch.get_num_threads()} threads), p50; baseline: torch",
        ["runtime", "faces", "net ms/face", "total ms/face", "p90 ms/face", "vs torch"],
        rows,
    )
    return {"machine": machine_info(dev), "facemesh": results}
