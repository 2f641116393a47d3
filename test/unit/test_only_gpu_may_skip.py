"""The suite's skip policy, run on a small suite of its own in a fresh pytest: a skip without
the ``gpu`` marker fails, a ``gpu`` skip stays a skip, and an expected failure is left alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TEST_DIR = Path(__file__).resolve().parents[1]


def test_a_skip_without_the_gpu_marker_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from skip_policy import pytest_runtest_makereport  # noqa: F401\n"
    )
    (tmp_path / "test_policy.py").write_text(
        "import pytest\n"
        "def test_tool_missing():\n"
        "    pytest.skip('chromium not installed')\n"
        "@pytest.mark.gpu\n"
        "def test_needs_cuda():\n"
        "    pytest.skip('no CUDA')\n"
        "@pytest.mark.xfail(reason='known')\n"
        "def test_known_bug():\n"
        "    assert False\n"
        "def test_fine():\n"
        "    pass\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA",
         "-o", "markers=gpu: needs CUDA", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={"PYTHONPATH": str(TEST_DIR), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 1, done.stdout
    last = done.stdout.strip().splitlines()[-1]
    assert "1 failed" in last and "1 passed" in last and "1 skipped" in last, last
    assert "1 xfailed" in last, last
    assert "FAILED test_policy.py::test_tool_missing" in done.stdout
    assert "chromium not installed" in done.stdout  # the reason is kept
