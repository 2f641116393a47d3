"""``trg-ros bench --signals`` as a user runs it: the signals' cost per face printed beside
the FaceMesh estimator's, measured in the same run, and written as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_signals_prints_the_cost_with_its_baseline(
    facemesh_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "signals.json"
    done = subprocess.run(
        [sys.executable, "-m", "trg_ros.cli", "bench", "--signals", "--data-dir",
         str(facemesh_model_dir), "--repeats", "3", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Driver-monitoring signals, one face" in done.stdout
    result = json.loads(out.read_text())
    assert 0 < result["signals_ms"] < result["estimator_ms"] < result["trg_extra_ms"] * 3
    assert result["blendshapes_runtime"] == "litert" and result["blendshapes_ms"] > 0
    ratio = result["landmarker_ms"] / result["estimator_ms"]
    assert result["trg_extra_ratio"] == ratio and 0.2 < ratio < 3.0
