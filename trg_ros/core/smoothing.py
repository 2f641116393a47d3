"""One-Euro filtering of head poses (Casiez et al., CHI 2012).

Low latency when the head moves, strong smoothing when it is still: the cutoff frequency
grows with the filtered speed. Translation is filtered per axis; rotation on the unit
quaternion, made sign-continuous with the previous sample and re-normalised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation


@dataclass(frozen=True)
class OneEuroConfig:
    """Attributes:
    min_cutoff: cutoff in Hz at zero speed (lower = smoother when still).
    beta: how fast the cutoff rises with speed (higher = less lag when moving).
    d_cutoff: cutoff in Hz of the speed estimate.
    """

    min_cutoff: float = 1.0
    beta: float = 0.5
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        for name in ("min_cutoff", "d_cutoff"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


# A stamp step longer than this (s) means a pause or a jump in time: the filter starts over.
MAX_STAMP_STEP = 2.0


def stamp_problem(previous: float | None, t: float) -> str | None:
    """Why a sample at ``t`` cannot continue a filter last fed at ``previous`` (None if it can).

    Non-increasing stamps come from drivers that leave them at zero, looping bags and
    sim-time resets; a filter fed them would freeze, so the caller restarts it instead.
    """
    if previous is None:
        return None
    if t <= previous:
        return "stamp did not increase"
    if t - previous > MAX_STAMP_STEP:
        return f"stamp jumped by more than {MAX_STAMP_STEP:g} s"
    return None


class OneEuroFilter:
    """Filters a fixed-size vector sampled at irregular times (seconds).

    ``config`` may be replaced between samples (live parameter changes).
    """

    def __init__(self, config: OneEuroConfig) -> None:
        self.config = config
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def reset(self) -> None:
        self._x = self._dx = self._t = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._dx is None or self._t is None or t <= self._t:
            # first sample, or time went backwards: start over from this sample
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return self._x.copy()
        dt = t - self._t
        dx = (x - self._x) / dt
        a_d = _alpha(self.config.d_cutoff, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.config.min_cutoff + self.config.beta * float(np.linalg.norm(self._dx))
        a = _alpha(cutoff, dt)
        self._x = a * x + (1 - a) * self._x
        self._t = t
        return self._x.copy()


class PoseFilter:
    """One-Euro on translation (m) and on the rotation's quaternion."""

    def __init__(self, config: OneEuroConfig) -> None:
        self._translation = OneEuroFilter(config)
        self._quaternion = OneEuroFilter(config)
        self._last_q: np.ndarray | None = None

    @property
    def config(self) -> OneEuroConfig:
        return self._translation.config

    @config.setter
    def config(self, config: OneEuroConfig) -> None:
        self._translation.config = self._quaternion.config = config

    def reset(self) -> None:
        self._translation.reset()
        self._quaternion.reset()
        self._last_q = None

    def __call__(
        self, rotation: np.ndarray, translation: np.ndarray, t: float
    ) -> tuple[np.ndarray, np.ndarray]:
        q = Rotation.from_matrix(rotation).as_quat()
        if self._last_q is not None and float(q @ self._last_q) < 0:
            q = -q  # q and -q are the same rotation: keep the path continuous
        self._last_q = q
        qf = self._quaternion(q, t)
        qf /= np.linalg.norm(qf)
        return Rotation.from_quat(qf).as_matrix(), self._translation(translation, t)
