"""Face tracks across frames: IoU association (Hungarian), births, deaths and stable ids.

Each track predicts its box with a constant-velocity model, so a face that is hidden for a few
frames while it moves (one face passing behind another) is found again where it should be.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from trg_ros.core.boxes import iou
from trg_ros.core.detect.base import Detection
from trg_ros.core.smoothing import PoseFilter


@dataclass(frozen=True)
class TrackerConfig:
    """Attributes:
    iou_threshold: a detection continues a track only above this IoU with its last box.
    min_hits: detections needed before a track is reported (birth).
    max_age: frames a confirmed track survives without a detection (death after).
    id_prefix: put before every track id (e.g. a camera name, so ids of two cameras differ).
    """

    iou_threshold: float = 0.3
    min_hits: int = 1
    max_age: int = 5
    id_prefix: str = ""

    def __post_init__(self) -> None:
        if not 0.0 <= self.iou_threshold < 1.0:
            raise ValueError(f"iou_threshold must be in [0, 1), got {self.iou_threshold}")
        if self.min_hits < 1:
            raise ValueError(f"min_hits must be >= 1, got {self.min_hits}")
        if self.max_age < 0:
            raise ValueError(f"max_age must be >= 0, got {self.max_age}")


def track_id(n: int) -> str:
    """Short ids that start with a letter (REP-155): a, b, ..., z, ba, bb, ..."""
    letters = string.ascii_lowercase
    out = letters[n % 26]
    n //= 26
    while n:
        out = letters[n % 26] + out
        n //= 26
    return out


@dataclass
class Track:
    """One face followed over time."""

    id: str
    box: np.ndarray  # last face box (image px)
    score: float
    hits: int = 1
    misses: int = 0
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # of the detection
    follow: object | None = None  # the estimator's region for the next frame
    pose_filter: PoseFilter | None = None
    seen_this_frame: bool = True
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))  # px per frame

    def predicted_box(self) -> np.ndarray:
        return self.box + self.velocity * (self.misses + 1)

    def observe(self, detection: Detection) -> None:
        box = np.asarray(detection.box, float)
        step = (box - self.box) / (self.misses + 1)
        self.velocity = step if self.hits == 1 else 0.5 * self.velocity + 0.5 * step
        self.box, self.score, self.keypoints = box, detection.score, detection.keypoints
        self.hits, self.misses, self.seen_this_frame = self.hits + 1, 0, True

    def confirmed(self, config: TrackerConfig) -> bool:
        return self.hits >= config.min_hits


@dataclass
class Tracker:
    """Keeps tracks alive between detections.

    ``ids`` numbers new tracks; pass one counter to every tracker of a stream (the node keeps
    one for its whole life) and an id is never given twice, across restarts too.
    """

    config: TrackerConfig = field(default_factory=TrackerConfig)
    tracks: list[Track] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=itertools.count)

    def update(self, detections: list[Detection]) -> list[Track]:
        """Associate one frame's detections; returns the tracks seen in this frame."""
        for t in self.tracks:
            t.seen_this_frame = False
        matched_dets: set[int] = set()
        if self.tracks and detections:
            cost = np.ones((len(self.tracks), len(detections)))
            boxes = np.stack([d.box for d in detections])
            for i, t in enumerate(self.tracks):
                cost[i] = 1.0 - iou(t.predicted_box(), boxes)
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if 1.0 - cost[r, c] < self.config.iou_threshold:
                    continue
                self.tracks[r].observe(detections[c])
                matched_dets.add(c)
        for t in self.tracks:
            if not t.seen_this_frame:
                t.misses += 1
        self.tracks = [
            t
            for t in self.tracks
            if t.misses <= (self.config.max_age if t.confirmed(self.config) else 0)
        ]
        for c, d in enumerate(detections):
            if c not in matched_dets:
                box = np.asarray(d.box, float)
                new_id = self.config.id_prefix + track_id(next(self.ids))
                self.tracks.append(Track(new_id, box, d.score, keypoints=d.keypoints))
        return [t for t in self.tracks if t.seen_this_frame]

    def carry(self) -> list[Track]:
        """A frame without detection: confirmed tracks go on where the estimator follows them."""
        for t in self.tracks:
            t.seen_this_frame = t.confirmed(self.config) and t.follow is not None
        return [t for t in self.tracks if t.seen_this_frame]

    def drop(self, track: Track) -> None:
        self.tracks = [t for t in self.tracks if t is not track]
