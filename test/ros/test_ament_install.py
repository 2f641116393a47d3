"""The colcon build a ROS user runs: messages, Python package, launch, config and commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from installed import prefix_env, site_packages

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_cmake_install_layout(ament_prefix: Path, tmp_path: Path) -> None:
    prefix = ament_prefix
    for program in ("trg_head_pose", "trg_hri_merge"):
        assert (prefix / "lib/trg_ros" / program).stat().st_mode & 0o111, program
    for f in (
        "launch/head_pose.launch.py",
        "launch/hri_merge.launch.py",
        "config/head_pose.yaml",
        "package.xml",
    ):
        assert (prefix / "share/trg_ros" / f).is_file(), f
    check = (
        "import trg_ros, trg_ros.msg, trg_ros.ros.node\n"
        "from ament_index_python.packages import get_package_share_directory as share\n"
        "print(trg_ros.__file__); print(share('trg_ros'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check],
        env=prefix_env(prefix),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    module, share = done.stdout.split()
    assert module.startswith(str(site_packages(prefix))) and share == str(prefix / "share/trg_ros")


def test_colcon_install_puts_trg_ros_on_path(ament_prefix: Path, tmp_path: Path) -> None:
    """After ``. install/setup.bash`` the ``trg-ros`` command resolves into the install and
    runs, as ``ros2 run trg_ros trg_head_pose`` does for the node."""
    env = prefix_env(ament_prefix)
    done = subprocess.run(
        ["bash", "-c", "command -v trg-ros && trg-ros --help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    where = done.stdout.splitlines()[0]
    assert where == str(ament_prefix / "bin" / "trg-ros"), where
    assert "usage: trg-ros" in done.stdout and "assets" in done.stdout, done.stdout
