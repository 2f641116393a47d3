"""The demo's background threads: decoding ahead and writing behind keep the order, bound
what they hold, and raise their errors in the caller."""

from __future__ import annotations

import threading
import time

import pytest

from trg_ros.tools.demo.background import InOrder, prefetch


def test_prefetch_keeps_the_order_and_stays_at_most_depth_ahead() -> None:
    made: list[int] = []

    def produce():
        for i in range(20):
            made.append(i)
            yield i

    got = []
    for item in prefetch(produce(), depth=3):
        time.sleep(0.01)
        # made: what was taken, what waits in the queue (3), and the one being put
        assert len(made) <= item + 1 + 3 + 1
        got.append(item)
    assert got == list(range(20))


def test_prefetch_raises_the_producers_error_in_the_consumer() -> None:
    def produce():
        yield 1
        raise ValueError("corrupt frame")

    got = []
    with pytest.raises(ValueError, match="corrupt frame"):
        for item in prefetch(produce()):
            got.append(item)
    assert got == [1]


def test_leaving_a_prefetch_early_stops_its_thread() -> None:
    def endless():
        i = 0
        while True:
            yield i
            i += 1

    frames = prefetch(endless(), depth=2)
    assert [next(frames) for _ in range(5)] == [0, 1, 2, 3, 4]
    frames.close()
    assert not any(t.name == "trg_demo_prefetch" for t in threading.enumerate())


def test_in_order_runs_each_item_once_in_order_and_drain_waits() -> None:
    done: list[int] = []

    def work(i: int) -> None:
        time.sleep(0.002 * (i % 3))  # uneven work does not reorder
        done.append(i)

    writer = InOrder(work, depth=4)
    for i in range(30):
        writer.put(i)
    writer.drain()
    assert done == list(range(30))
    writer.close()
    assert not any(t.name == "trg_demo_writer" for t in threading.enumerate())


def test_in_order_raises_the_first_error_at_drain_and_at_the_next_put() -> None:
    def work(i: int) -> None:
        if i == 2:
            raise OSError("disk full")

    writer = InOrder(work)
    for i in range(5):
        writer.put(i)
    with pytest.raises(OSError, match="disk full"):
        writer.drain()
    with pytest.raises(OSError, match="disk full"):
        writer.put(5)
    writer.close()


def test_leaving_after_the_source_ended_with_a_full_queue_does_not_hang() -> None:
    """The producer has put everything but the end mark into a full queue when the consumer
    leaves: the end mark must not block it forever."""
    frames = prefetch(iter(range(3)), depth=2)
    assert next(frames) == 0
    time.sleep(0.3)  # the producer is now waiting to put its end mark
    done = threading.Event()
    closer = threading.Thread(target=lambda: (frames.close(), done.set()), daemon=True)
    closer.start()
    assert done.wait(3), "closing the prefetch hung"
    assert not any(t.name == "trg_demo_prefetch" for t in threading.enumerate())
