"""Flow control for an offline source: a few frames in flight, keyed by stamp, resent only
when an answer is overdue by far more than the node's measured pace.

With reliable QoS and the node's every-frame hand-off no frame is lost in normal operation;
the window keeps the node busy while the previous answer is drawn and written, and the
resend is the safety net for what still goes missing (a process restarted, a full queue).
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable, Hashable

WINDOW = 3  # frames published and not yet answered
FIRST_RESEND = 5.0  # s before a frame is resent while no answer has come yet (model warm-up)
MIN_RESEND = 1.0  # s; never resend sooner
RESEND_FACTOR = 10.0  # ... nor sooner than this many times the median answer time
GIVE_UP = 60.0  # s after its first publication a frame is given up
PACE_SAMPLES = 50  # recent answer times the median is taken over


class Flow:
    """Which frames may be published now, and which are overdue."""

    def __init__(self, window: int = WINDOW, clock: Callable[[], float] = time.monotonic):
        self.window = window
        self._clock = clock
        self._first: dict[Hashable, float] = {}  # key -> first publication
        self._last: dict[Hashable, float] = {}  # key -> latest publication
        self._times: deque[float] = deque(maxlen=PACE_SAMPLES)
        self.resent = 0

    @property
    def in_flight(self) -> int:
        return len(self._first)

    def can_send(self) -> bool:
        return len(self._first) < self.window

    def sent(self, key: Hashable) -> None:
        now = self._clock()
        if key in self._first:
            self.resent += 1
        else:
            self._first[key] = now
        self._last[key] = now

    def answered(self, key: Hashable, at: float | None = None) -> float | None:
        """The answer to ``key`` came (at ``at`` on the clock, default now); its time since
        the latest publication sets the pace and is returned (the answer's latency). An
        answer to a frame given up is ignored (None)."""
        if key not in self._first:
            return None
        del self._first[key]
        latency = (self._clock() if at is None else at) - self._last.pop(key)
        self._times.append(latency)
        return latency

    def give_up(self, key: Hashable) -> None:
        self._first.pop(key, None)
        self._last.pop(key, None)

    def resend_after(self) -> float:
        """Seconds without an answer after which a frame is published again."""
        if not self._times:
            return FIRST_RESEND
        return max(MIN_RESEND, RESEND_FACTOR * statistics.median(self._times))

    def wait_for(self, key: Hashable) -> float:
        """Seconds from now until ``key`` is overdue (0 when it already is)."""
        return max(0.0, self._last[key] + self.resend_after() - self._clock())

    def expired(self, key: Hashable) -> bool:
        """``key`` has gone unanswered for :data:`GIVE_UP` seconds since it was first sent."""
        return self._clock() - self._first[key] >= GIVE_UP
