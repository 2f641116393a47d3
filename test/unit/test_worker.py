"""The node's frame hand-off: one thread, deterministic stop, errors that do not end it."""

from __future__ import annotations

import threading
import time

import pytest

from trg_ros.ros.status import Status
from trg_ros.ros.worker import WORKER_THREAD, FifoSlot, FrameWorker, LatestSlot


def workers() -> int:
    return sum(t.name == WORKER_THREAD for t in threading.enumerate())


def test_stop_waits_for_the_frame_in_flight_and_restart_leaves_one_thread() -> None:
    started, finished = threading.Event(), []

    def slow(item: object) -> None:
        started.set()
        time.sleep(0.5)
        finished.append(item)

    worker = FrameWorker(slow, lambda e, first: None)
    worker.start()
    worker.offer("frame 1")
    assert started.wait(5)
    assert worker.stop()
    assert finished == ["frame 1"]  # stop returned only after the frame was done
    assert workers() == 0
    worker.start()
    worker.offer("frame 2")
    deadline = time.monotonic() + 5
    while finished != ["frame 1", "frame 2"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert finished == ["frame 1", "frame 2"] and workers() == 1
    assert worker.stop() and workers() == 0


def test_a_second_start_beside_a_running_thread_is_refused() -> None:
    worker = FrameWorker(lambda item: None, lambda e, first: None)
    worker.start()
    with pytest.raises(RuntimeError, match="still busy"):
        worker.start()
    assert worker.stop()


def test_errors_are_reported_once_per_kind_and_the_thread_goes_on() -> None:
    seen: list[tuple[str, bool]] = []
    handled = threading.Semaphore(0)

    def process(item: object) -> None:
        if item == "value":
            raise ValueError("bad value")
        if item == "key":
            raise KeyError(item)

    def on_error(e: Exception, first: bool) -> None:
        seen.append((type(e).__name__, first))
        handled.release()

    worker = FrameWorker(process, on_error)
    worker.start()
    for item in ("value", "value", "key", "value"):
        worker.offer(item)  # one at a time: the next only once this one was handled
        assert handled.acquire(timeout=5)
    assert worker.running
    assert worker.stop()
    assert seen == [("ValueError", True), ("ValueError", False), ("KeyError", True),
                    ("ValueError", False)]  # fmt: skip


def test_a_refused_stop_leaves_the_worker_serving_frames() -> None:
    """A frame that outlasts the stop timeout refuses the stop (the node stays active); the
    worker then goes on with the next frames as if never stopped, and no second thread can
    start beside it."""
    release = threading.Event()
    done: list[str] = []

    def process(item: object) -> None:
        if item == "slow frame":
            release.wait(10)
        done.append(str(item))

    worker = FrameWorker(process, lambda e, first: None, stop_timeout=0.2)
    worker.start()
    worker.offer("slow frame")
    time.sleep(0.1)
    assert worker.stop() is False  # still in the frame: the caller must not tear down
    with pytest.raises(RuntimeError, match="still busy"):
        worker.start()
    release.set()
    deadline = time.monotonic() + 5
    while "slow frame" not in done and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.offer("next frame")
    while "next frame" not in done and time.monotonic() < deadline:
        time.sleep(0.01)
    assert done == ["slow frame", "next frame"] and workers() == 1
    assert worker.stop() is True and workers() == 0
    worker.start()
    assert workers() == 1 and worker.stop()


def test_a_final_stop_ends_the_worker_after_its_frame() -> None:
    release = threading.Event()
    done: list[str] = []
    worker = FrameWorker(
        lambda item: (release.wait(10), done.append(str(item))), lambda e, f: None, 0.2
    )
    worker.start()
    worker.offer("slow frame")
    time.sleep(0.1)
    assert worker.stop(final=True) is False
    release.set()
    deadline = time.monotonic() + 5
    while workers() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert workers() == 0 and done == ["slow frame"]
    worker.offer("too late")
    time.sleep(0.1)
    assert done == ["slow frame"]


def test_latest_slot_counts_replaced_items_and_wakes_on_close() -> None:
    slot = LatestSlot()
    assert slot.put(1) is False and slot.put(2) is True  # 1 was never taken: a drop
    assert slot.take() == 2
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(slot.take()))
    reader.start()
    time.sleep(0.1)
    slot.close()
    reader.join(2)
    assert not reader.is_alive() and got == [None]


def test_every_frame_mode_processes_each_frame_in_order_while_one_is_busy() -> None:
    """An offline source's frames that arrive while one is processed all get their turn, in
    order; the live hand-off keeps only the newest of them."""
    for every_frame, expected in ((True, [0, 1, 2, 3, 4, 5]), (False, [0, 5])):
        busy, release = threading.Event(), threading.Event()
        done: list[object] = []
        finished = threading.Semaphore(0)

        def process(item: object, busy=busy, release=release, done=done, fin=finished) -> None:
            if item == 0:
                busy.set()
                release.wait(10)
            done.append(item)
            fin.release()

        worker = FrameWorker(process, lambda e, first: None)
        worker.start(every_frame)
        worker.offer(0)
        assert busy.wait(5)
        drops = [worker.offer(i) for i in range(1, 6)]  # all while frame 0 is processed
        release.set()
        for _ in expected:
            assert finished.acquire(timeout=5)
        assert worker.stop()
        assert done == expected, (every_frame, done)
        assert sum(drops) == (0 if every_frame else 4)  # replaced ones are counted drops


def test_fifo_slot_drops_the_oldest_only_past_its_limit_and_wakes_on_close() -> None:
    slot = FifoSlot(limit=3)
    assert [slot.put(i) for i in range(4)] == [False, False, False, True]
    assert [slot.take() for _ in range(3)] == [1, 2, 3]
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(slot.take()))
    reader.start()
    time.sleep(0.05)
    slot.close()
    reader.join(2)
    assert not reader.is_alive() and got == [None]


def test_processed_rate_is_a_recent_window_not_a_lifetime_average() -> None:
    now = [0.0]
    status = Status(clock=lambda: now[0])
    for _ in range(101):  # 10 Hz for 10 s
        status.processed(0.01, 1)
        now[0] += 0.1
    assert status.rate() == pytest.approx(10.0, rel=0.02)
    now[0] += 60.0  # a minute without frames
    status.processed(0.01, 1)
    assert status.rate() == 0.0  # one frame in the window gives no rate
    for _ in range(20):  # then 2 Hz
        now[0] += 0.5
        status.processed(0.01, 1)
    assert status.rate() == pytest.approx(2.0, rel=0.02)
    assert status.counts["processed"] == 122


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def stream(slot: LatestSlot, clock: FakeClock, items: list[str], period: float) -> None:
    """Items arriving every ``period`` seconds of the fake clock."""
    for i, item in enumerate(items):
        if i:
            clock.now += period
        slot.put(item)


def test_a_stale_frame_waits_for_the_next_one_from_a_fast_camera() -> None:
    clock = FakeClock()
    slot = LatestSlot(clock)
    stream(slot, clock, ["f1", "f2", "f3", "f4", "f5"], 0.08)  # 12.5 Hz
    assert slot.interval == pytest.approx(0.08)
    clock.now += 0.05  # the worker comes back when f5 is 50 ms old, past half an interval
    fresh = threading.Timer(0.005, slot.put, args=("f6",))  # f6 arrives (it waits <= 50 ms)
    fresh.start()
    assert slot.take() == "f6"  # the newer frame, not the one that waited most of an interval
    fresh.join()


def test_a_fresh_frame_is_taken_at_once_and_a_slow_camera_never_waits() -> None:
    clock = FakeClock()
    slot = LatestSlot(clock)
    stream(slot, clock, ["a", "b", "c", "d"], 0.05)  # d just arrived
    t0 = time.monotonic()
    assert slot.take() == "d" and time.monotonic() - t0 < 0.04
    slow = LatestSlot(clock)
    stream(slow, clock, ["x", "y"], 0.15)  # under 10 Hz: freshness is not worth a wait
    clock.now += 0.14
    t0 = time.monotonic()
    assert slow.take() == "y" and time.monotonic() - t0 < 0.04
