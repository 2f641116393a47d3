"""FaceMesh's settings, in one torch-free place (the node declares its parameters from them
without loading a network)."""

from __future__ import annotations

from dataclasses import dataclass

from trg_ros.core.tflite.runtime import TFLITE_RUNTIMES


@dataclass(frozen=True)
class FaceMeshConfig:
    """Settings of :class:`FaceMeshEstimator`, validated on construction.

    Attributes:
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        tflite_runtime: how the landmark network runs: ``auto``, ``litert`` or ``torch``
            (see :mod:`trg_ros.core.tflite.runtime`).
    """

    device: str = "auto"
    tflite_runtime: str = "auto"

    def __post_init__(self) -> None:
        if self.tflite_runtime not in TFLITE_RUNTIMES:
            raise ValueError(
                f"tflite_runtime must be one of {TFLITE_RUNTIMES}, got {self.tflite_runtime!r}"
            )
