"""Which torch device the networks run on, and how strictly float32 runs on CUDA."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def resolve_device(device: str) -> torch.device:
    """``auto`` picks the first CUDA device when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {device!r}")
    return dev


@contextmanager
def tf32(matmul: bool = False, cudnn: bool = False) -> Iterator[None]:
    """TF32 for CUDA matrix products and cuDNN convolutions inside the block; both off (the
    default here) is strict float32.

    TF32 rounds the inputs of those products to 10 mantissa bits (relative steps of ~1e-3),
    far coarser than the float32 noise the parity bounds (1e-4) were set against. PyTorch's
    own default is matmul off, cuDNN on. The previous settings come back on exit; no effect
    on the CPU.
    """
    backends = torch.backends
    before = backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32
    backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32 = matmul, cudnn
    try:
        yield
    finally:
        backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32 = before
