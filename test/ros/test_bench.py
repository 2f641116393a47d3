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


def test_bench_prints_every_goal_as_a_measured_ratio(
    facemesh_model_dir: Path, tmp_path: Path
) -> None:
    out_json, out_png = tmp_path / "bench.json", tmp_path / "bench.png"
    done = subprocess.run(
        [sys.executable, "-m", "trg_ros.cli", "bench", "--data-dir", str(facemesh_model_dir),
         "--device", "cpu", "--repeats", "3", "--load-seconds", "3", "--startup-runs", "1",
         "--json", str(out_json), "--plot", str(out_png)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out_json.read_text())
    goals = {g["goal"]: g for g in result["goals"]}
    assert len(goals) == 10, sorted(goals)
    for goal in goals.values():
        assert goal["value"] > 0 and isinstance(goal["met"], bool), goal
        assert goal["goal"] in done.stdout
    for model in ("trg", "facemesh"):
        node = result["node"][model]
        assert node["p50_ms"] > 0 and node["stages_p50_ms"]["estimate"] > 0, node
    assert [load["hz"] for load in result["node"]["trg"]["load"]] == [30, 60]
    picture = cv2.imread(str(out_png))
    assert picture is not None and picture.shape[1] == 1100
