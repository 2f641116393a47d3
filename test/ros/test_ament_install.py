"""The ament_cmake build a colcon user runs: messages, Python package, launch and config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from installed import prefix_env, site_packages

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_cmake_install_layout(ament_prefix: Path, tmp_path: Path) -> None:
    prefix = ament_prefix
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
