"""``trg-ros bench --startup``: fresh node processes timed from spawn to 'active' over the
lifecycle state service, the first with an empty cache (TRG measures its runtime there), the
others reusing it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ros, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def test_startup_bench_times_cold_and_warm_starts(
    facemesh_model_dir: Path, tmp_path: Path
) -> None:
    out_json = tmp_path / "startup.json"
    done = subprocess.run(
        [sys.executable, "-m", "trg_ros.cli", "bench", "--startup", "--startup-runs", "2",
         "--data-dir", str(facemesh_model_dir), "--json", str(out_json)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out_json.read_text())
    assert result["runs"] == 2
    for model in ("trg", "facemesh"):
        e = result[model]
        assert len(e["runs_s"]) == 2 and e["cold_s"] > 0, e
        assert e["min_s"] == min(e["runs_s"]) and e["max_s"] == max(e["runs_s"]), e
        assert e["median_s"] == pytest.approx(sum(e["runs_s"]) / 2), e
        rows = [line.split() for line in done.stdout.splitlines()]
        row = next(r for r in rows if r[:1] == [model])  # model, median, range, cold, goal
        assert row[1] == f"{e['median_s']:.2f}" and row[3] == f"{e['cold_s']:.2f}", row
    # The cold TRG start measured its runtime into the empty cache; every later start read it.
    assert result["trg"]["cold_runtime"] == "measured"
    assert result["trg"]["warm_runtimes"] == ["cached", "cached"]
    split = "onnxruntime up to 2 faces, else torch"
    assert result["trg"]["runs_with"] in ("onnxruntime", "torch", split), result["trg"]
    assert result["facemesh"]["runs_with"] in ("litert", "torch"), result["facemesh"]
    assert "spawn -> 'active' over the lifecycle state service" in done.stdout
