"""Start-up: node process start -> ``active``, as whoever launches the node sees it.

Each run spawns ``trg-ros node`` (own process, own namespace, on the CPU) and asks its
lifecycle state service (``<namespace>/trg_head_pose/get_state``) from this process; the
figure is the time from the spawn to the first answer saying ``active`` (the node answers
once it spins, right after its automatic configure and activate). Each model's first run
starts with an empty ``$TRG_ROS_HOME`` (the cold start: TRG exports its ONNX graph and
measures its runtimes there); the next runs start from what it left, as every later start of
a user's node does, and their median (with the range) is the figure the goals are set for.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from trg_ros.core.catalogue import ModelFiles
from trg_ros.tools.bench.measure import print_table
from trg_ros.tools.bench.node import keep_local, start_node, stop_node

RUNS = 5
GOALS_S = {"trg": 3.0, "facemesh": 1.5}  # start -> active, median of the warm runs
TIMEOUT_S = 180.0  # a cold TRG start on a slow machine: export and measurement included
RESEND_S = 0.5  # a request sent before the node's service heard of this client may be lost
# How each model's log line on its runtime starts.
RUNS_WITH = {"trg": "TRG runs with ", "facemesh": "face_landmarks_detector runs with "}


class StateProbe:
    """A node in this process that asks other nodes for their lifecycle state."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("trg_bench_startup", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def time_to_active(self, spawned: float, namespace: str, proc: Any, log: Path) -> float:
        """Seconds from ``spawned`` (``time.monotonic()``) until the node in ``namespace``
        answers that it is active.

        Raises:
            RuntimeError: the process ended, answered another state, or did not answer.
        """
        from lifecycle_msgs.srv import GetState

        client = self.node.create_client(GetState, f"{namespace}/trg_head_pose/get_state")
        answered = threading.Event()
        answer: list[tuple[float, str]] = []

        def done(future: Any) -> None:  # in the executor's thread, as the answer arrives
            if not answer:
                answer.append((time.monotonic(), future.result().current_state.label))
            answered.set()

        try:
            last_sent = -RESEND_S
            while not answered.wait(0.01):
                if proc.poll() is not None:
                    raise RuntimeError(f"the node in {namespace} ended: {_tail(log)}")
                now = time.monotonic()
                if now - spawned > TIMEOUT_S:
                    raise RuntimeError(f"no answer from {namespace} in {TIMEOUT_S:g} s")
                if client.service_is_ready() and now - last_sent >= RESEND_S:
                    client.call_async(GetState.Request()).add_done_callback(done)
                    last_sent = now
        finally:
            self.node.destroy_client(client)
        at, label = answer[0]
        if label != "active":
            raise RuntimeError(f"the node in {namespace} is {label}: {_tail(log)}")
        return at - spawned

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.thread.join(timeout=5)
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        self.context.destroy()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.is_file() else "(no log)"


def runtime_of(log: Path, model: str) -> tuple[str, str]:
    """From the node's log: what runs the model's network, and whether that was ``measured``
    or ``cached`` (TRG's CPU runtime decision)."""
    said = RUNS_WITH[model]
    for line in log.read_text(errors="replace").splitlines():
        if said in line:
            runner, _, reason = line.split(said, 1)[1].partition(" (")
            return runner, "cached" if reason.startswith("cached in ") else "measured"
    return "", ""


def one_start(
    probe: StateProbe, model: str, params: dict[str, Any], home: Path, run: int
) -> dict[str, Any]:
    """Spawn the node with ``$TRG_ROS_HOME`` at ``home``, time it to ``active``, stop it."""
    namespace = f"/trg_ros_startup_{model}_{run}"
    log = home.parent / f"{model}_{run}.log"
    env = {**os.environ, "TRG_ROS_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    spawned = time.monotonic()
    proc = start_node(namespace, {**params, "model": model}, log, env)
    try:
        seconds = probe.time_to_active(spawned, namespace, proc, log)
    finally:
        stop_node(proc)
    runs_with, decision = runtime_of(log, model)
    return {"seconds": seconds, "runs_with": runs_with, "decision": decision}


def startup(files: ModelFiles, runs: int = RUNS) -> dict[str, Any]:
    """Cold start and ``runs`` warm starts of TRG and of FaceMesh, on the CPU.

    Returns:
        Per model: ``cold_s``, ``runs_s``, ``median_s``, ``min_s``, ``max_s``, what runs its
        network (``runs_with``) and, for TRG, how each start decided that (``cold_runtime``,
        ``warm_runtimes``: ``measured`` or ``cached``).
    """
    keep_local()
    params = {"data_dir": files.data_dir, "weights": files.weights, "device": "cpu"}
    probe = StateProbe()
    out: dict[str, Any] = {"runs": runs}
    try:
        with tempfile.TemporaryDirectory(prefix="trg_startup_") as tmp:
            for model in ("trg", "facemesh"):
                home = Path(tmp) / f"home_{model}"
                home.mkdir()
                starts = [one_start(probe, model, params, home, i) for i in range(runs + 1)]
                warm = np.array([s["seconds"] for s in starts[1:]])
                entry: dict[str, Any] = {
                    "cold_s": starts[0]["seconds"],
                    "runs_s": warm.tolist(),
                    "median_s": float(np.median(warm)),
                    "min_s": float(warm.min()),
                    "max_s": float(warm.max()),
                    "runs_with": starts[-1]["runs_with"],
                }
                if model == "trg":
                    entry["cold_runtime"] = starts[0]["decision"]
                    entry["warm_runtimes"] = [s["decision"] for s in starts[1:]]
                out[model] = entry
    finally:
        probe.close()
    rows = []
    for model, goal in GOALS_S.items():
        e = out[model]
        span = f"{e['min_s']:.2f}-{e['max_s']:.2f}"
        row = [model, f"{e['median_s']:.2f}", span, f"{e['cold_s']:.2f}", f"{goal:g}"]
        rows.append([*row, e["runs_with"]])
    print_table(
        f"Start-up on the CPU: spawn -> 'active' over the lifecycle state service, s "
        f"(median and range of {runs} fresh processes; cold = first, empty cache)",
        ["model", "median", "range", "cold", "goal", "runs with"],
        rows,
    )
    return out
