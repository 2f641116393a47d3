"""Which device the networks run on, how many CPU threads they use, and how strictly float32
runs on CUDA.

Importing torch takes about a second, most of a FaceMesh node's start-up: the CPU path (litert
runs BlazeFace and FaceMesh) never needs it. So devices are named by :class:`Device` here, and
torch is imported only to answer a question only torch can answer (is there a usable CUDA
device?), or by the code that runs a network in PyTorch.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# Files that exist wherever a CUDA device might be usable: the NVIDIA kernel driver (its proc
# entry and device nodes), WSL 2's GPU bridge and Jetson's integrated GPU. Without any of them
# CUDA plainly cannot run, and ``auto`` means the CPU without asking torch.
CUDA_MARKERS = (
    "/proc/driver/nvidia/version",
    "/dev/nvidiactl",
    "/dev/nvidia0",
    "/dev/dxg",
    "/dev/nvhost-ctrl-gpu",
)


@dataclass(frozen=True)
class Device:
    """A device named like ``torch.device`` (``.type``, ``.index``, ``str()``), without torch.

    Attributes:
        type: ``cpu`` or ``cuda``.
        index: the CUDA device number, or None.
    """

    type: str
    index: int | None = None

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"


def parse_device(device: str) -> Device:
    """``cpu``, ``cuda`` or ``cuda:N`` as a :class:`Device`.

    Raises:
        ValueError: any other form.
    """
    kind, colon, index = device.partition(":")
    if device == "cpu":
        return Device("cpu")
    if kind == "cuda" and (not colon or index.isdigit()):
        return Device("cuda", int(index) if colon else None)
    raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {device!r}")


def cuda_possible() -> bool:
    """False when CUDA plainly cannot run here: no GPU driver file, torch not installed, or
    ``CUDA_VISIBLE_DEVICES`` set empty. True means only that torch must be asked."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") == "":
        return False
    if not any(Path(m).exists() for m in CUDA_MARKERS):
        return False
    return importlib.util.find_spec("torch") is not None


def pick_device(device: str) -> Device:
    """The device to run on; ``auto`` is the first CUDA device when there is one, else the CPU.

    torch is imported only where CUDA may be present (:func:`cuda_possible`) or asked for.

    Raises:
        ValueError: an unknown form, or CUDA asked for where it is not available.
    """
    if device == "auto":
        if not cuda_possible():
            return Device("cpu")
        import torch

        return Device("cuda") if torch.cuda.is_available() else Device("cpu")
    dev = parse_device(device)
    if dev.type == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev


def resolve_device(device: str | Device) -> torch.device:
    """:func:`pick_device` as a ``torch.device``, for code that runs PyTorch."""
    import torch

    return torch.device(str(device if isinstance(device, Device) else pick_device(device)))


def cpu_threads() -> int:
    """CPU threads a network uses: ``OMP_NUM_THREADS`` when set, else one per physical core,
    as PyTorch's own default (so litert and PyTorch use the same count, torch loaded or not)."""
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        pass
    cores = set()
    for cpu in Path("/sys/devices/system/cpu").glob("cpu[0-9]*"):
        try:
            topology = cpu / "topology"
            package = (topology / "physical_package_id").read_text().strip()
            cores.add((package, (topology / "core_id").read_text().strip()))
        except OSError:
            continue
    return len(cores) or os.cpu_count() or 1


@contextmanager
def tf32(matmul: bool = False, cudnn: bool = False) -> Iterator[None]:
    """TF32 for CUDA matrix products and cuDNN convolutions inside the block; both off (the
    default here) is strict float32.

    TF32 rounds the inputs of those products to 10 mantissa bits (relative steps of ~1e-3),
    far coarser than the float32 noise the parity bounds (1e-4) were set against. PyTorch's
    own default is matmul off, cuDNN on. The previous settings come back on exit; no effect
    on the CPU.
    """
    import torch

    backends = torch.backends
    before = backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32
    backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32 = matmul, cudnn
    try:
        yield
    finally:
        backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32 = before
