"""The temporal rules of the driver-monitoring signals on synthetic time series with exact
expected counts and durations (core.signals.state)."""

from __future__ import annotations

import math

import pytest

from trg_ros.core.signals.state import LONG_GLANCE, TrackSignals

OPEN, CLOSED = 0.30, 0.03  # EAR: closure 0 and 0.9
FPS = 10.0


def run(ears: list[float | None], mars=None, angles=None, window: float = 60.0):
    """Feed a 10 Hz series; returns every frame's summary."""
    track = TrackSignals(window, 30.0)
    out = []
    for i, ear in enumerate(ears):
        mar = mars[i] if mars is not None else 0.1
        angle = angles[i] if angles is not None else 0.0
        out.append(track.update(i / FPS, ear, mar, angle))
    return out


def test_blinks_are_counted_with_onset_and_duration() -> None:
    ears = [OPEN] * 20 + [CLOSED] * 2 + [OPEN] * 20 + [CLOSED] * 3 + [OPEN] * 10
    out = run(ears)
    assert out[-1].blink_count == 2
    assert [i for i, s in enumerate(out) if s.blink] == [22, 45]
    assert out[-1].last_blink_onset == pytest.approx(4.2)
    assert out[-1].last_blink_duration == pytest.approx(0.3)
    assert out[21].eyes_closed and out[21].closed_duration == pytest.approx(0.1)
    assert not out[22].eyes_closed and out[22].closed_duration == 0.0
    assert out[-1].long_closure_count == 0


def test_a_closure_longer_than_a_second_is_no_blink() -> None:
    out = run([OPEN] * 20 + [CLOSED] * 15 + [OPEN] * 5)
    assert out[-1].blink_count == 0 and out[-1].long_closure_count == 1
    assert out[34].closed_duration == pytest.approx(1.4)


def test_a_one_frame_dropout_neither_splits_nor_ends_a_closure() -> None:
    ears = [OPEN] * 20 + [CLOSED] * 3 + [None] + [CLOSED] * 3 + [OPEN] * 5
    ears += [OPEN] * 5 + [None] + [OPEN] * 5  # nor makes a blink in open eyes
    out = run(ears)
    assert out[-1].blink_count == 1
    assert out[-1].last_blink_duration == pytest.approx(0.7)
    assert out[23].eyes_closed  # held through the unknown frame


def test_a_long_gap_abandons_the_closure() -> None:
    ears = [OPEN] * 20 + [CLOSED] * 3 + [None] * 8 + [OPEN] * 5
    out = run(ears)
    assert out[-1].blink_count == 0 and out[-1].long_closure_count == 0


def test_perclos_is_the_share_of_closed_time_in_the_window() -> None:
    # 10 s at 10 Hz, 2 s of it closed (P80); each frame weighs the 0.1 s before it
    ears = ([OPEN] * 40 + [CLOSED] * 10) * 2
    out = run(ears, window=60.0)
    assert out[-1].perclos == pytest.approx(2.0 / 9.9, abs=1e-9)
    assert out[-1].perclos_coverage == pytest.approx(9.9)
    # a 5 s window holds the frames after 4.9 s: 5 s, 1 s of it closed
    short = run(ears, window=5.0)
    assert short[-1].perclos == pytest.approx(0.2)
    assert short[-1].perclos_coverage == pytest.approx(5.0)


def test_perclos_skips_untrusted_frames_and_is_unknown_before_any() -> None:
    out = run([None] * 5 + [OPEN] * 5 + [None] * 5 + [CLOSED] * 5)
    assert math.isnan(out[3].perclos)
    # trusted: 0.5-0.9 s open and 1.5-1.9 s closed, each frame weighing 0.1 s
    assert out[-1].perclos == pytest.approx(0.5)
    assert out[-1].perclos_coverage == pytest.approx(1.0)


def test_the_open_eye_baseline_adapts_to_the_person() -> None:
    narrow = 0.18  # a narrow-eyed person: 0.08 is closed for them, not for the default
    out = run([narrow] * 50 + [0.08] * 3 + [narrow] * 5)
    assert out[-1].open_ear == pytest.approx(narrow)
    assert out[-1].blink_count == 1


def test_yawns_need_a_long_wide_open_mouth() -> None:
    mars = [0.1] * 10 + [0.8] * 5 + [0.1] * 10 + [0.8] * 25 + [0.1] * 5  # talk, then yawn
    out = run([OPEN] * len(mars), mars=mars)
    assert out[-1].yawn_count == 1
    assert out[-1].last_yawn_duration == pytest.approx(2.5)
    assert not out[14].yawning and out[35].yawning


def test_long_glances_away_are_counted_once_each() -> None:
    n_away = int(LONG_GLANCE * FPS) + 10
    angles = [0.0] * 10 + [45.0] * n_away + [0.0] * 5 + [45.0] * 10 + [0.0] * 3
    out = run([OPEN] * len(angles), angles=angles)
    assert out[-1].long_glance_count == 1
    assert out[10 + n_away - 1].away_duration == pytest.approx((n_away - 1) / FPS)
    assert out[-1].away_duration == 0.0 and not out[-1].away


def test_a_slow_stream_still_counts_its_episodes() -> None:
    # 1 Hz (a loaded node or a slow CPU): every frame trusted, 1 s apart
    track = TrackSignals(60.0, 30.0)
    ears = [OPEN] * 5 + [CLOSED] * 3 + [OPEN] * 3
    mars = [0.1] * 11 + [0.8] * 3 + [0.1] * 2
    angles = [0.0] * 16 + [45.0] * 5 + [0.0] * 2
    ears += [OPEN] * (len(angles) - len(ears))
    mars += [0.1] * (len(angles) - len(mars))
    series = enumerate(zip(ears, mars, angles, strict=True))
    out = [track.update(float(i), e, m, a) for i, (e, m, a) in series]
    last = out[-1]
    assert last.long_closure_count == 1 and last.blink_count == 0
    assert out[7].closed_duration == pytest.approx(2.0)
    assert last.yawn_count == 1 and last.last_yawn_duration == pytest.approx(3.0)
    assert last.long_glance_count == 1
    assert out[20].away_duration == pytest.approx(4.0)
    # PERCLOS weighs each frame by its full second: 3 closed of 22
    assert last.perclos == pytest.approx(3.0 / 22.0)
    assert last.perclos_coverage == pytest.approx(22.0)


def test_at_a_slow_rate_lost_trust_still_abandons() -> None:
    track = TrackSignals(60.0, 30.0)
    ears = [OPEN] * 5 + [CLOSED] * 2 + [None] * 3 + [OPEN] * 2  # 4 s unseen > 2.5 intervals
    out = [track.update(float(i), e, 0.1, 0.0) for i, e in enumerate(ears)]
    assert out[-1].blink_count == 0 and out[-1].long_closure_count == 0


def test_stamps_that_loop_back_or_stand_still_are_ignored() -> None:
    track = TrackSignals(60.0, 30.0)
    ears = [OPEN] * 20 + [CLOSED] * 3 + [OPEN] * 7
    stamps = [i / FPS for i in range(30)]
    stamps = [*stamps[:22], stamps[21], *stamps[:10], *stamps[22:]]  # stands, loops, resumes
    ears = [*ears[:22], CLOSED, *[OPEN] * 10, *ears[22:]]
    out = [track.update(t, e, 0.1, 0.0) for t, e in zip(stamps, ears, strict=True)]
    assert all(not s.blink for s in out[22:33])  # the repeated and looped frames add nothing
    assert out[-1].blink_count == 1
    assert out[-1].last_blink_onset == pytest.approx(2.0)
    assert out[-1].last_blink_duration == pytest.approx(0.3)
    assert out[-1].perclos_coverage == pytest.approx(2.9)
    assert out[-1].perclos == pytest.approx(0.3 / 2.9)


def test_an_untrusted_mouth_holds_the_yawn_timer() -> None:
    mars = [0.1] * 5 + [0.8] * 6 + [None] * 2 + [0.8] * 6 + [0.1] * 3
    out = run([OPEN] * len(mars), mars=mars)
    assert out[12].yawn_duration == pytest.approx(0.7)  # held, not ended
    assert out[-1].yawn_count == 1 and out[-1].last_yawn_duration == pytest.approx(1.4)


def test_non_finite_values_count_as_untrusted() -> None:
    """A NaN EAR, MAR or angle is a frame without that signal: the open-eye baseline does not
    move, and a glance away under way is not ended by it (it goes on, as over any short
    untrusted gap)."""
    track = TrackSignals(60.0, 30.0)
    for i in range(10):
        track.update(i / 10, 0.3, 0.2, 90.0)
    baseline = track.open_ear()
    before = track.update(1.0, 0.3, 0.2, 90.0)
    assert before.away
    out = track.update(1.1, math.nan, math.nan, math.nan)
    assert track.open_ear() == baseline and not out.eyes_closed
    assert out.away and out.away_duration == pytest.approx(before.away_duration + 0.1)
