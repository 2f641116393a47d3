"""Real ROS 2 processes on localhost DDS, a fresh domain id per test run."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
rclpy = pytest.importorskip("rclpy", reason="rclpy is not installed (run scripts/dev setup)")

pytestmark = pytest.mark.ros


@pytest.fixture(scope="session", autouse=True)
def ros_domain() -> Iterator[int]:
    import domain_coordinator

    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.setdefault(
        "FASTDDS_DEFAULT_PROFILES_FILE", str(REPO / "config" / "fastdds_local.xml")
    )
    with domain_coordinator.domain_id() as domain:
        os.environ["ROS_DOMAIN_ID"] = str(domain)
        yield domain


class Collector:
    """Subscribes in the test process and records (receive time, message) per topic."""

    def __init__(self, topics: dict[str, Any]) -> None:
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("test_collector", context=self.context)
        self.messages: dict[str, list[tuple[float, Any]]] = defaultdict(list)
        self.lock = threading.Lock()
        self.error: Exception | None = None
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        for topic, spec in topics.items():
            msg_type, qos = spec if isinstance(spec, tuple) else (spec, reliable)
            self.node.create_subscription(msg_type, topic, self._cb(topic), qos)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _cb(self, topic: str) -> Callable[[Any], None]:
        def cb(msg: Any) -> None:
            with self.lock:
                self.messages[topic].append((time.monotonic(), msg))

        return cb

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        while self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except (ExternalShutdownException, rclpy.exceptions.InvalidHandle):
                return
            except Exception as e:  # a broken callback must fail the test, not hang it
                self.error = e
                raise

    def publisher(self, msg_type: Any, topic: str, qos: Any = None):
        from rclpy.qos import qos_profile_sensor_data

        return self.node.create_publisher(msg_type, topic, qos or qos_profile_sensor_data)

    def get(self, topic: str) -> list[Any]:
        with self.lock:
            return [m for _, m in self.messages[topic]]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.error is not None:
                raise AssertionError(f"collector thread failed: {self.error!r}")
            if predicate():
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        self.thread.join(timeout=5)
        self.context.destroy()


@pytest.fixture
def collector_factory() -> Iterator[Callable[[dict[str, Any]], Collector]]:
    made: list[Collector] = []

    def make(topics: dict[str, Any]) -> Collector:
        c = Collector(topics)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def start_node(model_dir: Path, *params: str, log: Path) -> subprocess.Popen:
    """``trg-ros node`` in its own process, as a user would run it."""
    cmd = [
        sys.executable,
        "-m",
        "trg_ros.cli",
        "node",
        "--ros-args",
        "-p",
        f"data_dir:={model_dir}",
        "-p",
        "device:=cpu",
    ]
    for p in params:
        cmd += ["-p", p]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RCUTILS_LOGGING_BUFFERED_STREAM": "0"}
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(2)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def node_process(model_dir: Path, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    procs: list[subprocess.Popen] = []

    def run(*params: str) -> subprocess.Popen:
        proc = start_node(model_dir, *params, log=tmp_path / f"node{len(procs)}.log")
        procs.append(proc)
        return proc

    yield run
    for p in procs:
        stop(p)
    for f in sorted(tmp_path.glob("node*.log")):
        print(f"--- {f.name}\n{f.read_text()[-4000:]}")
