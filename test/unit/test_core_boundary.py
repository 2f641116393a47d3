"""The core is ROS-free: importing all of it pulls in no rclpy and no *_msgs module."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import importlib, pkgutil, sys
import trg_ros.core as core
for mod in pkgutil.walk_packages(core.__path__, "trg_ros.core."):
    importlib.import_module(mod.name)
roots = {m.split(".")[0] for m in sys.modules}
bad = sorted(r for r in roots if r == "rclpy" or r.endswith("_msgs"))
bad += [m for m in sys.modules if m.startswith(("trg_ros.msg", "trg_ros.ros"))]
print(bad)
sys.exit(1 if bad else 0)
"""


def test_core_imports_no_ros() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
