"""The main job against what it demonstrates: ``trg-ros demo --video`` on a clip of one moving
face, as a user runs it (its own process, drawing and video writing included), against the
core pipeline's ``process`` on the same decoded frames, in the same run."""

from __future__ import annotations

import argparse
import itertools
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.catalogue import ModelFiles
from trg_ros.tools.bench.measure import print_table
from trg_ros.tools.sources import sample_image

WIDTH, HEIGHT, FOV = 640, 480, 60.0
FINAL_LINE = re.compile(r"(\d+) frames, (\d+) faces, ([\d.]+) frames/s")


def write_clip(path: Path, frames: int) -> None:
    """One real face turning in the image plane (±25°), moving and changing scale."""
    face = cv2.cvtColor(sample_image(), cv2.COLOR_RGB2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (WIDTH, HEIGHT))
    for i in range(frames):
        phase = 2 * np.pi * i / frames
        m = cv2.getRotationMatrix2D((256, 256), 25 * np.sin(phase), 0.75 + 0.15 * np.cos(phase))
        m[:, 2] += (64 + 40 * np.sin(2 * phase), -16)
        writer.write(cv2.warpAffine(face, m, (WIDTH, HEIGHT), borderValue=(90, 90, 90)))
    writer.release()


def decode(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while (got := cap.read())[0]:
        frames.append(cv2.cvtColor(got[1], cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def core_rate(model: str, files: ModelFiles, device: str, frames: list[np.ndarray]) -> float:
    """Frames per second of ``HeadPosePipeline.process`` as the node builds it (after a few
    untimed frames on a pipeline of its own, so both sides start warm), with OpenCV on one
    thread as in the demo's process."""
    from trg_ros.ros.factory import build_pipeline
    from trg_ros.ros.params import NodeParams

    weights = str(files.weights) if model == "trg" else ""
    params = NodeParams(model=model, data_dir=str(files.data_dir), weights=weights, device=device)
    camera = CameraModel.from_fov(WIDTH, HEIGHT, FOV)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        warm = build_pipeline(params, "/", itertools.count()).pipeline
        for i, rgb in enumerate(frames[:5]):
            warm.process(rgb, camera, i / 30.0)
        del warm
        pipeline = build_pipeline(params, "/", itertools.count()).pipeline
        t0 = time.perf_counter()
        for i, rgb in enumerate(frames):
            pipeline.process(rgb, camera, i / 30.0)
        return len(frames) / (time.perf_counter() - t0)
    finally:
        cv2.setNumThreads(threads)


def demo_run(model: str, files: ModelFiles, device: str, clip: Path, out: Path) -> dict[str, Any]:
    """``trg-ros demo --video`` in a process of its own; its final line gives the rate."""
    command = [
        sys.executable, "-m", "trg_ros.cli", "demo", "--video", str(clip), "--fov", str(FOV),
        "--model", model, "--data-dir", str(files.data_dir), "--device", device,
        "--out", str(out),
    ]  # fmt: skip
    if model == "trg":
        command += ["--weights", str(files.weights)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    found = FINAL_LINE.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(
            f"trg-ros demo failed (exit {done.returncode}):\n{done.stdout[-2000:]}"
            f"{done.stderr[-2000:]}"
        )
    return {
        "frames": int(found[1]),
        "faces": int(found[2]),
        "fps": float(found[3]),
        "resent": done.stderr.count("sent again"),
    }


def demo(files: ModelFiles, args: argparse.Namespace) -> dict[str, Any]:
    """Per model that can run here (TRG needs weights): core and demo frames/s and their
    ratio, on one generated clip of ``args.demo_frames`` frames."""
    models = ["facemesh"] + (["trg"] if files.weights.is_file() else [])
    device = args.device
    result: dict[str, Any] = {"frames": args.demo_frames}
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        write_clip(clip, args.demo_frames)
        frames = decode(clip)
        for model in models:
            print(f"demo against core pipeline: {model}, {len(frames)} frames", flush=True)
            core = core_rate(model, files, device, frames)
            run = demo_run(model, files, device, clip, Path(tmp) / model)
            result[model] = {"core_fps": core, **run, "ratio": run["fps"] / core}
    rows = []
    for m in models:
        r = result[m]
        rows.append([m, f"{r['core_fps']:.1f}", f"{r['fps']:.1f}", f"{r['ratio']:.2f}"])
        rows[-1] += [r["faces"], r["resent"]]
    print_table(
        f"Demo (--video, {args.demo_frames} frames of {WIDTH}x{HEIGHT}) against the core "
        "pipeline on the same frames, frames/s",
        ["model", "core", "demo", "demo/core", "faces", "resent"],
        rows,
    )
    return result
