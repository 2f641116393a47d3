"""``trg-ros bench``: the whole node against the bare TRG forward, measured in one run.

Every figure comes with its same-run baseline, and the goals (node latency against the bare
official-style TRG forward, detector and FaceMesh runtimes, message cost, behaviour under a
steady camera rate) are printed as measured ratios with their targets.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from trg_ros.core import assets
from trg_ros.core.camera import CameraModel
from trg_ros.core.device import resolve_device
from trg_ros.tools import bench_node
from trg_ros.tools.bench import measure, print_table, summary


def trg_forward_ms(files: assets.ModelFiles, device: str, repeats: int) -> dict[str, Any]:
    """Bare TRG at batch 1 (crop in, pose out): official-style (fp32, eager PyTorch) and as
    the node runs it."""
    from trg_ros.core.model.checkpoint import load_trg
    from trg_ros.core.model.estimator import EstimatorConfig, TRGEstimator
    from trg_ros.tools.accuracy import sweep_crops
    from trg_ros.tools.sources import sample_image

    net = load_trg(files.weights, files.sampled_vertices)
    kpt = np.load(files.landmark_vertices)
    crops, camera = sweep_crops(sample_image())
    out: dict[str, Any] = {}
    for name, config in (
        ("official-style fp32 eager", EstimatorConfig(device, optimise=False)),
        ("ours", EstimatorConfig(device)),
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


def facemesh_estimate_ms(files: assets.ModelFiles, device: str, repeats: int) -> float:
    """The bundled estimator's whole cost for one face: ROI, landmarks, metric pose."""
    from trg_ros.core.detect.blazeface import BlazeFace
    from trg_ros.core.estimate import FaceQuery
    from trg_ros.core.facemesh.estimator import FaceMeshEstimator
    from trg_ros.tools.sources import sample_image

    image = sample_image()
    found = BlazeFace(files.detector).detect(image)[0]
    camera = CameraModel(np.array([[600.0, 0, 256], [0, 600, 256], [0, 0, 1]]), 512, 512)
    estimator = FaceMeshEstimator.from_dir(files.data_dir, device)
    query = [FaceQuery(found.box, found.score, True, found.keypoints)]
    ms = summary(measure(lambda: estimator.estimate(image, query, camera), repeats), 1)["p50_ms"]
    print(f"FaceMesh estimator, one face (ROI, landmarks, metric pose): {ms:.2f} ms")
    return ms


def messages_ms(heads: list, repeats: int) -> dict[str, float]:
    """Everything published for one frame (heads, pose, TF, markers), built and serialised:
    ours against markers made of one geometry_msgs/Point per vertex (the usual way)."""
    from geometry_msgs.msg import Point
    from rclpy.serialization import serialize_message
    from std_msgs.msg import Header
    from tf2_msgs.msg import TFMessage

    from trg_ros.ros import messages

    header = Header(frame_id="cam")

    def common() -> None:
        serialize_message(messages.heads_msg(heads, header, True))
        serialize_message(messages.pose_stamped(heads[0], header))
        tfs = [t for h in heads for t in messages.transforms(h, header, "face_")]
        serialize_message(TFMessage(transforms=tfs))

    def ours() -> None:
        common()
        messages.markers_cdr(heads, [], header, "face_", None)

    def per_point() -> None:
        common()
        markers, points = messages.markers(heads, [], header, "face_", None)
        for m in markers.markers:
            pts = points.get((id(m), "points"))
            if pts is not None:
                m.points = [Point(x=x, y=y, z=z) for x, y, z in pts.tolist()]
        serialize_message(markers)

    n = len(heads)
    return {
        "ours_ms_per_face": summary(measure(ours, repeats), 1)["p50_ms"] / n,
        "point_objects_ms_per_face": summary(measure(per_point, repeats), 1)["p50_ms"] / n,
    }


def node_runs(files: assets.ModelFiles, args: argparse.Namespace) -> dict[str, Any]:
    """The node in its own process: TRG and FaceMesh frame by frame, then TRG at 30 and 60 Hz."""
    from trg_ros.tools.bench_runs import faces_frame

    bench_node.keep_local()
    rgb = faces_frame(1, 640, 480)
    camera = CameraModel(np.array([[640.0, 0, 320], [0, 640, 240], [0, 0, 1]]), 640, 480)
    msgs = bench_node.messages_for(rgb, camera)
    out: dict[str, Any] = {}
    for model in ("trg", "facemesh"):
        ns = f"/trg_ros_bench_{model}"
        params = {
            "model": model,
            "data_dir": files.data_dir,
            "weights": files.weights,
            "device": args.device,
            "smoothing": "false",
        }
        with tempfile.TemporaryDirectory() as tmp:
            proc = bench_node.start_node(ns, params, Path(tmp) / "node.log")
            cam = bench_node.Camera(ns)
            try:
                if not cam.ready():
                    raise RuntimeError(f"the {model} node did not come up")
                times = bench_node.frame_by_frame(cam, msgs, args.repeats)
                time.sleep(1.5)  # one more diagnostics message with these frames' stages
                diag = cam.diagnostics
                stages = {
                    s: float(diag.get(f"stage_{s}_p50_ms", "nan")) for s in bench_node.STAGES
                }
                entry: dict[str, Any] = {**summary(times, 1), "stages_p50_ms": stages}
                if model == "trg" and args.load_seconds > 0:
                    entry["load"] = [
                        bench_node.at_rate(cam, msgs, hz, args.load_seconds) for hz in (30, 60)
                    ]
                out[model] = entry
            finally:
                cam.close()
                bench_node.stop_node(proc)
    rows = []
    for model, e in out.items():
        stage_cells = [f"{e['stages_p50_ms'][s]:.1f}" for s in bench_node.STAGES]
        rows.append([model, f"{e['p50_ms']:.1f}", f"{e['p90_ms']:.1f}", *stage_cells])
    print_table(
        "Through the node over DDS (own process, 640x480, 1 face, frame by frame), ms",
        ["model", "p50", "p90", *bench_node.STAGES],
        rows,
    )
    for load in out.get("trg", {}).get("load", []):
        print(
            f"TRG at {load['hz']} Hz for {load['seconds']:g} s: {load['answered']} of "
            f"{load['sent']} frames answered ({load['answered_hz']:.1f}/s), p50 "
            f"{load['p50_ms']:.1f} ms (first sixth {load['first_sixth_p50_ms']:.1f}, last sixth "
            f"{load['last_sixth_p50_ms']:.1f})"
        )
    return out


def _tflite_goal(rows: list[dict[str, Any]], whole: str) -> tuple[float, str]:
    """litert's speed-up over the PyTorch conversion and a note; where litert did not run (no
    wheel, or not on the CPU), 1.0: the conversion is what runs."""
    row = next((r for r in rows if r["runtime"] == "litert"), None)
    if row is None:
        return 1.0, "litert did not run here: the PyTorch conversion runs"
    note = f"{row[whole + '_ms']:.2f} ms; network {row['net_speedup']:.2f}x at "
    return row["speedup"], note + f"{row['gflops']:.0f} GFLOP/s"


def goals(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the bench as (measured, target, met)."""
    base = r["trg_forward"]["official-style fp32 eager"]
    node = r["node"]["trg"]["p50_ms"]
    det = _tflite_goal([d for d in r["detector"] if d["size"] == "640x480"], "detect")
    fm = _tflite_goal([f for f in r["facemesh"] if f["faces"] == 1], "landmarks")
    msgs = max(m["ours_ms_per_face"] for m in r["messages"].values())
    fm_ms = r["facemesh_estimate_ms"]
    listed = [
        ("node image->pose p50 / bare TRG b1", node / base, 1.25, f"{node:.1f}/{base:.1f} ms"),
        ("BlazeFace speed-up vs PyTorch", det[0], 5.0, det[1]),
        ("FaceMesh landmarks speed-up vs PyTorch", fm[0], 5.0, fm[1]),
        ("FaceMesh estimator ms per face", fm_ms, 5.0, f"TRG b1 {base:.1f} ms"),
        ("messages ms per face (1 and 8 faces)", msgs, 0.5, ""),
    ]
    for load in r["node"]["trg"].get("load", []):
        if load["hz"] == 30:
            kept = load["answered_hz"] / 30.0
            grow = load["last_sixth_p50_ms"] / load["first_sixth_p50_ms"]
            listed.append(("30 Hz: share of frames answered (TRG)", kept, 0.95, ""))
            listed.append(("30 Hz: latency last / first sixth", grow, 1.2, ""))
        else:
            listed.append(("60 Hz: p50 / unloaded p50", load["p50_ms"] / node, 1.3, ""))
    out = []
    for name, value, target, note in listed:
        met = value >= target if "speed-up" in name or "share" in name else value <= target
        shown = f"{value:.2f}" + (f" ({note})" if note else "")
        out.append({"goal": name, "value": value, "measured": shown, "target": target, "met": met})
    return out


def run(files: assets.ModelFiles, args: argparse.Namespace) -> dict[str, Any]:
    from trg_ros.tools import bench_runs, bench_tflite

    device = str(resolve_device(args.device))
    result: dict[str, Any] = {"trg_forward": trg_forward_ms(files, device, args.repeats)}
    result["detector"] = bench_tflite.detector(files, args)["detector"]
    result["facemesh"] = bench_tflite.facemesh(files.data_dir, args.repeats, device, (1,))[
        "facemesh"
    ]
    result["facemesh_estimate_ms"] = facemesh_estimate_ms(files, device, args.repeats)
    pipe = bench_runs.pipeline(files, args)
    heads = pipe.pop("heads_by_faces")
    result["machine"], result["pipeline"] = pipe["machine"], pipe["rows"]
    result["messages"] = {n: messages_ms(h, args.repeats) for n, h in heads.items() if h}
    rows = [[n, f"{m['ours_ms_per_face']:.3f}", f"{m['point_objects_ms_per_face']:.3f}"]
            for n, m in result["messages"].items()]  # fmt: skip
    print_table(
        "Messages per face (heads, pose, TF, markers; built + serialised), ms",
        ["faces", "ours", "one Point per vertex"],
        rows,
    )
    result["node"] = node_runs(files, args)
    result["goals"] = goals(result)
    print_table(
        "Goals, measured in this run",
        ["goal", "measured", "target", "met"],
        [
            [g["goal"], g["measured"], g["target"], "yes" if g["met"] else "NO"]
            for g in result["goals"]
        ],
    )
    if args.plot:
        from trg_ros.tools.bench_plot import stage_bars

        stage_bars(result, args.plot)
        print(f"wrote {args.plot}")
    return result
