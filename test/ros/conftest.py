"""Real ROS 2 processes on localhost DDS, a fresh domain id per test run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
try:
    import rclpy  # noqa: F401
except ImportError as e:  # a failure, never a skip: CI must not pass without ROS
    raise ImportError(f"rclpy is not installed ({e}): run scripts/dev setup") from e
from spun import SpunNode  # noqa: E402

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


@pytest.fixture(scope="session")
def ament_prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built and installed with ament_cmake, as colcon does, once per session."""
    from installed import build_prefix

    if shutil.which("cmake") is None or not (Path(sys.prefix) / "share/ament_cmake").is_dir():
        pytest.fail("needs cmake and ament_cmake in this environment (scripts/dev setup)")
    return build_prefix(tmp_path_factory.mktemp("colcon"))


@pytest.fixture(scope="session")
def ros2_cli(ros_domain: int) -> Iterator[None]:
    """The ros2 CLI, launch and tf2_ros (test tooling from ../shared/ros2_tools)."""
    import importlib.util

    for module in ("ros2cli", "launch_ros", "tf2_ros", "colcon_core"):
        if importlib.util.find_spec(module) is None:
            pytest.fail(f"{module} is missing: run ../shared/ros2_tools/install.sh .venv")
    yield
    # The first CLI call started a ros2 daemon for this domain: stop it with the session.
    ros2 = Path(sys.prefix) / "bin" / "ros2"
    subprocess.run([str(ros2), "daemon", "stop"], capture_output=True, timeout=30)


class Collector(SpunNode):
    """Subscribes in the test process and records (receive time, message) per topic."""

    def __init__(self, topics: dict[str, Any], tf: bool = False) -> None:
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        super().__init__("test_collector", tf)
        self.messages: dict[str, list[tuple[float, Any]]] = defaultdict(list)
        self.hooks: dict[str, Callable[[Any], None]] = {}
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        for topic, spec in topics.items():
            msg_type, qos = spec if isinstance(spec, tuple) else (spec, reliable)
            self.node.create_subscription(msg_type, topic, self._cb(topic), qos)
        self.start()

    def _cb(self, topic: str) -> Callable[[Any], None]:
        def cb(msg: Any) -> None:
            with self.lock:
                self.messages[topic].append((time.monotonic(), msg))
            hook = self.hooks.get(topic)
            if hook is not None:
                hook(msg)

        return cb

    def publisher(self, msg_type: Any, topic: str, qos: Any = None):
        from rclpy.qos import qos_profile_sensor_data

        return self.node.create_publisher(msg_type, topic, qos or qos_profile_sensor_data)

    def get(self, topic: str) -> list[Any]:
        with self.lock:
            return [m for _, m in self.messages[topic]]


@pytest.fixture
def collector_factory() -> Iterator[Callable[..., Collector]]:
    made: list[Collector] = []

    def make(topics: dict[str, Any], tf: bool = False) -> Collector:
        c = Collector(topics, tf)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def start_node(
    model_dir: Path,
    *params: str,
    log: Path,
    env: dict[str, str] | None = None,
    ros_args: tuple[str, ...] = (),
    autostart: bool = True,
) -> subprocess.Popen:
    """``trg-ros node`` in its own process, as a user would run it (``env`` adds variables,
    ``ros_args`` go after the ``-p`` ones, e.g. ``--params-file F``)."""
    cmd = [
        sys.executable,
        "-m",
        "trg_ros.cli",
        "node",
        *([] if autostart else ["--no-autostart"]),
        "--ros-args",
        "-p",
        f"data_dir:={model_dir}",
        "-p",
        "device:=cpu",
    ]
    for p in params:
        cmd += ["-p", p]
    cmd += list(ros_args)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "RCUTILS_LOGGING_BUFFERED_STREAM": "0",
        **(env or {}),
    }
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

    def run(*params: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen:
        log = tmp_path / f"node{len(procs)}.log"
        proc = start_node(model_dir, *params, log=log, env=env, **kwargs)
        procs.append(proc)
        return proc

    yield run
    for p in procs:
        stop(p)
    for f in sorted(tmp_path.glob("node*.log")):
        print(f"--- {f.name}\n{f.read_text()[-4000:]}")
