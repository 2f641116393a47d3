"""Per-track signals over time: blinks, PERCLOS, yawns and glances away, from image stamps.

The rules (README "Driver-monitoring signals"):

- Eye closure ``c = clamp((EAR_open - EAR) / (EAR_open - SHUT_EAR), 0, 1)`` with the EAR
  averaged over the eyes that can be trusted, ``EAR_open`` this person's own open-eye EAR (the
  90th percentile of their EAR over the last ``BASELINE_WINDOW`` s; ``DEFAULT_OPEN_EAR`` until
  ``MIN_BASELINE_FRAMES`` frames are in), so it follows narrow and wide eyes alike and holds
  while the eyes are closed less than 90 % of that time; and ``SHUT_EAR`` the EAR FaceMesh
  gives a shut eye (its lids never quite meet: 0.04-0.08 measured on shut-eyed faces).
- Eyes closed while ``c >= CLOSED`` (EAR past halfway from open to shut). A closure runs from its
  first closed frame to its first open one; it is a blink when it lasts at most ``BLINK_MAX``
  s, else a long closure (counted apart: microsleep territory).
- PERCLOS (P80): the share of the last ``perclos_window`` s with ``c >= P80``, each frame
  weighing the time since the previous one (at most the allowed gap, below);
  ``perclos_coverage`` is the trusted time in the window it was measured over.
- Yawn: the mouth aspect ratio at least ``YAWN_MAR`` for at least ``YAWN_MIN`` s.
- Attention: away while the gaze (or head) direction is more than the threshold from the
  forward direction; a glance away that reaches ``LONG_GLANCE`` s is counted once.
- Frames where a signal cannot be trusted (eyes not visible, iris not found) are neither
  open nor closed: running timers hold. A gap without a trusted frame longer than the allowed
  gap abandons the episode in progress (not counted: its end is unknown). The allowed gap is
  ``MAX_GAP`` s or ``GAP_FRAMES`` times the stream's frame interval (the median of the last
  ``INTERVALS`` intervals, this one included), whichever is longer: a slow stream (the node
  drops frames under load, a CPU may give 1-2 Hz) still counts its episodes, while trust lost
  for a few frames still abandons them. A frame whose stamp is not after the previous one
  (looping bags, sim-time resets) is ignored: it returns the previous frame's summary.
  Signals live as long as the face's track: a face that is lost ends its track and its
  timers; a face found again starts afresh under a new id.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass

import numpy as np

BASELINE_WINDOW = 30.0  # s
MIN_BASELINE_FRAMES = 5
DEFAULT_OPEN_EAR = 0.28  # FaceMesh metric-mesh EAR of an open eye, until the person's is known
SHUT_EAR = 0.07  # FaceMesh metric-mesh EAR of a shut eye
CLOSED = 0.5
P80 = 0.8
BLINK_MAX = 1.0  # s
MAX_GAP = 0.5  # s
GAP_FRAMES = 2.5  # frame intervals a gap may last before it abandons an episode
INTERVALS = 9
YAWN_MAR = 0.6
YAWN_MIN = 1.0  # s
LONG_GLANCE = 3.0  # s, as driver-monitoring protocols count long distraction


class Episode:
    """Runs of a condition over time: its onset, and the duration of each run that ends."""

    def __init__(self) -> None:
        self.onset: float | None = None
        self._last_known: float | None = None

    def update(self, stamp: float, on: bool | None, max_gap: float = MAX_GAP) -> float | None:
        """Feed one frame (``None``: unknown); a run not seen for more than ``max_gap`` s is
        abandoned. Returns the duration of a run that ended here."""
        known = self._last_known
        if self.onset is not None and known is not None and stamp - known > max_gap:
            self.onset = None  # its end is unknown: abandoned, not counted
        if on is None:
            return None
        self._last_known = stamp
        if on and self.onset is None:
            self.onset = stamp
        elif not on and self.onset is not None:
            ended, self.onset = stamp - self.onset, None
            return ended
        return None

    def duration(self, stamp: float) -> float:
        """How long the current run has lasted (0 when none runs)."""
        return stamp - self.onset if self.onset is not None else 0.0


@dataclass(frozen=True)
class Summary:
    """A track's temporal signals at one frame (durations in s, stamps in s).

    ``closure`` and ``perclos`` are NaN when they cannot be measured (no trusted eye yet);
    ``blink`` is True on the frame a blink ended.
    """

    closure: float
    eyes_closed: bool
    closed_duration: float
    blink: bool
    blink_count: int
    last_blink_onset: float
    last_blink_duration: float
    long_closure_count: int
    open_ear: float
    perclos: float
    perclos_coverage: float
    yawning: bool
    yawn_duration: float
    yawn_count: int
    last_yawn_duration: float
    away: bool
    away_duration: float
    long_glance_count: int


class TrackSignals:
    """The temporal state of one face (module docstring for the rules).

    Args:
        perclos_window: PERCLOS window, s.
        attention_threshold_deg: away beyond this angle from the forward direction.
    """

    def __init__(self, perclos_window: float, attention_threshold_deg: float) -> None:
        self.perclos_window = perclos_window
        self.attention_threshold_deg = attention_threshold_deg
        self._ear_stamps: deque[float] = deque()  # the baseline window, stamps and EARs apart
        self._ears: deque[float] = deque()  # so the percentile reads them without a copy loop
        self._perclos: deque[tuple[float, float, bool]] = deque()
        self._covered = self._closed = 0.0  # running sums over _perclos
        self._previous: float | None = None
        self._intervals: deque[float] = deque(maxlen=INTERVALS)
        self._summary: Summary | None = None
        self._closure, self._yawn, self._away = Episode(), Episode(), Episode()
        self.blink_count = self.long_closure_count = self.yawn_count = 0
        self.long_glance_count = 0
        self._glance_counted = False
        self._last_blink = (math.nan, math.nan)
        self._last_yawn = math.nan
        self._open_ear = DEFAULT_OPEN_EAR

    def _add_perclos(self, stamp: float, dt: float, closed: bool) -> None:
        self._perclos.append((stamp, dt, closed))
        self._covered += dt
        self._closed += dt if closed else 0.0

    def open_ear(self) -> float:
        """This person's open-eye EAR (the module docstring's rule)."""
        n = len(self._ears)
        if n < MIN_BASELINE_FRAMES:
            return DEFAULT_OPEN_EAR
        # numpy's default (linear) 90th percentile, by partition: a frame's cost matters
        rank = 0.9 * (n - 1)
        below = int(rank)
        above = min(below + 1, n - 1)
        part = np.partition(np.fromiter(self._ears, np.float64, n), (below, above))
        return float(part[below] + (rank - below) * (part[above] - part[below]))

    def update(
        self, stamp: float, ear: float | None, mar: float | None, angle_deg: float | None
    ) -> Summary:
        """One frame: the trusted eyes' mean EAR, the mouth aspect ratio, the attention
        angle (each None or NaN when it cannot be trusted)."""
        ear, mar, angle_deg = (
            v if v is not None and math.isfinite(v) else None for v in (ear, mar, angle_deg)
        )
        if self._previous is not None and stamp <= self._previous and self._summary is not None:
            return self._summary  # time did not move forward: nothing to add
        interval = 0.0 if self._previous is None else stamp - self._previous
        self._previous = stamp
        if interval > 0:
            self._intervals.append(interval)
        max_gap = max(MAX_GAP, GAP_FRAMES * statistics.median(self._intervals or [0.0]))
        dt = min(interval, max_gap)
        closure = math.nan
        if ear is not None:
            self._ear_stamps.append(stamp)
            self._ears.append(ear)
            while self._ear_stamps[0] < stamp - BASELINE_WINDOW:
                self._ear_stamps.popleft()
                self._ears.popleft()
            self._open_ear = self.open_ear()
            span = max(self._open_ear - SHUT_EAR, 1e-6)
            closure = min(1.0, max(0.0, (self._open_ear - ear) / span))
            self._add_perclos(stamp, dt, closure >= P80)
        while self._perclos and self._perclos[0][0] <= stamp - self.perclos_window:
            _, old_dt, old_closed = self._perclos.popleft()
            self._covered -= old_dt
            self._closed -= old_dt if old_closed else 0.0
        onset = self._closure.onset
        ended = self._closure.update(stamp, None if ear is None else closure >= CLOSED, max_gap)
        blink = ended is not None and ended <= BLINK_MAX
        if blink:
            self.blink_count += 1
            self._last_blink = (float(onset), float(ended))
        elif ended is not None:
            self.long_closure_count += 1
        yawned = self._yawn.update(stamp, None if mar is None else mar >= YAWN_MAR, max_gap)
        if yawned is not None and yawned >= YAWN_MIN:
            self.yawn_count += 1
            self._last_yawn = yawned
        away_on = None if angle_deg is None else angle_deg > self.attention_threshold_deg
        self._away.update(stamp, away_on, max_gap)
        away = self._away.duration(stamp)
        if self._away.onset is None:
            self._glance_counted = False
        elif away >= LONG_GLANCE and not self._glance_counted:
            self._glance_counted = True
            self.long_glance_count += 1
        covered = self._covered if self._perclos else 0.0
        self._summary = Summary(
            closure=closure,
            eyes_closed=self._closure.onset is not None,
            closed_duration=self._closure.duration(stamp),
            blink=blink,
            blink_count=self.blink_count,
            last_blink_onset=self._last_blink[0],
            last_blink_duration=self._last_blink[1],
            long_closure_count=self.long_closure_count,
            open_ear=self._open_ear,
            perclos=min(1.0, max(0.0, self._closed / covered)) if covered > 1e-9 else math.nan,
            perclos_coverage=covered,
            yawning=self._yawn.duration(stamp) >= YAWN_MIN,
            yawn_duration=self._yawn.duration(stamp),
            yawn_count=self.yawn_count,
            last_yawn_duration=self._last_yawn,
            away=self._away.onset is not None,
            away_duration=away,
            long_glance_count=self.long_glance_count,
        )
        return self._summary
