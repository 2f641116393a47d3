"""Frame in, heads out: detect, track, estimate (TRG or FaceMesh), smooth. Plain Python."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.detect.base import Detection, FaceDetector
from trg_ros.core.estimate import Estimator, FaceQuery
from trg_ros.core.primary import PrimaryConfig, PrimarySelector
from trg_ros.core.signals.stage import FaceSignals, SignalConfig, SignalStage
from trg_ros.core.smoothing import OneEuroConfig, PoseFilter, stamp_problem
from trg_ros.core.track import Tracker, TrackerConfig
from trg_ros.core.types import Head

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineConfig:
    """Front-end settings; each is also a node parameter.

    Attributes:
        max_faces: most faces processed per frame, largest first.
        min_face_size: smaller detector boxes (px, shorter side) are ignored.
        detect_every: run the detector every N frames; confirmed tracks are carried by the
            estimator's own landmarks in between.
        refine_passes: 2 re-crops every face from its pass-1 landmarks and estimates again.
        smoothing: One-Euro filter the pose per track (raw values stay in the result).
        primary: when another face takes over as the primary one (:mod:`.primary`).
        signals: the driver-monitoring signals' settings (used where the pipeline has a
            signals stage).
    """

    max_faces: int = 8
    min_face_size: float = 24.0
    detect_every: int = 1
    refine_passes: int = 1
    smoothing: bool = True
    one_euro: OneEuroConfig = field(default_factory=OneEuroConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    primary: PrimaryConfig = field(default_factory=PrimaryConfig)
    signals: SignalConfig = field(default_factory=SignalConfig)

    def __post_init__(self) -> None:
        if self.max_faces < 1:
            raise ValueError(f"max_faces must be >= 1, got {self.max_faces}")
        if self.min_face_size < 0:
            raise ValueError(f"min_face_size must be >= 0, got {self.min_face_size}")
        if self.detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, got {self.detect_every}")
        if self.refine_passes not in (1, 2):
            raise ValueError(f"refine_passes must be 1 or 2, got {self.refine_passes}")


@dataclass
class FrameResult:
    """What one frame produced, with per-stage wall times in seconds."""

    heads: list[Head]
    timings: dict[str, float]
    lost_ids: list[str]  # tracks that ended in this frame
    non_finite: int = 0  # faces whose estimate had NaN/inf (dropped, their tracks ended)
    stamp_reset: bool = False  # the stamp went back or jumped: smoothing restarted
    primary: Head | None = None  # the primary face (one of heads), see core.primary
    signals: dict[str, FaceSignals] = field(default_factory=dict)  # per head id, see core.signals


class HeadPosePipeline:
    """Stateful per camera stream: keeps the tracks and filters between frames.

    ``ids`` numbers new face tracks (see :class:`~trg_ros.core.track.Tracker`): give a new
    pipeline of the same stream the old one's counter and no face id is ever reused.
    ``signals``, where given, adds each face's driver-monitoring signals to the result.
    """

    def __init__(
        self,
        estimator: Estimator,
        detector: FaceDetector | None,
        config: PipelineConfig | None = None,
        ids: Iterator[int] | None = None,
        signals: SignalStage | None = None,
    ) -> None:
        self.estimator = estimator
        self.signals = signals
        self.detector = detector
        self._config = config or PipelineConfig()
        self.tracker = Tracker(
            self._config.tracker, ids=ids if ids is not None else itertools.count()
        )
        self.primary = PrimarySelector(self._config.primary)
        self._frame = 0
        self._alive: set[str] = set()
        self._last_stamp: float | None = None
        self._stamp_warned: set[str] = set()
        self._pending: PipelineConfig | None = None
        self._pending_lock = threading.Lock()

    @property
    def config(self) -> PipelineConfig:
        return self._config

    @config.setter
    def config(self, config: PipelineConfig) -> None:
        """A new configuration applies from the next frame on, to existing tracks too. It may
        be set from another thread than the one processing frames: it is taken up at the
        start of the next frame, never in the middle of one."""
        with self._pending_lock:
            self._pending = config

    def _take_pending_config(self) -> None:
        with self._pending_lock:
            config, self._pending = self._pending, None
        if config is None:
            return
        self._config = config
        self.tracker.config = config.tracker
        self.primary.config = config.primary
        if self.signals is not None:
            self.signals.config = config.signals
        for track in self.tracker.tracks:
            if track.pose_filter is not None:
                track.pose_filter.config = config.one_euro

    def process(
        self,
        image_rgb: np.ndarray,
        camera: CameraModel,
        stamp: float,
        detections: Sequence[Detection] | None = None,
        attention_forward: np.ndarray | None = None,
    ) -> FrameResult:
        """One frame.

        Args:
            image_rgb: (H, W, 3) uint8 RGB.
            camera: intrinsics for this image size.
            stamp: capture time in seconds (drives the smoothing).
            detections: faces found elsewhere; when given, the detector is not run.
            attention_forward: (3,) the attentive direction for this frame (camera frame),
                instead of the signals configuration's.
        """
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        self._take_pending_config()
        stamp_reset = self._check_stamp(stamp)
        if stamp_reset and self.signals is not None:
            self.signals.forget_all()  # their timers and windows were measured on the old clock
        run_detector = detections is None and (
            self._frame % self.config.detect_every == 0
            or not any(t.confirmed(self.config.tracker) for t in self.tracker.tracks)
        )
        self._frame += 1
        found: list[Detection] | None = None
        if detections is not None:
            found = list(detections)
        elif run_detector and self.detector is not None:
            found = self.detector.detect(image_rgb)
        timings["detect"] = time.perf_counter() - t0
        if found is not None:
            found = [d for d in found if d.size >= self.config.min_face_size]
            found.sort(key=lambda d: -d.size)
            found = found[: self.config.max_faces]
            tracks = self.tracker.update(found)
        else:
            tracks = self.tracker.carry()
        queries = [
            FaceQuery(t.box, t.score, found is not None, t.keypoints, t.follow) for t in tracks
        ]
        t1 = time.perf_counter()
        estimates = self.estimator.estimate(image_rgb, queries, camera, self.config.refine_passes)
        timings["estimate"] = time.perf_counter() - t1
        out = []
        non_finite = 0
        for track, estimate in zip(tracks, estimates, strict=True):
            head = estimate.head
            if head is None:
                log.debug("track %s dropped: the estimator found no face there", track.id)
                self.tracker.drop(track)
                continue
            if not head.is_finite():
                non_finite += 1
                log.debug("track %s dropped: its estimate is not finite (NaN/inf)", track.id)
                self.tracker.drop(track)
                continue
            if estimate.follow is None or estimate.follow_size < self.config.min_face_size / 2:
                log.info("track %s dropped: its face region collapsed", track.id)
                self.tracker.drop(track)
                continue
            track.follow = estimate.follow
            if not track.confirmed(self.config.tracker):
                continue
            head = dataclasses.replace(head, id=track.id, box=np.asarray(track.box, float))
            if self.config.smoothing:
                if track.pose_filter is None:
                    track.pose_filter = PoseFilter(self.config.one_euro)
                r, t = track.pose_filter(head.rotation, head.translation, stamp)
                head = dataclasses.replace(head, smoothed_rotation=r, smoothed_translation=t)
            out.append(head)
        alive = {t.id for t in self.tracker.tracks if t.confirmed(self.config.tracker)}
        lost = sorted(self._alive - alive)
        self._alive = alive
        signals: dict[str, FaceSignals] = {}
        if self.signals is not None:
            t2 = time.perf_counter()
            out, signals = self.signals.process(
                image_rgb, out, camera, stamp, lost, attention_forward
            )
            timings["signals"] = time.perf_counter() - t2
        primary = self.primary.select(out, alive)
        timings["total"] = time.perf_counter() - t0
        return FrameResult(out, timings, lost, non_finite, stamp_reset, primary, signals)

    def end_tracks(self) -> list[str]:
        """End every track now (the stream stops, e.g. the node deactivates): a face seen
        after this gets a new id, as ids are never reused once their end was announced.
        The primary face and the stamp history go with them. Returns the ids that ended."""
        lost = sorted(self._alive)
        if self.signals is not None:
            self.signals.forget(lost)
        self.tracker.tracks = []
        self._alive = set()
        self.primary = PrimarySelector(self._config.primary)
        self._last_stamp = None
        return lost

    def _check_stamp(self, stamp: float) -> bool:
        """Restart every track's smoothing when time does not move forward plausibly;
        True when it did."""
        previous, self._last_stamp = self._last_stamp, stamp
        problem = stamp_problem(previous, stamp)
        if problem is None:
            return False
        if problem not in self._stamp_warned:
            self._stamp_warned.add(problem)
            log.warning(
                "%s (%.3f s after %.3f s): smoothing restarts from the raw pose (logged once)",
                problem,
                stamp,
                previous,
            )
        for track in self.tracker.tracks:
            if track.pose_filter is not None:
                track.pose_filter.reset()
        return True
