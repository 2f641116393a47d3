"""The ament_cmake build a colcon user runs: messages, Python package, launch and config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ros, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)


def test_cmake_install_layout(tmp_path: Path) -> None:
    if shutil.which("cmake") is None or not (VENV / "share" / "ament_cmake").is_dir():
        pytest.skip("needs cmake and ament_cmake in this environment (scripts/dev setup)")
    src = tmp_path / "src" / "trg_ros"  # outside the repo, as in a colcon workspace
    src.mkdir(parents=True)
    for item in ("CMakeLists.txt", "package.xml"):
        shutil.copy(REPO / item, src / item)
    for item in ("msg", "trg_ros", "launch", "config", "scripts"):
        shutil.copytree(REPO / item, src / item, ignore=shutil.ignore_patterns("__pycache__"))
    prefix, build = tmp_path / "install", tmp_path / "build"
    env = {**os.environ, "AMENT_PREFIX_PATH": str(VENV)}
    for cmd in (
        [
            "cmake",
            "-S",
            str(src),
            "-B",
            str(build),
            f"-DCMAKE_INSTALL_PREFIX={prefix}",
            f"-DCMAKE_PREFIX_PATH={VENV}",
            "-DBUILD_TESTING=OFF",
            f"-DPython3_EXECUTABLE={sys.executable}",
        ],
        ["cmake", "--build", str(build), "-j2"],
        ["cmake", "--install", str(build)],
    ):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    site = prefix / Path(sysconfig.get_paths()["purelib"]).relative_to(VENV)
    assert (prefix / "lib/trg_ros/trg_head_pose").stat().st_mode & 0o111
    for f in (
        "launch/head_pose.launch.py",
        "config/head_pose.yaml",
        "config/head_pose.rviz",
        "package.xml",
    ):
        assert (prefix / "share/trg_ros" / f).is_file(), f
    check = (
        "import trg_ros, trg_ros.msg, trg_ros.ros.node\n"
        "from trg_ros.cli import default_params_file\n"
        "print(trg_ros.__file__); print(default_params_file())\n"
    )
    run_env = {
        **env,
        "AMENT_PREFIX_PATH": f"{prefix}:{VENV}",
        "PYTHONPATH": str(site),
        "LD_LIBRARY_PATH": f"{prefix / 'lib'}:{os.environ.get('LD_LIBRARY_PATH', '')}",
    }
    done = subprocess.run(
        [sys.executable, "-c", check],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    module, params = done.stdout.split()
    assert module.startswith(str(site)) and params == str(
        prefix / "share/trg_ros/config/head_pose.yaml"
    )
