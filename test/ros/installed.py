"""The package as colcon installs it (ament_cmake into a prefix) and the ROS 2 tools users run.

The ``ros2`` CLI, launch and tf2_ros come from ../shared/ros2_tools (test tooling installed into
the venv by ``scripts/dev test``); the package itself is built from this source tree with the same
CMake steps colcon runs, into a fresh prefix that goes first on the search paths.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
SOURCES = ("CMakeLists.txt", "package.xml", "msg", "trg_ros", "launch", "config", "scripts")


def build_prefix(work: Path) -> Path:
    """Configure, build and install the package into ``work/install``; returns the prefix."""
    src = work / "src" / "trg_ros"  # outside the repo, as in a colcon workspace
    src.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__")
    for item in SOURCES:
        if (REPO / item).is_dir():
            shutil.copytree(REPO / item, src / item, ignore=ignore)
        else:
            shutil.copy(REPO / item, src / item)
    prefix, build = work / "install", work / "build"
    env = {**os.environ, "AMENT_PREFIX_PATH": str(VENV)}
    steps = [
        [
            "cmake", "-S", str(src), "-B", str(build), f"-DCMAKE_INSTALL_PREFIX={prefix}",
            f"-DCMAKE_PREFIX_PATH={VENV}", "-DBUILD_TESTING=OFF",
            f"-DPython3_EXECUTABLE={sys.executable}",
        ],
        ["cmake", "--build", str(build), "-j2"],
        ["cmake", "--install", str(build)],
    ]  # fmt: skip
    for cmd in steps:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode:
            raise RuntimeError(f"{cmd[:2]} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return prefix


def site_packages(prefix: Path) -> Path:
    return prefix / Path(sysconfig.get_paths()["purelib"]).relative_to(VENV)


def prefix_env(prefix: Path) -> dict[str, str]:
    """What ``. install/setup.bash`` gives a user: the prefix first on every search path."""
    env = dict(os.environ)
    env.update(
        AMENT_PREFIX_PATH=f"{prefix}:{VENV}",
        PYTHONPATH=str(site_packages(prefix)),
        LD_LIBRARY_PATH=f"{prefix / 'lib'}:{env.get('LD_LIBRARY_PATH', '')}",
        PATH=f"{VENV / 'bin'}:{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        RCUTILS_LOGGING_BUFFERED_STREAM="0",
    )
    return env


class Launched:
    """``ros2 launch ...`` in its own session, output to a log file, stopped like Ctrl-C."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                ["ros2", "launch", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def interrupt(self, timeout: float = 15.0) -> float:
        """SIGINT to the whole process group (a terminal's Ctrl-C); seconds until it ended."""
        t0 = time.monotonic()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(timeout)
        return time.monotonic() - t0

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def group_alive(pgid: int) -> list[int]:
    """Pids still in a process group (launch and the nodes it started)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    alive.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return alive


def ros2(
    *args: str, env: dict[str, str], timeout: float = 60.0, ok: Callable[[str], bool] | None = None
) -> subprocess.CompletedProcess:
    """Run a ``ros2`` CLI verb; a fresh CLI process may not have discovered the node yet, so
    it is retried (until ``ok`` accepts the output when given) within ``timeout``."""
    end = time.monotonic() + timeout
    while True:
        left = max(end - time.monotonic(), 5.0)
        done = subprocess.run(
            ["ros2", *args], env=env, capture_output=True, text=True, timeout=left
        )
        good = done.returncode == 0 and (ok is None or ok(done.stdout))
        if good or time.monotonic() > end:
            return done
        time.sleep(1.0)


def stale_segments() -> set[Path]:
    """Fast DDS shared-memory segments in /dev/shm whose owner process is gone."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "clean_fastdds_shm", REPO / "scripts" / "clean_fastdds_shm.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.stale()
