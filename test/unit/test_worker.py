"""The node's frame hand-off: one thread, deterministic stop, errors that do not end it."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("rclpy", reason="the ROS layer needs rclpy")

from trg_ros.ros.status import Status
from trg_ros.ros.worker import WORKER_THREAD, FrameWorker, LatestSlot


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
    done = threading.Event()

    def process(item: object) -> None:
        if item == "end":
            done.set()
        elif item == "value":
            raise ValueError("bad value")
        else:
            raise KeyError(item)

    worker = FrameWorker(process, lambda e, first: seen.append((type(e).__name__, first)))
    worker.start()
    for item in ("value", "value", "key", "value", "end"):
        worker.offer(item)
        time.sleep(0.05)  # one at a time: each offer is taken before the next
    assert done.wait(5)
    assert worker.stop()
    assert seen == [("ValueError", True), ("ValueError", False), ("KeyError", True),
                    ("ValueError", False)]  # fmt: skip


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
