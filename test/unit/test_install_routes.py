"""Each install route gets each dependency from one place: the colcon route takes numpy,
OpenCV, SciPy, PyYAML and tqdm from rosdep (package.xml) and only the rest from pip
(requirements/colcon.txt); the pip route takes everything from pyproject.toml."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
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


def test_colcon_and_rosdep_see_only_trg_ros() -> None:
    """The message packages in ros_deps/ are for the pip route: a crawl of the workspace finds
    only trg_ros (no descent into a package), and ros_deps/ carries COLCON_IGNORE so that a
    crawl started inside it finds nothing either (catkin_pkg honours it as colcon does)."""
    from catkin_pkg.packages import find_packages

    assert {pkg.name for pkg in find_packages(str(REPO)).values()} == {"trg_ros"}
    assert (REPO / "ros_deps" / "COLCON_IGNORE").is_file()
    assert find_packages(str(REPO / "ros_deps")) == {}


def oracle_venv(root: Path, **env: str) -> subprocess.CompletedProcess:
    """scripts/dev's ``oracle_venv`` step alone, with ``root`` as the checkout."""
    script = (
        'set -euo pipefail; ROOT=$PWD; log() { printf "[trg_ros] %s\\n" "$*" >&2; }; '
        f'source <(sed -n "/^oracle_venv()/,/^}}/p" {REPO / "scripts/dev"}); oracle_venv'
    )
    return subprocess.run(
        ["bash", "-c", script], cwd=root, env=os.environ | env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_oracle_venv_is_stamped_on_its_requirements_and_says_what_is_missing(
    tmp_path: Path,
) -> None:
    """Up to date (the stamp holds the hash of requirements/oracle.txt): nothing to do. Else,
    with PyPI out of reach (``PIP_NO_INDEX``), one line names what is missing; exit 1."""
    (tmp_path / "requirements").mkdir()
    text = (REPO / "requirements/oracle.txt").read_text()
    (tmp_path / "requirements/oracle.txt").write_text(text)
    ov = tmp_path / ".venv-oracle"
    ov.mkdir()
    (ov / ".trg_ros_oracle").write_text(hashlib.sha256(text.encode()).hexdigest() + "\n")
    done = oracle_venv(tmp_path)
    assert done.returncode == 0 and not done.stderr and not (ov / "bin").exists(), done.stderr
    (tmp_path / "requirements/oracle.txt").write_text(text + "# changed\n")
    done = oracle_venv(tmp_path, PIP_NO_INDEX="1")
    assert done.returncode == 1, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "missing: mediapipe==1.2.3" in last and "PyPI unreachable" in last, done.stderr
    assert len(done.stderr.strip().splitlines()) == 2, done.stderr  # what it does, what failed


def test_recordings_without_rosbags_say_what_to_install(monkeypatch, tmp_path: Path) -> None:
    from trg_ros.core.errors import TRGError
    from trg_ros.tools.bag import BagWriter

    monkeypatch.setitem(sys.modules, "rosbags", None)  # as if it were not installed
    with pytest.raises(TRGError, match="pip install rosbags"):
        BagWriter(tmp_path / "bag")
