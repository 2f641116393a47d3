"""``python -m trg_ros.tools.gpu.check`` on this CPU machine: the no-CUDA answer for real, a CPU
rehearsal of the parity and precision steps in their own processes, limits and skips."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from trg_ros.tools.accuracy import PRECISION_BOUNDS
from trg_ros.tools.gpu import check as gpu_check
from trg_ros.tools.gpu.steps import Context, missing

REPO = Path(__file__).resolve().parents[2]


def gpu_check_cli(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trg_ros.tools.gpu.check", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_cuda_it_says_so_and_exits_0(tmp_path: Path) -> None:
    """Also on a CUDA machine: the check's process is shown no device."""
    out = tmp_path / "report.json"
    done = gpu_check_cli("--out", str(out), env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[0] == gpu_check.NO_CUDA, done.stdout
    report = json.loads(out.read_text())
    assert report["cuda"] is False and report["message"] == gpu_check.NO_CUDA
    assert report["steps"] == {}
    assert report["environment"]["torch"] == torch.__version__
    assert report["environment"]["torch_cuda"] == torch.version.cuda


@pytest.mark.slow
def test_cpu_rehearsal_of_parity_and_precision(
    tmp_path: Path, reference: Path, parity_outputs: dict[str, np.ndarray]
) -> None:
    """The CUDA code path with device cpu: each step in its own process, the data files and
    the random weights taken from the parity fixture when the asset folder has none."""
    out, no_assets = tmp_path / "report.json", tmp_path / "no_assets"
    no_assets.mkdir()
    done = gpu_check_cli(
        *("--device", "cpu", "--steps", "parity", "precision", "--out", str(out)),
        *("--reference", str(reference), "--data-dir", str(no_assets)),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["rehearsal"] is True and report["tf32"] is False
    assert report["weights"].startswith("parity fixture (random weights")
    assert list(report["steps"]) == ["parity", "precision"]
    for name, step in report["steps"].items():
        assert step["status"] == "ok", step
        assert step["limit_s"] == gpu_check.LIMITS_S[name]
        assert f"[gpu-check] {name}: ok in" in done.stdout
    assert "every step passed" in done.stdout

    parity = report["steps"]["parity"]["result"]
    for case in ("c1", "c2"):
        found = parity["cases"][case]
        official = [k for k in parity_outputs if k.startswith(case + "_") and "_in_" not in k]
        assert found["outputs"] == len(official), found
        assert found["within"] and found["worst_diff"] <= found["worst_tolerance"], found
    assert parity["fast_final_max_diff"] <= 1e-4, parity

    precision = report["steps"]["precision"]["result"]
    assert precision["crops"] == 27 and precision["random_weights"] is True
    fast = precision["fp32-fast"]
    assert fast["precision_used"] == "fp32" and fast["finite"], fast
    for key, bound in PRECISION_BOUNDS.items():
        assert fast[key] <= bound, fast
    assert precision["fp16"]["precision_used"] == "fp32", precision  # fp16 needs CUDA
    assert "cannot be judged with the random parity-fixture weights" in precision["fp16_verdict"]


def test_spent_budget_skips_every_step_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    assert gpu_check.main(["--device", "cpu", "--budget", "0", "--out", str(out)]) == 1
    steps = json.loads(out.read_text())["steps"]
    assert list(steps) == ["parity", "precision", "model_bench", "pipeline_bench", "node"]
    for step in steps.values():
        assert step == {"status": "skipped", "note": "time budget spent (0 s of 0 s left)"}
    assert "NOT every step passed" in capsys.readouterr().out


def test_a_step_past_its_limit_is_stopped(tmp_path: Path) -> None:
    hang = [sys.executable, "-c", "import time; time.sleep(120)"]
    outcome = gpu_check.run_child(hang, 2.0, tmp_path / "never.json")
    assert outcome["status"] == "timeout", outcome
    assert outcome["note"] == "stopped at its 2 s limit"


def test_a_failing_step_reports_its_error(tmp_path: Path) -> None:
    """The real child process, given a parity fixture folder that does not exist."""
    context = tmp_path / "context.json"
    ctx = Context("cpu", str(tmp_path / "nowhere"), str(tmp_path), str(tmp_path / "w.bin"))
    context.write_text(json.dumps(ctx.__dict__))
    result = tmp_path / "parity.json"
    command = [sys.executable, "-m", "trg_ros.tools.gpu.check", "--step", "parity"]
    command += ["--context", str(context), "--result", str(result)]
    outcome = gpu_check.run_child(command, 120.0, result)
    assert outcome["status"] == "failed", outcome
    assert outcome["error"].startswith("FileNotFoundError: ") and "nowhere" in outcome["error"]


def test_missing_prerequisites_are_named(tmp_path: Path) -> None:
    ctx = Context("cpu", None, str(tmp_path), str(tmp_path / "w.bin"))
    assert "--reference" in str(missing("parity", ctx))
    assert str(tmp_path / "w.bin") in str(missing("precision", ctx))
    files = ctx.files()
    for path in (files.weights, files.sampled_vertices, files.landmark_vertices):
        path.touch()
    assert missing("precision", ctx) is None and missing("model_bench", ctx) is None
    assert "no face detector" in str(missing("node", ctx))
    files.detector.touch()
    assert missing("pipeline_bench", ctx) is None  # rclpy and our messages are in the venv
