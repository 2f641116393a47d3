"""Health bookkeeping of the node: counters, latency and the diagnostics message."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from std_msgs.msg import Header

RATE_WINDOW = 10.0  # s over which the processed rate is measured
TRANSPORT_PLAUSIBLE = 10.0  # s; a longer stamp -> receive time means stamps of another clock
# Per-frame problems that a frame served without them clears.
FRAME_PROBLEMS = ("bad_image", "camera_info", "image_too_small", "internal", "unpaired")


def stage_times(
    moments: tuple[float, float, float, float, float],
    timings: dict[str, float],
    transport: float,
) -> dict[str, float]:
    """Seconds per stage of one frame.

    Args:
        moments: monotonic times it was received, taken up, converted, estimated, published.
        timings: the pipeline's own (detect, estimate, total; signals where it runs them).
        transport: receive wall time minus the image stamp; kept only when plausible (the
            camera stamps wall-clock time and both clocks agree).
    """
    received, started, converted, estimated, published = moments
    stages = {
        "queue": started - received,
        "convert": converted - started,
        "detect": timings["detect"],
        "estimate": timings["estimate"],
        "signals": timings.get("signals", 0.0),
        "track": timings["total"]
        - timings["detect"]
        - timings["estimate"]
        - timings.get("signals", 0.0),
        "publish": published - estimated,
    }
    if 0.0 <= transport < TRANSPORT_PLAUSIBLE:
        stages["transport"] = transport
    return stages


@dataclass
class Status:
    """Thread-safe counters shared by the callbacks, the worker and the diagnostics timer."""

    hardware_id: str = ""
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    problems: dict[str, str] = field(default_factory=dict)  # reason -> last message
    latencies: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=200)
    )
    processed_at: collections.deque[float] = field(default_factory=collections.deque)
    stage_times: dict[str, collections.deque[float]] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    def problem(self, reason: str, message: str, n: int = 1) -> None:
        """Frames (or faces) that could not be used: counted per reason, last message kept."""
        with self._lock:
            self.counts[f"dropped_{reason}"] += n
            self.problems[reason] = message

    def warn(self, reason: str, message: str) -> None:
        """A frame that was used despite a problem the user must know about (counted)."""
        with self._lock:
            self.counts[reason] += 1
            self.problems[reason] = message

    def frame_served(self, used_guess: bool, non_finite: int) -> None:
        """A frame went out: the per-frame problems it did not have are over."""
        with self._lock:
            for reason in FRAME_PROBLEMS + (() if used_guess else ("guessed_intrinsics",)):
                self.problems.pop(reason, None)
            if not non_finite:
                self.problems.pop("non_finite", None)

    def clear_problem(self, reason: str) -> None:
        with self._lock:
            self.problems.pop(reason, None)

    def processed(self, latency: float, faces: int) -> None:
        """A published frame: its processing latency (s) and face count."""
        now = self.clock()
        with self._lock:
            self.counts["processed"] += 1
            self.counts["faces"] += faces
            self.latencies.append(latency)
            self.processed_at.append(now)
            while self.processed_at and self.processed_at[0] < now - RATE_WINDOW:
                self.processed_at.popleft()

    def stages(self, **seconds: float) -> None:
        """Per-stage durations of one frame (queue, convert, detect, estimate, publish)."""
        with self._lock:
            for name, value in seconds.items():
                self.stage_times.setdefault(name, collections.deque(maxlen=200)).append(value)

    def stage_p50_ms(self) -> dict[str, float]:
        with self._lock:
            return {k: float(np.median(v)) * 1e3 for k, v in self.stage_times.items() if v}

    def rate(self) -> float:
        """Processed frames per second over the last ``RATE_WINDOW`` seconds."""
        now = self.clock()
        with self._lock:
            recent = [t for t in self.processed_at if t >= now - RATE_WINDOW]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(now - recent[0], 1e-6)

    def diagnostics(
        self, stamp, node_name: str, extra: dict[str, str], errors: bool = False
    ) -> DiagnosticArray:
        """One status; ``errors`` raises a problem to ERROR (e.g. the node cannot run)."""
        with self._lock:
            counts = dict(self.counts)
            problems = dict(self.problems)
            lat = np.array(self.latencies) if self.latencies else np.zeros(0)
        values = {
            "frames_received": counts.get("received", 0),
            "frames_processed": counts.get("processed", 0),
            "frames_dropped_busy": counts.get("dropped_busy", 0),
            "processed_rate_hz": f"{self.rate():.2f}",
            "faces_published": counts.get("faces", 0),
            "latency_p50_ms": f"{np.percentile(lat, 50) * 1e3:.1f}" if lat.size else "n/a",
            "latency_p90_ms": f"{np.percentile(lat, 90) * 1e3:.1f}" if lat.size else "n/a",
        }
        values.update(
            {
                k: v
                for k, v in counts.items()
                if k not in ("received", "processed", "faces", "dropped_busy")
            }
        )
        values.update({f"stage_{k}_p50_ms": f"{v:.1f}" for k, v in self.stage_p50_ms().items()})
        values.update(extra)
        level = DiagnosticStatus.OK
        message = "ok"
        if problems:
            level = DiagnosticStatus.ERROR if errors else DiagnosticStatus.WARN
            message = "; ".join(f"{k}: {v}" for k, v in sorted(problems.items()))
        status = DiagnosticStatus(
            level=level,
            name=f"{node_name}: head pose",
            message=message[:500],
            hardware_id=self.hardware_id,
        )
        status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        return DiagnosticArray(header=Header(stamp=stamp), status=[status])
