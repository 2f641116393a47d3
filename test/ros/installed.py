"""The package as colcon installs it and the ROS 2 tools users run.

The ``ros2`` CLI, launch, colcon and tf2_ros come from ../shared/ros2_tools (test tooling
installed into the venv by ``scripts/dev test``); the package itself is built from a copy of
this source tree by ``colcon build`` in a fresh workspace, and the tests take their environment
from its ``install/setup.bash``, as a user does.
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
    """``colcon build`` of a workspace holding this package, against the venv's ROS; returns
    the package's install prefix (``install/trg_ros``)."""
    src = work / "src" / "trg_ros"  # outside the repo, as in a colcon workspace
    src.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__")
    for item in SOURCES:
        if (REPO / item).is_dir():
            shutil.copytree(REPO / item, src / item, ignore=ignore)
        else:
            shutil.copy(REPO / item, src / item)
    env = {
        **os.environ,
        "AMENT_PREFIX_PATH": str(VENV),
        "CMAKE_PREFIX_PATH": str(VENV),
        "PATH": f"{VENV / 'bin'}:{os.environ.get('PATH', '')}",
    }
    cmd = [
        "colcon", "build", "--packages-select", "trg_ros", "--event-handlers", "console_direct-",
        "--cmake-args", "-DBUILD_TESTING=OFF", f"-DPython3_EXECUTABLE={sys.executable}",
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode:
        log = "".join(p.read_text() for p in (work / "log").rglob("stdout_stderr.log"))
        raise RuntimeError(f"colcon build failed:\n{done.stdout[-3000:]}{log[-3000:]}")
    return work / "install" / "trg_ros"


def site_packages(prefix: Path) -> Path:
    return prefix / Path(sysconfig.get_paths()["purelib"]).relative_to(VENV)


def prefix_env(prefix: Path) -> dict[str, str]:
    """The environment ``. install/setup.bash`` gives a user (the venv's bin first on PATH,
    as on a machine whose python3 has ROS 2), read from a real bash that sourced it."""
    base = {**os.environ, "PATH": f"{VENV / 'bin'}:{os.environ.get('PATH', '')}"}
    setup = prefix.parent / "setup.bash"
    done = subprocess.run(
        ["bash", "-c", f'. "{setup}" && env -0'], env=base, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    env = dict(line.split("=", 1) for line in done.stdout.decode().split("\0") if "=" in line)
    env.update(PYTHONUNBUFFERED="1", RCUTILS_LOGGING_BUFFERED_STREAM="0")
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
