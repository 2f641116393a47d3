"""Choosing the device without PyTorch where CUDA plainly cannot run, and the CPU thread count
litert and PyTorch share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from trg_ros.core.device import Device, parse_device

REPO = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter (this one has torch loaded): pick a device with the given driver
# files standing for an NVIDIA driver, then say what was picked and whether torch was loaded.
PICK = """
import json, sys
from trg_ros.core import device
device.CUDA_MARKERS = tuple(sys.argv[2:])
try:
    got = str(device.pick_device(sys.argv[1]))
except ValueError as e:
    got = f"ValueError: {e}"
print(json.dumps({"device": got, "torch": "torch" in sys.modules}))
"""


def pick(requested: str, markers: list[str], **env: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PICK, requested, *markers],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_auto_without_a_gpu_driver_is_the_cpu_without_importing_torch(tmp_path: Path) -> None:
    gone = str(tmp_path / "no_driver")
    assert pick("auto", [gone]) == {"device": "cpu", "torch": False}
    assert pick("cpu", []) == {"device": "cpu", "torch": False}
    bad = pick("cuda:abc", [])
    assert bad["device"].startswith("ValueError: device must be auto, cpu, cuda or cuda:N")
    assert not bad["torch"]


def test_auto_with_a_gpu_driver_asks_torch(tmp_path: Path) -> None:
    driver = tmp_path / "version"
    driver.write_text("NVRM version: stand-in\n")
    got = pick("auto", [str(driver)])
    assert got == {"device": "cuda" if torch.cuda.is_available() else "cpu", "torch": True}
    # CUDA_VISIBLE_DEVICES="" hides every GPU: nothing to ask torch about.
    assert pick("auto", [str(driver)], CUDA_VISIBLE_DEVICES="") == {
        "device": "cpu",
        "torch": False,
    }


def test_devices_are_named_like_torch_devices() -> None:
    for text in ("cpu", "cuda", "cuda:1"):
        ours, theirs = parse_device(text), torch.device(text)
        assert (ours.type, ours.index, str(ours)) == (theirs.type, theirs.index, str(theirs))
    assert parse_device(str(torch.device("cuda", 0))) == Device("cuda", 0)
    for bad in ("gpu", "cudaX", "cuda:", "cpu:0", ""):
        with pytest.raises(ValueError, match="auto, cpu, cuda or cuda:N"):
            parse_device(bad)


THREADS = """
import json
from trg_ros.core.device import cpu_threads
ours = cpu_threads()
import torch
print(json.dumps([ours, torch.get_num_threads()]))
"""


@pytest.mark.parametrize("omp", [None, "1"])
def test_litert_gets_the_thread_count_pytorch_would_use(omp: str | None) -> None:
    """litert took ``torch.get_num_threads()`` before torch left its path: the count is the
    same without torch (physical cores, or OMP_NUM_THREADS)."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if omp is not None:
        env["OMP_NUM_THREADS"] = omp
    done = subprocess.run(
        [sys.executable, "-c", THREADS], capture_output=True, text=True, timeout=120,
        cwd=REPO, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ours, theirs = json.loads(done.stdout)
    assert ours == theirs
