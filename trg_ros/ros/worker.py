"""The hand-off from the executor thread to one processing thread: the newest frame (a live
camera) or every frame in order (an offline source played with reliable QoS)."""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from collections.abc import Callable

WORKER_THREAD = "trg_worker"
STOP_TIMEOUT = 30.0  # s a frame in flight may take to finish when the node deactivates
MAX_FRESHNESS_WAIT = 0.1  # s; cameras slower than 10 Hz are never waited for
QUEUE_LIMIT = 64  # frames waiting in every-frame mode before the oldest is dropped (memory)


class _Slot:
    """What both hand-offs share: a closable store the worker waits on without polling."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.closed = False
        self._ended = False  # take() has returned None: the worker left its loop

    def put(self, item: object) -> bool:
        """Store ``item``; True when an item the worker never saw was dropped for it."""
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _pop(self) -> object:
        raise NotImplementedError

    def _before_take(self) -> None:
        """Called with the lock held once an item is there (the live slot's freshness wait)."""

    def take(self) -> object | None:
        """The next item, waiting without polling; None once the slot is closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._ready() or self.closed)
            self._before_take()
            if self.closed:
                self._ended = True
                return None
            return self._pop()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._clear()
            self._cond.notify_all()

    def _clear(self) -> None:
        raise NotImplementedError

    def reopen(self) -> bool:
        """Undo :meth:`close` while the worker is still inside a frame; False when it has
        already seen the slot closed (it is ending)."""
        with self._cond:
            if self._ended:
                return False
            self.closed = False
            return True


class LatestSlot(_Slot):
    """Hands the newest item to one worker; an item replaced before it was taken is a drop.

    Freshness over throughput: when the worker comes back and the waiting item is already
    older than half the camera's frame interval, it waits (up to the rest of that interval)
    for the next one. A camera faster than the processing then costs frames, not latency;
    one slower than it never waits (the worker is idle when frames arrive).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._item: object | None = None
        self._clock = clock
        self._arrived = 0.0
        self._interval: float | None = None  # smoothed time between arrivals, s
        self._arrivals = 0

    @property
    def interval(self) -> float | None:
        return self._interval

    def put(self, item: object) -> bool:
        with self._cond:
            now = self._clock()
            if self._arrivals:
                gap = now - self._arrived
                self._interval = (
                    gap if self._interval is None else 0.8 * self._interval + 0.2 * gap
                )
            self._arrived, self._arrivals = now, self._arrivals + 1
            replaced = self._item is not None
            self._item = item
            self._cond.notify()
            return replaced

    def _ready(self) -> bool:
        return self._item is not None

    def _before_take(self) -> None:
        interval = self._interval
        if interval is None or interval >= MAX_FRESHNESS_WAIT or self.closed:
            return
        age = self._clock() - self._arrived
        if age > interval / 2:  # stale: the next frame is due within the interval
            seen = self._arrivals
            self._cond.wait_for(
                lambda: self._arrivals != seen or self.closed, interval - age + interval / 4
            )

    def _pop(self) -> object:
        item, self._item = self._item, None
        return item

    def _clear(self) -> None:
        self._item = None


class FifoSlot(_Slot):
    """Hands every item to the worker in arrival order (``every_frame``): for offline sources,
    whose publisher waits for answers, so the queue stays short. Only past ``limit`` waiting
    items is the oldest dropped, so a live camera set to this mode cannot exhaust memory."""

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        super().__init__()
        self._items: deque[object] = deque()
        self._limit = limit

    def put(self, item: object) -> bool:
        with self._cond:
            dropped = len(self._items) >= self._limit
            if dropped:
                self._items.popleft()
            self._items.append(item)
            self._cond.notify()
            return dropped

    def _ready(self) -> bool:
        return bool(self._items)

    def _pop(self) -> object:
        return self._items.popleft()

    def _clear(self) -> None:
        self._items.clear()


class FrameWorker:
    """One thread that processes the newest frame (or, with ``every_frame``, every frame in
    order); started on activate, stopped on deactivate.

    An exception in ``process`` is handed to ``on_error(exception, first_of_its_kind)`` (kind =
    type and place raised) and the thread goes on with the next frame.

    ``stop`` waits for the frame in flight, so a later ``start`` never finds two threads on
    the (not thread-safe) pipeline. A thread that does not finish within ``stop_timeout``
    goes on serving frames (a refused transition changes nothing), unless the stop is final.
    """

    def __init__(
        self,
        process: Callable[[object], None],
        on_error: Callable[[Exception, bool], None],
        stop_timeout: float = STOP_TIMEOUT,
    ) -> None:
        self._process = process
        self._stop_timeout = stop_timeout
        self._on_error = on_error
        self._error_kinds: set[tuple[str, str, int]] = set()
        self._slot: _Slot = LatestSlot()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, every_frame: bool = False) -> None:
        """Start the thread: with ``every_frame`` each offered frame is processed, in order."""
        if self.running:
            raise RuntimeError("the previous processing thread is still busy with a frame")
        self._slot = FifoSlot() if every_frame else LatestSlot()
        self._thread = threading.Thread(target=self._run, name=WORKER_THREAD, daemon=True)
        self._thread.start()

    def offer(self, item: object) -> bool:
        """Hand over a frame; True when one that was never processed was dropped for it."""
        return self._slot.put(item)

    def stop(self, final: bool = False) -> bool:
        """Stop after the frame in flight. False when the thread is still inside that frame
        after ``stop_timeout``: it then goes on serving frames as before, or, when ``final``
        (shutting down), ends after it."""
        self._slot.close()
        if self._thread is None:
            return True
        self._thread.join(self._stop_timeout)
        if self._thread.is_alive() and (final or self._slot.reopen()):
            return False
        self._thread.join()  # it saw the slot closed just now: it is leaving its loop
        self._thread = None
        return True

    def _run(self) -> None:
        slot = self._slot
        while (item := slot.take()) is not None:
            try:
                self._process(item)
            except Exception as e:  # one bad frame must not end the thread
                where = traceback.extract_tb(e.__traceback__)[-1]
                kind = (type(e).__name__, where.filename, where.lineno or 0)
                first = kind not in self._error_kinds
                self._error_kinds.add(kind)
                self._on_error(e, first)
