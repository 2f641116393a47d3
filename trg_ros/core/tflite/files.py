"""What installing a ``.tflite`` network derives from it: its PyTorch conversion.

The conversion runs once, at install, and lies next to the network as ``<stem>.npz``
(:func:`converted_path`); the PyTorch runtime loads it, litert the ``.tflite`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def converted_path(tflite: Path) -> Path:
    """Where the PyTorch conversion of ``tflite`` lies."""
    return tflite.with_suffix(".npz")


@dataclass(frozen=True)
class TorchConversion:
    """A :class:`~trg_ros.core.assets.spec.Derivation`: ``<stem>.npz`` beside a ``.tflite``."""

    def names(self, source: str) -> list[str]:
        return [converted_path(Path(source)).name]

    def make(self, installed: Path) -> None:
        from trg_ros.core.tflite.convert import convert_tflite

        convert_tflite(installed, converted_path(installed))


TORCH_CONVERSION = TorchConversion()
