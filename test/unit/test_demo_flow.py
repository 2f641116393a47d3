"""The demo's flow control: a few frames in flight, resent only when far overdue against the
node's measured pace, given up after a minute."""

from __future__ import annotations

import pytest

from trg_ros.tools.demo.flow import FIRST_RESEND, GIVE_UP, MIN_RESEND, RESEND_FACTOR, Flow


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_window_bounds_the_frames_in_flight() -> None:
    flow = Flow(window=3, clock=Clock())
    for key in range(3):
        assert flow.can_send()
        flow.sent(key)
    assert not flow.can_send() and flow.in_flight == 3
    flow.answered(0)
    assert flow.can_send() and flow.in_flight == 2


def test_resend_waits_for_the_first_answer_then_follows_the_pace() -> None:
    clock = Clock()
    flow = Flow(window=2, clock=clock)
    flow.sent("a")
    assert flow.resend_after() == FIRST_RESEND  # the model's first frame may be slow
    assert flow.wait_for("a") == FIRST_RESEND
    for i in range(10):  # answers in 40 ms: the pace
        flow.sent(i)
        clock.now += 0.04
        flow.answered(i)
    assert flow.resend_after() == pytest.approx(max(MIN_RESEND, RESEND_FACTOR * 0.04))
    for i in range(10, 60):  # a slow model: 0.3 s a frame, over the recent answers
        flow.sent(i)
        clock.now += 0.3
        flow.answered(i)
    assert flow.resend_after() == pytest.approx(RESEND_FACTOR * 0.3)


def test_an_overdue_frame_is_due_again_counted_and_its_answer_sets_no_false_pace() -> None:
    clock = Clock()
    flow = Flow(clock=clock)
    flow.sent("lost")
    clock.now += FIRST_RESEND
    assert flow.wait_for("lost") == 0.0
    flow.sent("lost")  # published again
    assert flow.resent == 1 and flow.in_flight == 1
    clock.now += 0.05
    latency = flow.answered("lost", at=clock.now - 0.01)  # timed from the latest publication
    assert latency == pytest.approx(0.04)
    assert flow.resend_after() == MIN_RESEND and flow.in_flight == 0
    flow.sent("next")
    clock.now += 2.0  # its answer came 0.2 s after it was sent, but was read only now
    flow.answered("next", at=clock.now - 1.8)
    assert flow.resend_after() == pytest.approx(RESEND_FACTOR * (0.04 + 0.2) / 2)


def test_a_frame_unanswered_for_a_minute_is_given_up_and_a_late_answer_ignored() -> None:
    clock = Clock()
    flow = Flow(clock=clock)
    flow.sent("k")
    clock.now += GIVE_UP - 1
    assert not flow.expired("k")
    clock.now += 1
    assert flow.expired("k")
    flow.give_up("k")
    assert flow.in_flight == 0 and flow.can_send()
    assert flow.answered("k") is None  # came after all: ignored
    assert flow.in_flight == 0 and flow.resend_after() == FIRST_RESEND
