"""Work beside the demo's main loop: decoding ahead of it, and drawing + writing behind it.

Both keep their order, and both bound what they hold, so a long video never piles up in
memory; an error in the background thread is raised in the caller, never swallowed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_END = object()


def prefetch(items: Iterable[Any], depth: int = 4) -> Iterator[Any]:
    """``items`` produced by a thread of their own, at most ``depth`` ahead of the consumer
    (video decoding overlaps the node's work). Leaving the loop early stops the thread."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        """Queue ``item`` unless the consumer has left (then False)."""
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as e:  # handed to the consumer, raised there
            put(_Failure(e))

    thread = threading.Thread(target=produce, name="trg_demo_prefetch", daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not _END:
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class InOrder:
    """Runs ``work(item)`` for each put item on one thread, in the order put; at most
    ``depth`` items wait. :meth:`drain` waits until all are done and raises the first error."""

    def __init__(self, work: Callable[[Any], None], depth: int = 8) -> None:
        self._work = work
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="trg_demo_writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not _END:
            if self._error is None:  # after an error, the rest is only taken off the queue
                try:
                    self._work(item)
                except BaseException as e:
                    self._error = e
            self._queue.task_done()
        self._queue.task_done()

    def put(self, item: Any) -> None:
        self._raise()
        self._queue.put(item)

    def drain(self) -> None:
        self._queue.join()
        self._raise()

    def close(self) -> None:
        """End the thread after what is queued; errors are left to :meth:`drain`."""
        if self._thread.is_alive():
            self._queue.put(_END)
            self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error
