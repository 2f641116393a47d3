"""``trg-ros bench`` as a user runs it: every goal measured, printed with its target, JSON and
the per-stage picture written (a short run: the figures themselves are for the README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

pytestmark = [pytest.mark.ros, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
# Where each figure of a short run (3 repeats, 3 s per camera rate) can lie on this machine
# kind, loaded or not; outside, the bench measures something else than it says.
PLAUSIBLE = {
    # The node runs the same TRG (onnxruntime: up to 2x faster than the eager baseline) plus
    # detection and DDS: neither 5x faster than the bare forward nor 3x slower.
    "node image->pose p50 / bare TRG b1": (0.2, 3.0),
    # litert measured 4-6x faster than the PyTorch conversions; below 1.5x it did not run.
    "BlazeFace speed-up vs PyTorch": (1.5, 50.0),
    "FaceMesh landmarks speed-up vs PyTorch": (1.5, 50.0),
    # 2-5 ms measured; a network call cannot take under 0.3 ms nor (unloaded) 50 ms.
    "FaceMesh estimator ms per face": (0.3, 50.0),
    # 0.2-0.6 ms measured; one geometry_msgs/Point per vertex took 1.6-4.1 ms.
    "messages ms per face (1 and 8 faces)": (0.01, 5.0),
    # 0.24 ms measured for one face (roi and landmarks subscribed); the goal is 0.5 ms.
    "ROS4HRI topics ms per frame, 1 face": (0.01, 10.0),
    # A 3 s run at 30 Hz with TRG at 20-60 ms a frame answers between a third and all frames.
    "30 Hz: share of frames answered (TRG)": (0.3, 1.0),
    # Latest-frame hand-off: the latency keeps its level (a queue would grow it by seconds).
    "30 Hz: latency last / first sixth": (0.2, 5.0),
    "60 Hz: p50 / unloaded p50": (0.3, 5.0),
    # 1-3 s measured warm (the run's first start, cold, is reported apart); a start can neither
    # be instant (rclpy, the networks) nor take half a minute without a regression.
    "start -> active s, TRG on the CPU": (0.5, 30.0),
    "start -> active s, FaceMesh on the CPU": (0.3, 30.0),
    # The demo cannot outrun the pipeline it runs by much (same work plus transport and
    # drawing; short runs are noisy) nor fall to a tenth of it without a stall (the 2 s
    # resend it had before measured 0.07).
    "demo / core frames/s, TRG": (0.15, 1.5),
    "demo / core frames/s, FaceMesh": (0.1, 1.5),
    # The signals cost something and less than a landmark network; the TRG path's extra
    # landmarker runs the same network as the estimator, without its metric pose.
    "signals ms per face on FaceMesh's landmarks (CPU)": (0.05, 10.0),
    "signals with TRG: extra landmarker / FaceMesh estimator": (0.3, 2.0),
    # Serving one browser costs something (JPEG, the scene's messages) but neither nothing nor
    # most of a core (the goal is 10 %); short runs beside the rest of the bench are noisy.
    "view CPU % of a core, 1 face at 15 Hz, 1 browser": (0.1, 60.0),
}


def test_bench_prints_every_goal_as_a_measured_ratio(
    facemesh_model_dir: Path, tmp_path: Path
) -> None:
    out_json, out_png = tmp_path / "bench.json", tmp_path / "bench.png"
    done = subprocess.run(
        [sys.executable, "-m", "trg_ros.cli", "bench", "--data-dir", str(facemesh_model_dir),
         "--device", "cpu", "--repeats", "3", "--load-seconds", "3", "--startup-runs", "1",
         "--demo-frames", "30", "--view-seconds", "5",
         "--json", str(out_json), "--plot", str(out_png)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out_json.read_text())
    goals = {g["goal"]: g for g in result["goals"]}
    assert set(goals) == set(PLAUSIBLE), sorted(goals)
    for name, goal in goals.items():
        lo, hi = PLAUSIBLE[name]
        assert lo <= goal["value"] <= hi, (name, goal)
        assert isinstance(goal["met"], bool) and name in done.stdout
    for model in ("trg", "facemesh"):
        node = result["node"][model]
        assert node["p50_ms"] > 0 and node["stages_p50_ms"]["estimate"] > 0, node
    assert [load["hz"] for load in result["node"]["trg"]["load"]] == [30, 60]
    for model in ("trg", "facemesh"):  # every frame of the clip answered, none sent again
        demo = result["demo"][model]
        assert demo["frames"] == 30 and demo["faces"] >= 27 and demo["resent"] == 0, demo
    picture = cv2.imread(str(out_png))
    assert picture is not None and picture.shape[1] == 1100
