"""TRG's CPU runtime is decided once and kept in $TRG_ROS_HOME: the key, the reuse, damaged and
stale entries, and a cache folder that cannot be written."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.model import cache as cache_module
from trg_ros.core.model import onnx, runtime
from trg_ros.core.model.cache import RuntimeCache, RuntimeKey, cpu_model
from trg_ros.core.model.checkpoint import load_trg
from trg_ros.core.model.config import TRGConfig
from trg_ros.core.model.estimator import TRGEstimator

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(model_dir: Path) -> ModelFiles:
    return ModelFiles.in_dir(model_dir)


@pytest.fixture(scope="module")
def net(files: ModelFiles):
    return load_trg(files.weights, files.sampled_vertices)


class Counted:
    """Wraps a function of a module and counts its calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
        self.real, self.calls = getattr(module, name), 0
        monkeypatch.setattr(module, name, self)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.real(*args, **kwargs)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty $TRG_ROS_HOME, and a short measurement (one round, no warm-up)."""
    monkeypatch.setenv("TRG_ROS_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(runtime, "ROUNDS", 1)
    monkeypatch.setattr(runtime, "WARMUP", 0)
    return tmp_path / "home"


def build(net, files: ModelFiles) -> TRGEstimator:
    loaded_from = (files.weights, files.sampled_vertices)
    return TRGEstimator(net, np.arange(68), TRGConfig("cpu"), loaded_from=loaded_from)


def official(est: TRGEstimator, parity_outputs) -> float:
    """Largest rotation difference from the official outputs on the two-crop case."""
    bbox = parity_outputs["c2_in_bbox_info"]
    centre = np.stack([bbox[:, 6] / 2, bbox[:, 5] / 2], 1).astype(np.float32)
    rotation, _, _ = est.runner(
        parity_outputs["c2_in_img"], parity_outputs["c2_in_K_crop"], bbox, centre
    )
    return float(np.abs(rotation - parity_outputs["c2_final_R"]).max())


def test_the_key_changes_with_each_of_its_inputs() -> None:
    key = RuntimeKey("w", "c", "2.13", "1.18", "1.22", "EPYC [ab]", 2)
    changed = {"weights": "w2", "code": "c2", "torch": "2.14", "onnx": "1.19",
               "onnxruntime": "1.23", "cpu": "Xeon [cd]", "threads": 4}  # fmt: skip
    assert set(changed) == {f.name for f in dataclasses.fields(RuntimeKey)}
    for name, value in changed.items():
        other = dataclasses.replace(key, **{name: value})
        assert other.decision_id != key.decision_id, name
        # the exported graph does not depend on onnxruntime, the CPU or the threads
        assert (other.graph_id != key.graph_id) == (name in RuntimeKey.GRAPH_FIELDS), name


def test_the_key_names_this_checkpoint_and_machine(net, files: ModelFiles, tmp_path: Path) -> None:
    cache = RuntimeCache(tmp_path)

    def unused():
        raise AssertionError("weights loaded from files are known by the files")

    def key_of(checkpoint: Path) -> RuntimeKey:
        return runtime.runtime_key(unused, (checkpoint, files.sampled_vertices), cache)

    key = key_of(files.weights)
    import onnxruntime

    assert key.torch == torch.__version__ and key.onnxruntime == onnxruntime.__version__
    assert key.cpu == cpu_model() and key.threads == torch.get_num_threads()
    copy = tmp_path / "elsewhere.bin"  # the content names the weights, not the path
    shutil.copyfile(files.weights, copy)
    assert key_of(copy).weights == key.weights
    with copy.open("r+b") as f:  # one byte of the checkpoint: other weights
        f.seek(1 << 20)
        f.write(bytes([f.read(1)[0] ^ 1]))
    assert key_of(copy).weights != key.weights
    # A network given without its files is known by its tensors and its vertex subset.
    in_memory = runtime.runtime_key(lambda: net, (), cache)
    assert in_memory.weights not in (key.weights, key_of(copy).weights)
    assert runtime.runtime_key(lambda: net, (), cache) == in_memory
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)
        assert key_of(files.weights).threads == threads + 1
    finally:
        torch.set_num_threads(threads)


def test_a_checkpoint_is_hashed_again_only_when_its_file_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A start costs a stat and a small JSON read, not a hash of 150 MB (0.16 s)."""
    hashed = Counted(monkeypatch, cache_module, "sha256_of")
    cache, weights = RuntimeCache(tmp_path / "home"), tmp_path / "weights.bin"
    weights.write_bytes(b"a" * 1000)
    first = cache.file_digest(weights)
    assert cache.file_digest(weights) == first and hashed.calls == 1
    assert RuntimeCache(tmp_path / "home").file_digest(weights) == first  # a later start
    assert hashed.calls == 1
    weights.write_bytes(b"b" * 1000)  # same size, new content and mtime
    os.utime(weights, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert cache.file_digest(weights) != first and hashed.calls == 2


def test_measure_warms_up_then_interleaves_both_runtimes(monkeypatch: pytest.MonkeyPatch):
    calls: list[tuple[str, int]] = []

    def runner(name: str, seconds_per_face: float):
        def run(img, *rest):
            calls.append((name, len(img)))
            time.sleep(seconds_per_face * len(img))
            return ()

        return run

    monkeypatch.setattr(runtime, "ROUNDS", 3)
    monkeypatch.setattr(runtime, "WARMUP", 1)
    measured = runtime.measure(runner("onnx", 0.004), runner("torch", 0.002))
    sizes = [("onnx", 1), ("torch", 1), ("onnx", 4), ("torch", 4)]
    assert calls == sizes + sizes + sizes[::-1] + sizes  # warm-up, then rounds back and forth
    assert set(measured) == {"1", "4"}
    for m in measured.values():
        assert 1.5 < m["ratio"] < 2.5 and m["onnxruntime_ms"] > m["torch_ms"]
    decision = runtime.decide(measured)
    assert (decision["small"], decision["large"]) == ("torch", "torch")


def test_a_decision_is_measured_once_then_reused(
    net, files: ModelFiles, home: Path, monkeypatch: pytest.MonkeyPatch, parity_outputs
) -> None:
    measured = Counted(monkeypatch, runtime, "measure")
    exported = Counted(monkeypatch, onnx, "export_onnx")
    first = build(net, files)
    assert first.runtime_reason.startswith("measured: batch 1: onnxruntime")
    assert (measured.calls, exported.calls) == (1, 1)
    [stored] = (home / "trg_runtime" / "decisions").glob("*.json")
    assert json.loads(stored.read_text())["decision"]["rounds"] == 1
    second = build(net, files)  # a later start: read, not measured or exported again
    assert (measured.calls, exported.calls) == (1, 1)
    assert second.runtime_reason.startswith(f"cached in {stored}: batch 1: onnxruntime")
    assert second.runner.name == first.runner.name
    assert official(second, parity_outputs) <= 1e-4


def test_damaged_or_stale_entries_are_made_again_with_a_log_line(
    net, files: ModelFiles, home: Path, monkeypatch: pytest.MonkeyPatch, parity_outputs,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    def onnx_faster(onnx_runner, torch_runner):  # so every start needs the graph
        return {b: {"onnxruntime_ms": 1.0, "torch_ms": 2.0, "ratio": 0.5} for b in ("1", "4")}

    monkeypatch.setattr(runtime, "measure", onnx_faster)
    measured = Counted(monkeypatch, runtime, "measure")
    exported = Counted(monkeypatch, onnx, "export_onnx")
    build(net, files)
    [decision] = (home / "trg_runtime" / "decisions").glob("*.json")
    [graph] = (home / "trg_runtime" / "graphs").glob("*.onnx")
    entry = json.loads(decision.read_text())
    stale = {**entry, "key": {**entry["key"], "threads": entry["key"]["threads"] + 1}}
    malformed = {**entry, "decision": {**entry["decision"], "small": "tensorrt"}}

    def truncate() -> None:
        graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])

    def damage() -> None:  # same size: a megabyte of the weights zeroed
        with graph.open("r+b") as f:
            f.seek(graph.stat().st_size // 2)
            f.write(bytes(1 << 20))

    cases = [
        (lambda: decision.write_text("{not json"), "corrupt TRG runtime cache file", 1, 0),
        (lambda: decision.write_text(json.dumps(stale)), "stale TRG runtime decision", 1, 0),
        (lambda: decision.write_text(json.dumps(malformed)), "malformed TRG runtime", 1, 0),
        (truncate, "stale or damaged TRG graph", 0, 1),
        (damage, "exporting again", 0, 1),
    ]
    for spoil, said, measures, exports in cases:
        before = (measured.calls, exported.calls)
        spoil()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="trg_ros.core.model"):
            est = build(net, files)
        assert said in caplog.text, (said, caplog.text)
        assert (measured.calls - before[0], exported.calls - before[1]) == (measures, exports)
        assert est.runner.name == "onnxruntime" and official(est, parity_outputs) <= 1e-4
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="trg_ros.core.model"):
        build(net, files)  # all made again: nothing more to say
    assert caplog.text == ""


@pytest.mark.parametrize("faster", ["onnxruntime", "torch"])
def test_a_cached_onnxruntime_decision_starts_without_reading_the_checkpoint(
    files: ModelFiles, home: Path, monkeypatch: pytest.MonkeyPatch, parity_outputs, faster: str
) -> None:
    """The graph holds the weights: with onnxruntime decided, a later start neither reads the
    150 MB checkpoint nor prepares PyTorch (about half a second of it)."""
    from trg_ros.core.model import estimator

    def timed(onnx_runner, torch_runner):
        ratio = 0.5 if faster == "onnxruntime" else 2.0
        return {b: {"onnxruntime_ms": ratio, "torch_ms": 1.0, "ratio": ratio} for b in "14"}

    monkeypatch.setattr(runtime, "measure", timed)
    loads = Counted(monkeypatch, estimator, "load_trg")
    first = TRGEstimator.from_files(files, TRGConfig("cpu"))
    assert loads.calls == 1 and first.runner.name == faster
    later = TRGEstimator.from_files(files, TRGConfig("cpu"))
    assert later.runner.name == faster and later.runtime_reason.startswith("cached in ")
    if faster == "onnxruntime":
        assert loads.calls == 1 and later.model is None and later.net is None
    else:
        assert loads.calls == 2 and later.net is not None
    assert official(later, parity_outputs) <= 1e-4


# In a fresh interpreter: build TRG with a one-round measurement and report what happened.
BUILD = """
import json, logging, sys
from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.model import runtime
from trg_ros.core.model.config import TRGConfig
from trg_ros.core.model.estimator import TRGEstimator
runtime.ROUNDS, runtime.WARMUP = 1, 0
logging.basicConfig(level=logging.WARNING, format="LOG %(message)s")
est = TRGEstimator.from_files(ModelFiles.in_dir(sys.argv[1]), TRGConfig("cpu"))
print(json.dumps({"runner": est.runner.name, "reason": est.runtime_reason}))
"""


def run_read_only(home: Path, model_dir: Path) -> tuple[dict, str]:
    """The script with ``home`` read-only: for root (whom permissions do not stop) a read-only
    bind mount of it in a private mount namespace; for anyone else, mode 555."""
    cmd = [sys.executable, "-c", BUILD, str(model_dir)]
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.fail("as root, this test needs `unshare` (util-linux) for a read-only mount")
        mount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
        cmd = ["unshare", "--mount", "sh", "-c", mount, str(home), *cmd]
    else:
        home.chmod(0o555)
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=300, cwd=REPO,
            env={**os.environ, "TRG_ROS_HOME": str(home)},
        )  # fmt: skip
    finally:
        home.chmod(0o755)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.splitlines()[-1]), done.stdout + done.stderr


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_a_read_only_cache_folder_still_works(
    net, files: ModelFiles, model_dir: Path, home: Path
) -> None:
    empty = home.parent / "empty"
    empty.mkdir()
    got, log = run_read_only(empty, model_dir)
    assert got["runner"] in ("onnxruntime", "torch", "onnxruntime up to 2 faces, else torch")
    assert got["reason"].startswith("measured (not kept: read-only cache): batch 1:")
    assert "cannot be written" in log and "measured in memory at every start" in log
    assert tree(empty) == {}
    # A read-only folder that holds the entry (made before, or by someone else) is read.
    made = build(net, files)
    [decision] = (home / "trg_runtime" / "decisions").glob("*.json")
    before = tree(home)
    got, log = run_read_only(home, model_dir)
    assert got["runner"] == made.runner.name
    assert got["reason"] == made.runtime_reason.replace("measured", f"cached in {decision}", 1)
    assert "LOG" not in log and tree(home) == before  # nothing to say, nothing written


def test_nodes_started_together_measure_once(model_dir: Path, home: Path) -> None:
    """Two cameras launched at once: one measures, the other waits for it and reads the result
    (measuring side by side, each would time the other's load)."""
    env = {**os.environ, "TRG_ROS_HOME": str(home)}
    cmd = [sys.executable, "-c", BUILD, str(model_dir)]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=REPO, env=env)
        for _ in range(2)
    ]  # fmt: skip
    reasons = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out + err
        reasons.append(json.loads(out.splitlines()[-1])["reason"])
    assert sorted(r.split(" ", 1)[0] for r in reasons) == ["cached", "measured:"], reasons
    assert len(list((home / "trg_runtime" / "decisions").glob("*.json"))) == 1
