"""The one place that decides how TRG runs: PyTorch or onnxruntime, chosen by measurement.

On CUDA, in bf16/fp16, or for the eager reference path PyTorch runs TRG. For fp32 on the CPU
``auto`` takes the runtime a measurement found faster at one face and at four: onnxruntime for
one or two faces and PyTorch for more when each wins at its size (onnxruntime was 1.3-1.7x
faster at batch 1 on a 2-core AVX-512 machine; PyTorch catches up at larger batches).

The measurement warms both runtimes up, then times them in :data:`ROUNDS` rounds, both
runtimes in each, in alternating order, and compares the median of the per-round ratios, so
a burst of load from another process weighs on both alike. It is made once per checkpoint,
package versions, CPU and thread count and kept, with the exported graph, in
``$TRG_ROS_HOME/trg_runtime`` (:mod:`.cache`); later starts read it. A cached graph must give
the outputs it gave right after its export (one run on a fixed input) before it is used.
Both runtimes return the same numbers within float rounding (the tests hold both to the
parity bounds); callers never branch on the runtime.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trg_ros.core.errors import TRGError
from trg_ros.core.model.cache import RuntimeCache, RuntimeKey, cpu_model
from trg_ros.core.model.config import TRG_RUNTIMES
from trg_ros.core.model.runners import OnnxRunner, Outputs, Runner, SplitRunner, TorchRunner
from trg_ros.core.model.trg import TRGNet

log = logging.getLogger(__name__)

BATCHES = (1, 4)  # faces per batch the runtimes are compared at
WARMUP = 2  # untimed calls per runtime and batch size
ROUNDS = 7  # timed rounds, each one call per runtime and batch size
SPLIT_UP_TO = 2  # faces onnxruntime takes when PyTorch runs larger batches
SPLIT_MARGIN = 1.1  # PyTorch takes larger batches where onnxruntime is this much slower
# A cached graph is sound when its outputs for the check input differ from those it gave right
# after its export by no more than this, relative to each output's largest magnitude (the same
# graph: only a different thread count can reorder sums, ~1e-7; a damaged one differs by far).
AGREEMENT = 1e-4
# The source the exported graph is made from: a change makes every cached graph stale.
GRAPH_SOURCES = ("trg.py", "codec.py", "onnx.py")


def onnx_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""


def example(batch: int) -> tuple[np.ndarray, ...]:
    """The same plausible inputs of ``batch`` faces at every call."""
    from trg_ros.core.model.onnx import example_inputs

    return tuple(x.numpy() for x in example_inputs(batch))


def runtime_key(
    network: Callable[[], TRGNet], loaded_from: tuple[Path, ...], cache: RuntimeCache
) -> RuntimeKey:
    """The key of the cache entries for TRG with these weights. Weights loaded from files are
    known by the files' content hashes (remembered per file, see
    :meth:`RuntimeCache.file_digest`: the network is not loaded); others by the digest of the
    network's tensors (0.2 s for TRG) and of its vertex subset, which the checkpoint lacks but
    the graph holds."""
    from trg_ros.core.model.checkpoint import weights_digest

    weights = hashlib.sha256()
    if loaded_from:
        for path in loaded_from:
            weights.update(f"file {cache.file_digest(path)}\n".encode())
    else:
        model = network()
        weights.update(f"tensors {weights_digest(model.state_dict())}\n".encode())
        weights.update(model.sampled_vertices.cpu().numpy().tobytes())
    code = hashlib.sha256()
    for name in GRAPH_SOURCES:
        code.update((Path(__file__).parent / name).read_bytes())
    return RuntimeKey(
        weights=weights.hexdigest(),
        code=code.hexdigest(),
        torch=torch.__version__,
        onnx=_version("onnx"),
        onnxruntime=_version("onnxruntime"),
        cpu=cpu_model(),
        threads=torch.get_num_threads(),
    )


def difference(got: Outputs, want: list[Any]) -> float:
    """Largest difference between two sets of outputs, relative to each output's largest
    magnitude (inf when their shapes differ)."""
    worst = 0.0
    for a, b in zip(got, want, strict=True):
        b = np.asarray(b, np.float64)
        if a.shape != b.shape:
            return float("inf")
        worst = max(worst, float(np.abs(a - b).max() / max(1.0, float(np.abs(b).max()))))
    return worst


def onnx_runner(network: Callable[[], TRGNet], key: RuntimeKey, cache: RuntimeCache) -> OnnxRunner:
    """TRG in onnxruntime from the cached graph when it still gives the outputs recorded at
    its export, else exported now (into the cache when it can be written).

    Raises:
        Exception: whatever the export or onnxruntime raise (the caller decides).
    """
    from trg_ros.core.model.onnx import cpu_session, export_onnx, file_session

    threads = torch.get_num_threads()
    cached = cache.graph(key)
    if cached is not None:
        path, recorded = cached
        try:
            runner = OnnxRunner(file_session(path, threads))
            worst = difference(runner(*example(1)), recorded)
            if worst <= AGREEMENT:
                return runner
            log.warning(
                "cached TRG graph %s no longer gives the outputs recorded at its export "
                "(%.2g): exporting again",
                path,
                worst,
            )
        except Exception as e:  # a damaged file onnxruntime cannot load
            log.warning("cached TRG graph %s cannot be loaded (%s): exporting again", path, e)
    model = network()
    t0 = time.perf_counter()
    stored = cache.store_graph(key, lambda p: export_onnx(model, p))
    if stored is not None:
        runner = OnnxRunner(file_session(stored, threads))
        cache.seal_graph(key, [a.tolist() for a in runner(*example(1))])
    else:  # cache folder read-only: through a temporary file
        runner = OnnxRunner(cpu_session(lambda p: export_onnx(model, p), threads))
    took = time.perf_counter() - t0
    log.info("TRG exported to ONNX in %.1f s (%s)", took, stored or "not kept: read-only cache")
    return runner


def measure(onnx: Runner, torch_runner: Runner) -> dict[str, dict[str, float]]:
    """Both runtimes timed at each of :data:`BATCHES` faces: :data:`WARMUP` calls each, then
    :data:`ROUNDS` rounds of one call each, in alternating order.

    Returns:
        Per batch size (as a string): median ms of each runtime and the median over rounds of
        onnxruntime's time over PyTorch's (``ratio``, < 1: onnxruntime faster).
    """
    runners = {"onnxruntime": onnx, "torch": torch_runner}
    inputs = {b: example(b) for b in BATCHES}
    calls = [(name, b) for b in BATCHES for name in runners]
    for name, b in calls:
        for _ in range(WARMUP):
            runners[name](*inputs[b])
    times: dict[tuple[str, int], list[float]] = {c: [] for c in calls}
    for r in range(ROUNDS):
        for name, b in calls if r % 2 == 0 else calls[::-1]:
            t0 = time.perf_counter()
            runners[name](*inputs[b])
            times[name, b].append(time.perf_counter() - t0)
    out = {}
    for b in BATCHES:
        o, t = np.array(times["onnxruntime", b]), np.array(times["torch", b])
        out[str(b)] = {
            "onnxruntime_ms": float(np.median(o) * 1e3),
            "torch_ms": float(np.median(t) * 1e3),
            "ratio": float(np.median(o / t)),
        }
    return out


def decide(measured: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The decision a measurement gives: the runtime for small and for large batches.

    onnxruntime runs TRG when it is faster at one face (the common case). PyTorch then takes
    the larger batches only where onnxruntime is clearly slower there (:data:`SPLIT_MARGIN`):
    a second runtime holds a second copy of the weights and adds half a second to every
    start, for a gain within the noise of a shared machine.
    """
    small, large = measured[str(BATCHES[0])]["ratio"], measured[str(BATCHES[-1])]["ratio"]
    if small >= 1:
        chosen = ("torch", "torch")
    else:
        chosen = ("onnxruntime", "torch" if large > SPLIT_MARGIN else "onnxruntime")
    return {
        "small": chosen[0],
        "large": chosen[1],
        "up_to": SPLIT_UP_TO,
        "measured": measured,
        "rounds": ROUNDS,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def read_decision(
    cache: RuntimeCache, key: RuntimeKey, quiet: bool = False
) -> dict[str, Any] | None:
    """The cached decision for ``key`` when there is a well-formed one (``quiet``: a bad one
    was logged already)."""
    decision = cache.read_decision(key, quiet)
    if decision is None:
        return None
    runtimes = ("onnxruntime", "torch")
    try:
        describe(decision)
        chosen = (decision["small"], decision["large"])
        if set(chosen) <= set(runtimes) and isinstance(decision["up_to"], int):
            return decision
    except (KeyError, TypeError, ValueError, AttributeError):
        pass
    if not quiet:
        log.warning("malformed TRG runtime decision %s: measuring again", decision)
    return None


def describe(decision: dict[str, Any]) -> str:
    """The measurement behind a decision, for the log."""
    sizes = "; ".join(
        f"batch {b}: onnxruntime {m['onnxruntime_ms']:.1f} ms, torch {m['torch_ms']:.1f} ms "
        f"(ratio {m['ratio']:.2f})"
        for b, m in decision["measured"].items()
    )
    return f"{sizes}; median of {decision.get('rounds')} rounds at {decision.get('when')}"


def decided_runner(
    decision: dict[str, Any], onnx: Callable[[], Runner], torch_runner: Callable[[], Runner]
) -> Any:
    """The runner a decision names; each runtime is prepared only when the decision uses it."""
    if decision["small"] == "torch":
        return torch_runner()
    if decision["large"] == "torch":
        return SplitRunner(onnx(), torch_runner(), up_to=decision["up_to"])
    return onnx()


@dataclass(frozen=True)
class Placement:
    """Where and how PyTorch would run TRG: what decides whether onnxruntime may.

    Attributes:
        device: the torch device.
        precision: the precision PyTorch runs (after :func:`.fast.usable_precision`).
        optimised: False for the eager reference path.
    """

    device: torch.device
    precision: str
    optimised: bool

    def onnx_problem(self) -> str:
        """Why onnxruntime cannot run TRG here ('' when it can)."""
        if self.device.type != "cpu":
            return f"device {self.device} (onnxruntime runs TRG on the CPU only)"
        if self.precision != "fp32":
            return f"precision {self.precision} (onnxruntime runs fp32)"
        if not self.optimised:
            return "the eager reference path was asked for"
        if not onnx_available():
            return "onnx/onnxruntime are not installed"
        return ""


def choose_runner(
    network: Callable[[], TRGNet],
    torch_runner: Callable[[], TorchRunner],
    placement: Placement,
    requested: str,
    loaded_from: tuple[Path, ...] = (),
) -> tuple[Any, str]:
    """(runner, reason) for TRG: ``requested`` is ``auto``, ``torch`` or ``onnxruntime``.

    Args:
        network: gives the checkpoint-shaped network (the one exported to ONNX), loading it
            on the first call; called only when needed.
        torch_runner: gives TRG in PyTorch, prepared on the first call; called only when
            PyTorch runs TRG or is measured.
        placement: device, precision and path PyTorch would run.
        requested: the ``runtime`` setting.
        loaded_from: the files the network comes from, checkpoint first (see
            :func:`runtime_key`).

    Raises:
        ValueError: an unknown runtime, or onnxruntime asked for where it cannot run.
    """
    if requested not in TRG_RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(TRG_RUNTIMES)}, got {requested!r}")
    problem = placement.onnx_problem()
    if requested == "torch":
        return torch_runner(), "asked for"
    if problem:
        if requested == "onnxruntime":
            raise ValueError(f"runtime onnxruntime cannot run TRG here: {problem}")
        return torch_runner(), problem
    cache = RuntimeCache()
    try:
        key = runtime_key(network, loaded_from, cache)
        if requested == "onnxruntime":
            return onnx_runner(network, key, cache), "asked for"
        made: list[Runner] = []  # the onnxruntime runner, once made

        def onnx() -> Runner:
            if not made:
                made.append(onnx_runner(network, key, cache))
            return made[0]

        decision = read_decision(cache, key)
        how = f"cached in {cache.folder / 'decisions' / key.decision_id}.json"
        if decision is None:
            with cache.locked():  # a node started beside this one may be measuring: wait
                decision = read_decision(cache, key, quiet=True)
                if decision is None:
                    decision = decide(measure(onnx(), torch_runner()))
                    cache.store_decision(key, decision)
                    how = "measured" + ("" if cache.writable else " (not kept: read-only cache)")
        return decided_runner(decision, onnx, torch_runner), f"{how}: {describe(decision)}"
    except TRGError:  # the checkpoint itself is broken: no runtime can run it
        raise
    except Exception as e:  # export or session failed: PyTorch runs it, and the log says why
        if requested == "onnxruntime":
            raise ValueError(f"runtime onnxruntime cannot run TRG: {e}") from e
        log.warning("onnxruntime could not run TRG (%s: %s): using PyTorch", type(e).__name__, e)
        return torch_runner(), f"onnxruntime failed ({type(e).__name__})"
