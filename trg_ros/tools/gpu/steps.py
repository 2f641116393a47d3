"""The checks of ``scripts/dev gpu-check``: :mod:`trg_ros.tools.gpu.check` runs each one in
its own process, under a time limit and with TF32 off, and collects what it returns.

Every step takes a :class:`Context` and returns a JSON-ready dict whose ``passed`` says
whether the check holds; :data:`SUMMARIES` turns a result into one line for people.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trg_ros.core.camera import CameraModel
from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.device import tf32
from trg_ros.core.model import fast
from trg_ros.core.model.checkpoint import load_trg
from trg_ros.core.model.config import TRGConfig
from trg_ros.core.model.estimator import TRGEstimator
from trg_ros.tools import parity
from trg_ros.tools.accuracy import pose_differences, precision_verdict, sweep_crops, within_bounds
from trg_ros.tools.bench import command, model, pipeline
from trg_ros.tools.bench.measure import summary
from trg_ros.tools.fixture import is_parity_fixture
from trg_ros.tools.sources import sample_image

BATCH_SIZES = (1, 8, 64)
NODE_WARMUP = 5  # frames before the node's latency counts (the first ones also set up the track)


@dataclass(frozen=True)
class Context:
    """What every step needs, written to JSON by the parent process.

    Attributes:
        device: ``cuda``, ``cuda:N``, or ``cpu`` for a rehearsal of the same code.
        reference: the parity fixture folder (``trg_parity_outputs.npz``), or None.
        model_dir: a folder laid out like the asset cache (data files, maybe the detector).
        weights: TRG state dict for the benches and the node.
        repeats: timed calls per measurement.
    """

    device: str
    reference: str | None
    model_dir: str
    weights: str
    repeats: int = 20

    def files(self) -> ModelFiles:
        return ModelFiles.in_dir(self.model_dir, self.weights)


def missing(step: str, ctx: Context) -> str | None:
    """Why ``step`` cannot run with ``ctx`` (a sentence), or None when it can."""
    if step == "parity":
        if ctx.reference is None:
            return "no parity fixture (pass --reference or set TRG_REFERENCE_DIR)"
        return None
    files = ctx.files()
    for path in (files.weights, files.sampled_vertices, files.landmark_vertices):
        if not path.is_file():
            return f"{path} is missing"
    if step in ("pipeline_bench", "node"):
        if not files.detector.is_file():
            return f"no face detector at {files.detector}: `trg-ros assets fetch --only detector`"
        for module in ("rclpy", "trg_ros.msg"):
            if importlib.util.find_spec(module) is None:
                return f"{module} is not importable (ROS 2 and our messages: `scripts/dev setup`)"
    return None


def run_parity(ctx: Context) -> dict[str, Any]:
    """Eager float32 TRG on the fixture's cases against the official outputs (every output
    and intermediate, the parity tests' bounds), and the folded fast copy's final outputs."""
    device = torch.device(ctx.device)
    reference = Path(str(ctx.reference))
    ref = parity.load_outputs(reference)
    kpt = np.load(reference / "upstream/npy__kpt_ind.npy")
    model = parity.fixture_model(reference, device)
    cases = {}
    for case in parity.CASES:
        diffs = parity.case_differences(model, ref, case, kpt)
        worst = max(diffs, key=lambda k: diffs[k] / parity.tolerance(k))
        cases[case] = {
            "outputs": len(diffs),
            "worst_output": worst,
            "worst_diff": diffs[worst],
            "worst_tolerance": parity.tolerance(worst),
            "within": all(d <= parity.tolerance(k) for k, d in diffs.items()),
        }
    folded, _ = fast.optimise(model, device, "fp32")
    fast_final = {c: parity.final_differences(folded, ref, c, True) for c in parity.CASES}
    fast_max = max(max(d.values()) for d in fast_final.values())
    result: dict[str, Any] = {
        "cases": cases,
        "fast_final_max_diff": fast_max,
        "passed": all(c["within"] for c in cases.values()) and fast_max <= parity.TOL,
    }
    if device.type == "cuda":  # recorded, not judged: what the node gets without gpu-check
        with tf32(cudnn=True):
            default = [parity.final_differences(model, ref, c) for c in parity.CASES]
        result["pytorch_default_tf32_final_max_diff"] = max(max(d.values()) for d in default)
    return result


def run_precision(ctx: Context) -> dict[str, Any]:
    """fp32-fast and fp16 against fp32 eager on the 27 real-face crops of
    :func:`trg_ros.tools.accuracy.sweep_crops`: pose differences and the fp16 verdict."""
    files = ctx.files()
    net = load_trg(files.weights, files.sampled_vertices)
    kpt = np.load(files.landmark_vertices)
    random_weights = is_parity_fixture(net)
    crops, camera = sweep_crops(sample_image())
    eager = TRGEstimator(net, kpt, TRGConfig(ctx.device, optimise=False))
    reference = eager.run_crops(crops, camera)
    modes = {
        "fp32-fast": TRGConfig(ctx.device),
        "fp16": TRGConfig(ctx.device, precision="fp16"),
    }
    result: dict[str, Any] = {"crops": len(crops), "random_weights": random_weights}
    for name, config in modes.items():
        est = TRGEstimator(net, kpt, config)
        heads = est.run_crops(crops, camera)
        diff = pose_differences(heads, reference)
        result[name] = {
            **diff,
            "precision_used": est.precision,
            "finite": all(h.is_finite() for h in heads),
            "within_bounds": within_bounds(diff),
        }
    result["fp16_verdict"] = precision_verdict("fp16", result["fp16"], random_weights)
    print(result["fp16_verdict"])
    fp32_fast, fp16 = result["fp32-fast"], result["fp16"]
    result["passed"] = fp32_fast["within_bounds"] and fp32_fast["finite"] and fp16["finite"]
    return result


def bench_args(ctx: Context, *extra: str) -> argparse.Namespace:
    """The arguments ``trg-ros bench`` would parse, so the benches see every option."""
    parser = argparse.ArgumentParser(prog="trg-ros")
    command.add_parser(parser.add_subparsers())
    argv = ["bench", "--device", ctx.device, "--repeats", str(ctx.repeats)]
    argv += ["--data-dir", ctx.model_dir, "--weights", ctx.weights, *extra]
    return parser.parse_args(argv)


def run_model_bench(ctx: Context) -> dict[str, Any]:
    """``trg-ros bench --model-only`` at batch 1/8/64 (fp32 eager, fp32 fast, fp16 on CUDA)."""
    sizes = [str(b) for b in BATCH_SIZES]
    args = bench_args(ctx, "--model-only", "--batch-sizes", *sizes)
    return {**model.model(ctx.files(), args), "passed": True}


def run_pipeline_bench(ctx: Context) -> dict[str, Any]:
    """The core pipeline per stage, baseline against ours (the node runs in ``run_node``)."""
    result = pipeline.pipeline(ctx.files(), bench_args(ctx))
    result.pop("heads_by_faces")  # Head objects, not JSON
    return {**result, "passed": True}


def run_node(ctx: Context) -> dict[str, Any]:
    """The lifecycle node configured with this device, fed the astronaut frame by frame over
    DDS: it must answer every frame with one finite pose; image -> heads latency."""
    from rclpy.parameter import Parameter

    from trg_ros.tools.demo.player import Player, offline_parameters

    files = ctx.files()
    image = sample_image()
    h, w = image.shape[:2]
    camera = CameraModel(np.array([[600.0, 0, w / 2], [0, 600.0, h / 2], [0, 0, 1]]), w, h)
    player = Player(
        [
            Parameter("model", value="trg"),
            Parameter("data_dir", value=str(files.data_dir)),
            Parameter("weights", value=str(files.weights)),
            Parameter("device", value=ctx.device),
            Parameter("smoothing", value=False),
            *offline_parameters(),  # reliable, every frame: none is lost on the way
        ],
        offline=True,
    )
    times, faces, finite = [], [], []
    try:
        estimator = player.start()
        detector = player.node.pipeline.detector  # type: ignore[union-attr]
        where = {"estimator_device": str(estimator.device)}
        where |= {"detector_device": str(detector.net.device), "detector": detector.net.runtime}
        start = time.time()
        player.prime(camera, start)  # the first image must not come before its CameraInfo
        for i in range(ctx.repeats + NODE_WARMUP):
            t0 = time.perf_counter()
            answer = player.wait(player.publish(image, camera, start + i / 30.0), 30.0)
            elapsed = time.perf_counter() - t0
            heads = [] if answer is None else list(answer[0].heads)
            faces.append(len(heads))
            p = [x.pose.position for x in heads]
            finite.append(all(np.isfinite([q.x, q.y, q.z]).all() for q in p))
            if i >= NODE_WARMUP:
                times.append(elapsed)
    finally:
        player.close()
    wanted = torch.device(ctx.device).type
    result: dict[str, Any] = {"frames": len(faces), "faces_per_frame": faces, **where}
    result |= summary(np.array(times), 1)
    result["passed"] = (
        all(n == 1 for n in faces)
        and all(finite)
        and torch.device(where["estimator_device"]).type == wanted
    )
    return result


def _model_line(r: dict[str, Any]) -> str:
    rates: dict[str, list[str]] = {}
    for row in r.get("model", []):
        rates.setdefault(row["mode"], []).append(f"b{row['batch']} {row['per_s']:.0f}/s")
    return "; ".join(f"{mode}: {', '.join(v)}" for mode, v in rates.items())


def _pipeline_line(r: dict[str, Any]) -> str:
    rows = [x for x in r.get("pipeline", []) if x.get("variant") == "ours"]
    parts = [f"{x['size']} {x['faces']} face(s) {x['total_p50_ms']:.1f} ms" for x in rows[:4]]
    parts += [
        f"node {x['faces']} face(s) p50 {x['p50_ms']:.1f} ms"
        for x in r.get("node", [])
        if "p50_ms" in x
    ]
    return "; ".join(parts) or "see the JSON"


def _parity_line(r: dict[str, Any]) -> str:
    cases = [
        f"{c} worst {v['worst_output']} {v['worst_diff']:.1e} (bound {v['worst_tolerance']:g})"
        for c, v in r["cases"].items()
    ]
    line = "; ".join(cases) + f"; folded fast {r['fast_final_max_diff']:.1e}"
    if "pytorch_default_tf32_final_max_diff" in r:
        line += f"; with PyTorch's TF32 default {r['pytorch_default_tf32_final_max_diff']:.1e}"
    return line


def _precision_line(r: dict[str, Any]) -> str:
    def diff(m: dict[str, Any]) -> str:
        return (
            f"{m['rotation_deg']:.3f} deg / {m['translation_mm']:.3f} mm / "
            f"{m['vertices_mm']:.3f} mm ({m['precision_used']})"
        )

    return f"fp32-fast {diff(r['fp32-fast'])}; fp16 {diff(r['fp16'])} vs fp32 eager"


def _node_line(r: dict[str, Any]) -> str:
    return (
        f"{r['frames']} frames on {r['estimator_device']} (detector {r['detector']} on "
        f"{r['detector_device']}): p50 {r['p50_ms']:.1f} ms, p90 {r['p90_ms']:.1f} ms"
    )


STEPS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "parity": run_parity,
    "precision": run_precision,
    "model_bench": run_model_bench,
    "pipeline_bench": run_pipeline_bench,
    "node": run_node,
}
SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "parity": _parity_line,
    "precision": _precision_line,
    "model_bench": _model_line,
    "pipeline_bench": _pipeline_line,
    "node": _node_line,
}
