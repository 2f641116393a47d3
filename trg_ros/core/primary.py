"""Which face is the primary one (``head_pose``): the largest, with hysteresis.

Picking the largest box of every frame makes the primary jump between two people of about
the same size at every wobble of the detector. Here the primary keeps its role while its
track lives; another face takes over only when it has been at least ``switch_ratio`` times
the primary's box area for ``switch_frames`` frames in a row, and when the primary's track
ends the largest face left takes over at once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from trg_ros.core.types import Head


@dataclass(frozen=True)
class PrimaryConfig:
    """Attributes:
    switch_ratio: a challenger's box area over the primary's at or above which a frame
        counts towards a take-over (>= 1).
    switch_frames: consecutive such frames before the challenger takes over (>= 1);
        1 with ratio 1.0 is the plain "largest face of each frame".
    """

    switch_ratio: float = 1.2
    switch_frames: int = 5

    def __post_init__(self) -> None:
        if not self.switch_ratio >= 1.0:
            raise ValueError(f"switch_ratio must be >= 1, got {self.switch_ratio}")
        if self.switch_frames < 1:
            raise ValueError(f"switch_frames must be >= 1, got {self.switch_frames}")


def box_area(head: Head) -> float:
    """Area of the face box, px^2."""
    x0, y0, x1, y1 = (float(v) for v in head.box)
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def _largest(heads: Sequence[Head]) -> Head:
    return max(heads, key=lambda h: (box_area(h), h.score))


class PrimarySelector:
    """Keeps the primary face's id between frames (one per camera stream)."""

    def __init__(self, config: PrimaryConfig | None = None) -> None:
        self.config = config or PrimaryConfig()
        self.primary_id: str | None = None
        self._streaks: dict[str, int] = {}  # challenger id -> frames in a row above the ratio

    def select(self, heads: Sequence[Head], tracked: Collection[str]) -> Head | None:
        """The primary face of one frame.

        Args:
            heads: the faces with an estimate in this frame (ids set by the tracker).
            tracked: ids of every face still tracked, seen in this frame or not.

        Returns:
            The primary's head; None when there is no face, or when the primary is still
            tracked but has no estimate in this frame (it keeps the role: another person's
            pose is not published in its place).
        """
        by_id = {h.id: h for h in heads}
        if self.primary_id not in tracked:  # lost (or none yet): the largest left, at once
            self._streaks.clear()
            self.primary_id = _largest(heads).id if heads else None
            return by_id.get(self.primary_id) if self.primary_id is not None else None
        current = by_id.get(self.primary_id)
        if current is None:
            return None  # missed this frame: no comparison, the streaks neither grow nor end
        floor = self.config.switch_ratio * box_area(current)
        self._streaks = {
            h.id: self._streaks.get(h.id, 0) + 1
            for h in heads
            if h.id != current.id and box_area(h) >= floor
        }
        ready = [by_id[i] for i, n in self._streaks.items() if n >= self.config.switch_frames]
        if not ready:
            return current
        winner = _largest(ready)
        self.primary_id = winner.id
        self._streaks.clear()
        return winner
