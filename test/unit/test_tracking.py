"""Tracking on synthetic sequences made from a real face, with the real detector."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from trg_ros.core.detect.blazeface import BlazeFace
from trg_ros.core.track import Tracker, TrackerConfig, track_id

FACE = np.ascontiguousarray(skimage.data.astronaut()[40:210, 140:310])  # 170 x 170 px


@pytest.fixture(scope="module")
def detector(detector_weights: Path) -> BlazeFace:
    return BlazeFace(detector_weights)


def canvas(placements: list[tuple[int, int]], size: tuple[int, int] = (480, 640)) -> np.ndarray:
    img = np.full((*size, 3), 90, np.uint8)
    for x, y in placements:
        img[y : y + FACE.shape[0], x : x + FACE.shape[1]] = FACE
    return img


def ids_over(detector: BlazeFace, frames: list[np.ndarray], tracker: Tracker) -> list[list[str]]:
    return [[t.id for t in tracker.update(detector.detect(f))] for f in frames]


def test_one_face_moving_scaling_rolling_keeps_its_id(detector: BlazeFace) -> None:
    base = canvas([(235, 150)])
    frames = []
    for i in range(30):
        m = cv2.getRotationMatrix2D((320, 235), angle=i * 0.8, scale=1.0 - i * 0.01)
        m[:, 2] += (i * 4, i * 1.5)
        frames.append(cv2.warpAffine(base, m, (640, 480), borderValue=(90, 90, 90)))
    ids = ids_over(detector, frames, Tracker())
    assert all(len(f) == 1 for f in ids)
    assert {f[0] for f in ids} == {"a"}


def test_two_faces_crossing_do_not_swap(detector: BlazeFace) -> None:
    tracker = Tracker(TrackerConfig(max_age=8))
    history: dict[str, list[float]] = {}
    for i in range(25):
        img = canvas([(20 + i * 18, 60), (450 - i * 18, 150)])  # the lower face passes in front
        for t in tracker.update(detector.detect(img)):
            history.setdefault(t.id, []).append(float(t.box[0]))
    assert sorted(history) == ["a", "b"]  # the hidden face came back under its old id
    moves = {k: np.diff(v) for k, v in history.items()}
    # Each id keeps moving one way: one always right, the other always left.
    directions = sorted(np.sign(np.median(m)) for m in moves.values())
    assert directions == [-1.0, 1.0]
    assert all(np.all(np.sign(m) == np.sign(np.median(m))) for m in moves.values())


def test_face_that_leaves_long_gets_a_new_id(detector: BlazeFace) -> None:
    tracker = Tracker(TrackerConfig(max_age=3))
    present, empty = canvas([(235, 150)]), canvas([])
    seq = [present] * 3 + [empty] * 2 + [present] * 2 + [empty] * 6 + [present] * 2
    ids = ids_over(detector, seq, tracker)
    assert ids[:3] == [["a"]] * 3 and ids[5:7] == [["a"]] * 2  # short absence: same id
    assert ids[-2:] == [["b"]] * 2  # long absence: a new id


def test_ids_are_short_and_start_with_a_letter() -> None:
    ids = [track_id(n) for n in range(800)]
    assert len(set(ids)) == 800
    assert all(i[0].isalpha() and len(i) <= 3 for i in ids)


def test_min_hits_delays_birth() -> None:
    from trg_ros.core.detect.base import Detection

    tracker = Tracker(TrackerConfig(min_hits=3))
    det = [Detection(np.array([10.0, 10, 60, 60]), 0.9)]
    seen = [tracker.update(det)[0].confirmed(tracker.config) for _ in range(3)]
    assert seen == [False, False, True]
