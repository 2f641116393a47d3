"""``scripts/dev gpu-check``: is this CUDA machine ready for trg_ros? One command, one JSON.

With TF32 off, each step in its own process under its own time limit (all of them within
:data:`BUDGET_S`, under the 8 minutes issue 12 allows): TRG's float32 parity on the fixture,
fp32-fast and fp16 against fp32 on 27 real-face crops, the model bench at batch 1/8/64, the
pipeline bench, and the node with ``device:=cuda``. A step that hangs is stopped at its limit;
when the budget runs out the remaining steps are skipped with a note. Without CUDA it says so
and exits 0. ``--device cpu`` rehearses the same steps on the CPU (the tests use it; its
figures are CPU figures)::

    python -m trg_ros.tools.gpu.check --out gpu_check.json

Exit code: 0 when every step passed (or there is no CUDA), 1 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.device import tf32
from trg_ros.tools.fixture import parity_state_dict
from trg_ros.tools.gpu import steps

NO_CUDA = "no CUDA device: nothing to check (torch.cuda.is_available() is False)"
BUDGET_S = 450.0  # all steps; start-up, set-up and the summary fit in the rest of 8 minutes
# Per step, set by estimate with room to spare: no CUDA run has measured them yet (README, GPU)
LIMITS_S = {"parity": 45, "precision": 45, "model_bench": 120, "pipeline_bench": 150, "node": 60}
MIN_STEP_S = 10.0  # a step with less time left than this is skipped, not started
FIXTURE_WEIGHTS = "parity_fixture_state_dict.bin"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def default_reference() -> Path | None:
    """The parity fixture: ``$TRG_REFERENCE_DIR``, else ``shared/trg_reference`` inside or
    beside the checkout; None when none of them holds it."""
    env = os.environ.get("TRG_REFERENCE_DIR")
    candidates = [Path(env)] if env else []
    candidates += [
        PACKAGE_ROOT / "shared/trg_reference",
        PACKAGE_ROOT.parent / "shared/trg_reference",
    ]
    return next((c for c in candidates if (c / "trg_parity_outputs.npz").is_file()), None)


def driver_version() -> str | None:
    """The NVIDIA driver's version from ``nvidia-smi`` (torch does not report it), or None."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        done = subprocess.run(
            [smi, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.split()
    return lines[0] if lines else None


def environment(device: torch.device) -> dict[str, Any]:
    """Versions and the card: what the figures of a report belong to."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,  # CUDA runtime torch was built with; None: CPU build
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
    }
    if device.type == "cuda" and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(device)
        info["gpu"] = torch.cuda.get_device_name(device)
        info["compute_capability"] = f"{props.major}.{props.minor}"
        info["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        info["driver"] = driver_version()
    return info


def prepare(
    work: Path,
    data_dir: Path | None,
    weights: Path | None,
    reference: Path | None,
    device: str,
    repeats: int,
) -> steps.Context:
    """A folder laid out like the asset cache, linking each data file from ``data_dir`` (default:
    the cache) where it is, else from the parity fixture; the detector only from ``data_dir``.
    Benches use ``weights``, else the cache's checkpoint, else the fixture's random weights."""
    source = ModelFiles.in_dir(data_dir)
    target = ModelFiles.in_dir(work / "assets")
    target.data_dir.mkdir(parents=True)
    fixture = {}
    if reference is not None:
        fixture = {
            target.sampled_vertices: reference / "converted/arkit_subsample__1220_to_305.npy",
            target.triangles: reference / "upstream/data__triangles.npy",
            target.landmark_vertices: reference / "upstream/npy__kpt_ind.npy",
        }
    for name in ("sampled_vertices", "triangles", "landmark_vertices", "detector"):
        src, dst = getattr(source, name), getattr(target, name)
        pairs = [(src, dst)]
        if name == "detector":  # litert reads the .tflite beside the conversion
            pairs.append((src.with_suffix(".tflite"), dst.with_suffix(".tflite")))
        for a, b in pairs:
            found = a if a.is_file() else fixture.get(b)
            if found is not None and found.is_file():
                b.symlink_to(found.resolve())
    if weights is None and source.weights.is_file():
        weights = source.weights
    if weights is None and reference is not None:
        weights = work / FIXTURE_WEIGHTS
        torch.save(parity_state_dict(reference), weights)
    return steps.Context(
        device,
        None if reference is None else str(reference),
        str(target.data_dir),
        str(weights or source.weights),
        repeats,
    )


def run_child(command: list[str], limit: float, result: Path) -> dict[str, Any]:
    """Run one step's process for at most ``limit`` s; its outcome as the report records it."""
    env = dict(os.environ)  # the child imports this same trg_ros
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    t0 = time.monotonic()
    try:
        done = subprocess.run(command, timeout=limit, env=env, check=False)
    except subprocess.TimeoutExpired:
        note = f"stopped at its {limit:.0f} s limit"
        return {
            "status": "timeout",
            "seconds": time.monotonic() - t0,
            "limit_s": limit,
            "note": note,
        }
    outcome: dict[str, Any] = {"seconds": time.monotonic() - t0, "limit_s": limit}
    data = json.loads(result.read_text()) if result.is_file() else {}
    if done.returncode != 0 or "error" in data:
        error = data.get("error") or f"exit code {done.returncode}"
        return {"status": "failed", **outcome, "error": error}
    passed = bool(data.pop("passed", False))
    return {"status": "ok" if passed else "failed", **outcome, "result": data}


def run_step(step: str, context: Path, result: Path) -> int:
    """The child's side: one step with TF32 off; its result (or error) goes to ``result``."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    ctx = steps.Context(**json.loads(context.read_text()))
    try:
        with tf32():
            out = steps.STEPS[step](ctx)
    except Exception as e:
        result.write_text(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        raise
    result.write_text(json.dumps(out, default=_plain))
    return 0


def _plain(value: object) -> object:
    if hasattr(value, "item"):  # numpy and torch scalars
        return value.item()  # type: ignore[attr-defined]
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def run(args: argparse.Namespace) -> int:
    """The whole check; writes ``args.out`` and returns the exit code."""
    device = torch.device(args.device)
    report: dict[str, Any] = {
        "tool": "trg_ros gpu-check",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": str(device),
        "environment": environment(device),
    }
    if device.type == "cuda" and not torch.cuda.is_available():
        print(NO_CUDA)
        if torch.version.cuda is None:
            print(f"(torch {torch.__version__} is a CPU-only build)")
        write(args.out, {**report, "cuda": False, "message": NO_CUDA, "steps": {}})
        return 0
    report |= {"cuda": torch.cuda.is_available(), "rehearsal": device.type == "cpu"}
    report |= {"tf32": False, "budget_s": args.budget, "steps": {}}
    if device.type == "cpu":
        print("[gpu-check] rehearsal on the CPU: the same steps, CPU figures")
    start = time.monotonic()
    ctx = None
    with tempfile.TemporaryDirectory(prefix="trg_gpu_check_") as tmp:
        work = Path(tmp)
        for name in args.steps:
            left = args.budget - (time.monotonic() - start)
            limit = min(LIMITS_S[name], left)
            if limit < MIN_STEP_S:
                note = f"time budget spent ({max(left, 0):.0f} s of {args.budget:.0f} s left)"
                outcome: dict[str, Any] = {"status": "skipped", "note": note}
            else:
                if ctx is None:
                    reference = args.reference or default_reference()
                    ctx = prepare(
                        work, args.data_dir, args.weights, reference, str(device), args.repeats
                    )
                    (work / "context.json").write_text(json.dumps(dataclasses.asdict(ctx)))
                    report["weights"] = _weights_name(ctx, work)
                reason = steps.missing(name, ctx)
                if reason:
                    outcome = {"status": "skipped", "note": reason}
                else:
                    print(f"[gpu-check] {name}: up to {limit:.0f} s", flush=True)
                    command = [sys.executable, "-m", "trg_ros.tools.gpu.check", "--step", name]
                    command += ["--context", str(work / "context.json")]
                    command += ["--result", str(work / f"{name}.json")]
                    outcome = run_child(command, limit, work / f"{name}.json")
            report["steps"][name] = outcome
            used = time.monotonic() - start
            took = f" in {outcome['seconds']:.1f} s" if "seconds" in outcome else ""
            print(
                f"[gpu-check] {name}: {outcome['status']}{took} "
                f"({used:.0f} of {args.budget:.0f} s used)",
                flush=True,
            )
    report["elapsed_s"] = time.monotonic() - start
    write(args.out, report)
    ok = all(s["status"] == "ok" for s in report["steps"].values())
    print_summary(report, args.out, ok)
    return 0 if ok else 1


def _weights_name(ctx: steps.Context, work: Path) -> str:
    if Path(ctx.weights) == work / FIXTURE_WEIGHTS:
        return "parity fixture (random weights: accuracy costs cannot be judged)"
    return ctx.weights


def write(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=_plain) + "\n")


def print_summary(report: dict[str, Any], out: Path, ok: bool) -> None:
    env = report["environment"]
    versions = {"driver": env.get("driver"), "CUDA": env["torch_cuda"], "cuDNN": env["cudnn"]}
    versions["torch"] = env["torch"]
    known = ", ".join(f"{k} {v}" for k, v in versions.items() if v is not None)
    weights = f", weights: {report['weights']}" if "weights" in report else ""
    print(f"\ngpu-check on {env.get('gpu', report['device'])} ({known}), TF32 off{weights}")
    for name, step in report["steps"].items():
        if step["status"] == "ok":
            try:
                detail = steps.SUMMARIES[name](step["result"])
            except (KeyError, TypeError):  # a bench whose rows changed shape: the JSON has it
                detail = "see the JSON"
        else:
            detail = step.get("error") or step.get("note", "")
        print(f"  {name:<15} {step['status']:<8} {detail}")
    verdict = "every step passed" if ok else "NOT every step passed"
    print(f"{verdict} in {report['elapsed_s']:.0f} s; wrote {out}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m trg_ros.tools.gpu.check",
        description="CUDA readiness of trg_ros in one command (see the module docstring).",
    )
    p.add_argument("--out", type=Path, default=Path("gpu_check.json"), help="the JSON report")
    p.add_argument("--device", default="cuda", help="cuda or cuda:N; cpu: rehearse on the CPU")
    names = list(steps.STEPS)
    p.add_argument("--steps", nargs="+", choices=names, default=names, help="which, in order")
    p.add_argument("--budget", type=float, default=BUDGET_S, help="seconds for all steps")
    p.add_argument("--repeats", type=int, default=20, help="timed calls per measurement")
    p.add_argument("--reference", type=Path, help="parity fixture (default: shared/)")
    p.add_argument("--data-dir", type=Path, help="asset folder (default: the cache)")
    p.add_argument(
        "--weights",
        type=Path,
        help="TRG state dict for the benches and the node (default: the cache's checkpoint, "
        "else the parity fixture's random weights)",
    )
    for hidden in ("--step", "--context", "--result"):  # the parent starts each step with these
        p.add_argument(hidden, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    try:
        kind = torch.device(args.device).type
    except RuntimeError:
        kind = ""
    if kind not in ("cuda", "cpu"):
        p.error(f"--device {args.device!r}: use cuda, cuda:N or cpu")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.step:
        return run_step(args.step, Path(args.context), Path(args.result))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
