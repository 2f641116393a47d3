"""TRG's settings and the values each may take, in one torch-free place (the node declares
its parameters from them without loading a network)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PRECISIONS = ("fp32", "bf16", "fp16")
# How TRG runs (:mod:`trg_ros.core.model.runtime`): measured choice, PyTorch, onnxruntime.
TRG_RUNTIMES = ("auto", "torch", "onnxruntime")
PrincipalPointMode = Literal["camera", "image_centre"]
PRINCIPAL_POINT_MODES: tuple[str, ...] = ("camera", "image_centre")


@dataclass(frozen=True)
class TRGConfig:
    """Settings of :class:`TRGEstimator`, validated on construction.

    Attributes:
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        principal_point: ``camera`` or ``image_centre`` (see :mod:`trg_ros.core.model.crop`).
        precision: ``fp32``, ``bf16`` (CPUs with AVX-512 BF16/AMX) or ``fp16`` (CUDA).
        optimise: fold BatchNorm and use channels-last (exact up to float rounding); off
            runs the checkpoint-shaped model eagerly, the reference path.
        runtime: ``auto`` (measured when built, see :mod:`.runtime`), ``torch`` or
            ``onnxruntime``.
        allow_tf32: let CUDA round fp32 products to TF32 (faster, ~1e-3 relative steps);
            off keeps the parity bounds.
    """

    device: str = "auto"
    principal_point: str = "camera"
    precision: str = "fp32"
    optimise: bool = True
    runtime: str = "auto"
    allow_tf32: bool = False

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.runtime not in TRG_RUNTIMES:
            raise ValueError(f"runtime must be one of {TRG_RUNTIMES}, got {self.runtime!r}")
        if self.principal_point not in PRINCIPAL_POINT_MODES:
            raise ValueError(
                f"principal_point must be one of {PRINCIPAL_POINT_MODES}, "
                f"got {self.principal_point!r}"
            )
