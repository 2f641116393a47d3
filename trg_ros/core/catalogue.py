"""Every file the package downloads, grouped for ``trg-ros assets fetch``, and where each
lies in an installed cache.

Each model declares its own files (:mod:`trg_ros.core.model.files`,
:mod:`trg_ros.core.detect.files`, :mod:`trg_ros.core.facemesh.files`); the code that fetches,
checks and installs them is :mod:`trg_ros.core.assets`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from trg_ros.core.assets import Asset, cache_dir, remedy
from trg_ros.core.detect.files import BLAZEFACE, DETECTOR
from trg_ros.core.errors import AssetError
from trg_ros.core.facemesh.files import FACE_LANDMARKER
from trg_ros.core.model.files import (
    CHECKPOINT,
    CHECKPOINTS,
    DATA_FILES,
    LANDMARK_VERTICES,
    SAMPLED_VERTICES,
    TRIANGLES,
)

MANIFEST = (*DATA_FILES, BLAZEFACE, FACE_LANDMARKER, CHECKPOINT)
GROUPS = ("data", "detector", "facemesh", "weights")


def chosen(groups: Iterable[str] = GROUPS, checkpoint: str = "trg-star") -> list[Asset]:
    """The assets of ``groups`` in install order (the checkpoint's check needs the data)."""
    by_group = {
        "data": DATA_FILES,
        "detector": (BLAZEFACE,),
        "facemesh": (FACE_LANDMARKER,),
        "weights": (CHECKPOINTS[checkpoint],),
    }
    return [a for g in GROUPS if g in set(groups) for a in by_group[g]]


@dataclass(frozen=True)
class ModelFiles:
    """Paths of everything inference needs; ``checkpoint`` names the official one in use."""

    weights: Path
    sampled_vertices: Path
    triangles: Path
    landmark_vertices: Path
    detector: Path
    checkpoint: str = "trg-star"
    data_dir: Path = Path()  # the folder of everything but the weights (FaceMesh reads it)

    @classmethod
    def in_dir(
        cls,
        data_dir: str | Path | None,
        weights: str | Path | None = None,
        checkpoint: str = "trg-star",
    ) -> ModelFiles:
        """Files as laid out in the cache (or a folder with the same names).

        Args:
            data_dir: a folder laid out like the cache; empty or None: the cache.
            weights: a state dict to use instead of the cached official checkpoint.
            checkpoint: which official checkpoint: ``trg-star`` or ``trg``.
        """
        if checkpoint not in CHECKPOINTS:
            raise ValueError(f"checkpoint={checkpoint!r}: allowed values are {tuple(CHECKPOINTS)}")
        d = Path(data_dir).expanduser() if data_dir else cache_dir()
        return cls(
            weights=Path(weights).expanduser() if weights else d / CHECKPOINTS[checkpoint].name,
            sampled_vertices=d / SAMPLED_VERTICES,
            triangles=d / TRIANGLES,
            landmark_vertices=d / LANDMARK_VERTICES,
            detector=d / DETECTOR,
            checkpoint=checkpoint,
            data_dir=d,
        )

    def check(self) -> None:
        """Raise an :class:`AssetError` that says how to get whatever file is missing."""
        for path in (self.sampled_vertices, self.triangles, self.landmark_vertices, self.detector):
            if not path.is_file():
                raise AssetError(f"data file {path} is missing: run `trg-ros assets fetch`")
        if not self.weights.is_file():
            raise AssetError(
                f"TRG weights {self.weights} are missing: "
                f"{remedy(CHECKPOINTS[self.checkpoint])}, "
                "or pass the path of a state_dict.bin as `weights`"
            )
