"""Health bookkeeping of the node: counters, latency and the diagnostics message."""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from std_msgs.msg import Header


@dataclass
class Status:
    """Thread-safe counters shared by the callbacks, the worker and the diagnostics timer."""

    hardware_id: str = ""
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    problems: dict[str, str] = field(default_factory=dict)  # reason -> last message
    latencies: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=200)
    )
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    def problem(self, reason: str, message: str) -> None:
        """A frame that could not be used: counted per reason, last message kept."""
        with self._lock:
            self.counts[f"dropped_{reason}"] += 1
            self.problems[reason] = message

    def warn(self, reason: str, message: str) -> None:
        """A frame that was used despite a problem the user must know about (counted)."""
        with self._lock:
            self.counts[reason] += 1
            self.problems[reason] = message

    def clear_problem(self, reason: str) -> None:
        with self._lock:
            self.problems.pop(reason, None)

    def latency(self, seconds: float) -> None:
        with self._lock:
            self.latencies.append(seconds)

    def diagnostics(self, stamp, node_name: str, extra: dict[str, str]) -> DiagnosticArray:
        with self._lock:
            counts = dict(self.counts)
            problems = dict(self.problems)
            lat = np.array(self.latencies) if self.latencies else np.zeros(0)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        values = {
            "frames_received": counts.get("received", 0),
            "frames_processed": counts.get("processed", 0),
            "frames_dropped_busy": counts.get("dropped_busy", 0),
            "processed_rate_hz": f"{counts.get('processed', 0) / elapsed:.2f}",
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
        values.update(extra)
        level = DiagnosticStatus.OK
        message = "ok"
        if problems:
            level = DiagnosticStatus.WARN
            message = "; ".join(f"{k}: {v}" for k, v in sorted(problems.items()))
        status = DiagnosticStatus(
            level=level,
            name=f"{node_name}: head pose",
            message=message[:500],
            hardware_id=self.hardware_id,
        )
        status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        return DiagnosticArray(header=Header(stamp=stamp), status=[status])


class LatestSlot:
    """Hands the newest item to one worker; an item replaced before it was taken is a drop."""

    def __init__(self) -> None:
        self._item: object | None = None
        self._cond = threading.Condition()
        self.closed = False

    def put(self, item: object) -> bool:
        """Store ``item``; returns True when it replaced one the worker never saw."""
        with self._cond:
            replaced = self._item is not None
            self._item = item
            self._cond.notify()
            return replaced

    def take(self, timeout: float = 0.2) -> object | None:
        with self._cond:
            if self._item is None and not self.closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
