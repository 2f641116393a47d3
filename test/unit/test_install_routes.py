"""Each install route gets each dependency from one place: the colcon route takes numpy,
OpenCV, SciPy, PyYAML and tqdm from rosdep (package.xml) and only the rest from pip
(requirements/colcon.txt); the pip route takes everything from pyproject.toml."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[2]
# rosdep key -> the pip distribution that provides the same module
ROSDEP_TO_PIP = {
    "python3-numpy": "numpy",
    "python3-opencv": "opencv-python-headless",
    "python3-scipy": "scipy",
    "python3-yaml": "pyyaml",
    "python3-tqdm": "tqdm",
    "python3-torch": "torch",
}


def pip_names(lines: list[str]) -> set[str]:
    """Distribution names of requirement lines (comments and blanks skipped)."""
    names = (re.split(r"[<>=;\[ ]", ln.split("#")[0].strip(), maxsplit=1)[0] for ln in lines)
    return {n.lower() for n in names if n}


def rosdep_python() -> set[str]:
    root = ET.parse(REPO / "package.xml").getroot()
    keys = {e.text for e in root.iter() if e.tag.endswith("depend") and e.text}
    python_keys = {k for k in keys if k.startswith("python3-") and k != "python3-pytest"}
    unknown = python_keys - set(ROSDEP_TO_PIP)
    assert not unknown, f"add {unknown} to ROSDEP_TO_PIP"
    return {ROSDEP_TO_PIP[k] for k in python_keys}


def test_colcon_route_gets_each_package_from_one_source() -> None:
    pip = pip_names((REPO / "requirements/colcon.txt").read_text().splitlines())
    rosdep = rosdep_python()
    assert not pip & rosdep, f"from rosdep and pip both: {pip & rosdep}"
    assert "torch" in pip and "opencv-python-headless" in rosdep
    assert not any(name.startswith("opencv") for name in pip), pip


def test_pip_route_covers_what_the_colcon_route_installs() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = pip_names(project["dependencies"])
    colcon = pip_names((REPO / "requirements/colcon.txt").read_text().splitlines())
    assert rosdep_python() | colcon <= declared, (rosdep_python() | colcon) - declared
