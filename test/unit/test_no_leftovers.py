"""A test run leaves nothing behind in the temp folder (model copies are 150 MB each)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_pytest_run_with_this_configuration_removes_its_temp_files(tmp_path: Path) -> None:
    tests = tmp_path / "t"
    tests.mkdir()
    (tests / "test_writes.py").write_text(
        "def test_big(tmp_path, tmp_path_factory):\n"
        "    (tmp_path / 'weights.bin').write_bytes(bytes(1 << 20))\n"
        "    (tmp_path_factory.mktemp('shared') / 'x.onnx').write_bytes(bytes(1 << 20))\n"
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-c", str(REPO / "pyproject.toml"), "--rootdir", str(tests), str(tests)],
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    left = [p for p in temp.rglob("*") if p.is_file()]
    assert left == [], left
