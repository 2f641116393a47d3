"""The pipeline's signals stage: every tracked face of a frame -> :class:`FaceSignals`.

Works for either pose estimator: where a head carries no FaceMesh points (TRG), the FaceMesh
landmarker runs on the same faces (a ROI from the head's box, levelled on its iBUG-68 outer
eye corners) and fills ``Head.face_landmarks``. The metric mesh comes from those points
(:func:`~trg_ros.core.facemesh.metric.metric_pose`); the blendshape network, where it can run,
adds the 52 scores.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.device import pick_device
from trg_ros.core.errors import TRGError
from trg_ros.core.facemesh.canonical import NUM_VERTICES, CanonicalFace
from trg_ros.core.facemesh.config import FaceMeshConfig
from trg_ros.core.facemesh.estimator import FaceMeshEstimator
from trg_ros.core.facemesh.landmarker import FaceLandmarker, square_roi
from trg_ros.core.facemesh.metric import CANONICAL_IN_TRG_HEAD, metric_pose
from trg_ros.core.frames import GAZE_IN_FACE, face_pose
from trg_ros.core.signals.blendshapes import (
    EYE_BLINK_LEFT,
    EYE_BLINK_RIGHT,
    JAW_OPEN,
    BlendshapeNet,
)
from trg_ros.core.signals.geometry import (
    EyeMeasure,
    angle_deg,
    combined_gaze,
    gaze_rotation,
    measure_eye,
    measure_mouth,
)
from trg_ros.core.signals.state import Summary, TrackSignals
from trg_ros.core.types import Head

log = logging.getLogger(__name__)

GAZE_FROM = ("head", "eyes")
FACEMESH = FaceMeshEstimator.name
IBUG_OUTER_EYE_CORNERS = (36, 45)  # image left, right on an upright face


@dataclass(frozen=True)
class SignalConfig:
    """Settings of the signals stage (node parameters of the same names).

    Attributes:
        perclos_window: s of history PERCLOS is measured over.
        attention_forward: (3,) the direction that counts as attentive, camera optical frame
            (default: parallel to the optical axis, towards the camera; a fixed direction, so a
            face off the image centre that looks into the lens reads its angle off the axis).
        attention_threshold_deg: away beyond this angle from ``attention_forward``.
        gaze_from: ``eyes``: attention (and the gaze frame) follows the eyes where the iris
            is found, else the head; ``head``: always the head.
    """

    perclos_window: float = 60.0
    attention_forward: tuple[float, float, float] = (0.0, 0.0, -1.0)
    attention_threshold_deg: float = 30.0
    gaze_from: str = "head"

    def __post_init__(self) -> None:
        if self.perclos_window <= 0:
            raise ValueError(f"perclos_window must be > 0 s, got {self.perclos_window}")
        if len(self.attention_forward) != 3 or not np.linalg.norm(self.attention_forward) > 0:
            raise ValueError(
                f"attention_forward must be a non-zero 3-vector, got {self.attention_forward}"
            )
        if self.gaze_from not in GAZE_FROM:
            raise ValueError(f"gaze_from must be one of {GAZE_FROM}, got {self.gaze_from!r}")


@dataclass(frozen=True)
class FaceSignals:
    """One face's signals at one frame. NaN marks a value that cannot be trusted.

    Attributes:
        id: the track id (as ``Head.id``).
        eyes: the subject's right and left eye (:class:`EyeMeasure`).
        eye_open: (2,) right, left: ``1 - eyeBlink*`` (NaN where that eye is not valid or
            no blendshapes run).
        gaze: (3,) unit combined gaze (eyes), camera frame; NaN when no iris was found.
        gaze_origin: (3,) the mean eyeball centre, m.
        mar: mouth aspect ratio; NaN where the mouth cannot be trusted (turned away from
            the camera or too small: :func:`~trg_ros.core.signals.geometry.measure_mouth`).
        jaw_open: the ``jawOpen`` blendshape (NaN without blendshapes).
        attention_deg: angle between the attention direction and the forward one.
        attention_source: ``eyes`` or ``head``: which direction ``attention_deg`` measures.
        attention_direction: (3,) that direction, camera frame.
        blendshapes: (52,) scores, or (0,) where the network cannot run.
        summary: the temporal signals (:class:`~trg_ros.core.signals.state.Summary`).
    """

    id: str
    eyes: tuple[EyeMeasure, EyeMeasure]
    eye_open: np.ndarray
    gaze: np.ndarray
    gaze_origin: np.ndarray
    mar: float
    jaw_open: float
    attention_deg: float
    attention_source: str
    attention_direction: np.ndarray
    blendshapes: np.ndarray
    summary: Summary = field(repr=False)

    def gaze_rotation(self, head: Head) -> np.ndarray | None:
        """(3, 3) ``gaze_<id>`` -> camera when the eyes give it (z along the gaze, y as close
        to the head's gaze frame's y as that allows); None otherwise."""
        if not np.isfinite(self.gaze).all():
            return None
        return gaze_rotation(self.gaze, face_pose(head)[0] @ GAZE_IN_FACE[:, 1])


class SignalStage:
    """Signals of every face of a stream; keeps each track's temporal state.

    Args:
        face: MediaPipe's canonical face (for the metric mesh).
        landmarker: FaceMesh, for heads that carry no ``face_landmarks`` (TRG); None: such
            heads get no signals.
        blendshapes: the blendshape network; None: no blendshape scores.
        config: the settings; may be replaced between frames.
    """

    def __init__(
        self,
        face: CanonicalFace,
        landmarker: FaceLandmarker | None,
        blendshapes: BlendshapeNet | None,
        config: SignalConfig | None = None,
    ) -> None:
        self.face = face
        self.landmarker = landmarker
        self.blendshapes = blendshapes
        self.config = config or SignalConfig()
        self._tracks: dict[str, TrackSignals] = {}

    @classmethod
    def from_dir(
        cls,
        data_dir: str | Path,
        facemesh: FaceMeshConfig | None = None,
        config: SignalConfig | None = None,
    ) -> SignalStage:
        """Load from a folder laid out like the asset cache. The landmarker (for heads that
        come without FaceMesh points) runs where ``facemesh`` says; the blendshape network
        on the CPU with ``facemesh``'s runtime choice, and where it cannot run the stage goes on
        without its scores (logged).

        Raises:
            AssetError: the Face Landmarker bundle's files are missing.
        """
        facemesh = facemesh or FaceMeshConfig()
        d = Path(data_dir).expanduser()
        face = CanonicalFace.load(d)
        landmarker = FaceLandmarker.from_dir(
            d, pick_device(facemesh.device), facemesh.tflite_runtime
        )
        try:
            blendshapes: BlendshapeNet | None = BlendshapeNet.from_dir(d, facemesh.tflite_runtime)
        except (TRGError, OSError) as e:
            log.warning("face signals without blendshape scores: %s", e)
            blendshapes = None
        return cls(face, landmarker, blendshapes, config)

    def add_landmarks(self, image_rgb: np.ndarray, heads: list[Head]) -> list[Head]:
        """The heads, those without ``face_landmarks`` given FaceMesh's (one batch); a head
        where FaceMesh sees no face keeps None."""
        need = [i for i, h in enumerate(heads) if h.face_landmarks is None]
        if not need or self.landmarker is None:
            return heads
        rois = []
        for i in need:
            a, b = heads[i].landmarks_2d[list(IBUG_OUTER_EYE_CORNERS)]
            rois.append(square_roi(heads[i].box, a, b))
        out = list(heads)
        for i, found in zip(need, self.landmarker.landmarks(image_rgb, rois), strict=True):
            if found.present:  # continuous px -> pixel centres on integers (Head's convention)
                points = found.points - np.array([0.5, 0.5, 0.0])
                out[i] = dataclasses.replace(heads[i], face_landmarks=points)
        return out

    def forget(self, ids: Sequence[str]) -> None:
        """Drop the timers (blinks, PERCLOS, glances) of tracks that ended."""
        for track in ids:
            self._tracks.pop(track, None)

    def forget_all(self) -> None:
        """Drop every track's timers (the stamps reset: they were measured on another clock)."""
        self._tracks.clear()

    def process(
        self,
        image_rgb: np.ndarray,
        heads: Sequence[Head],
        camera: CameraModel,
        stamp: float,
        lost: Sequence[str] = (),
        attention_forward: np.ndarray | None = None,
    ) -> tuple[list[Head], dict[str, FaceSignals]]:
        """One frame: the heads (with FaceMesh points added) and the signals per face id.
        ``attention_forward`` (camera frame) replaces the configured direction for this frame:
        the node's, when it follows a TF frame that may move; NaNs: none is known, attention
        is not measured (NaN) and its timers hold."""
        self.forget(lost)
        heads = self.add_landmarks(image_rgb, list(heads))
        measured = [h for h in heads if h.face_landmarks is not None]
        scores = (
            self.blendshapes.scores([h.face_landmarks for h in measured])
            if self.blendshapes is not None
            else np.zeros((len(measured), 0), np.float32)
        )
        attentive = np.asarray(
            self.config.attention_forward if attention_forward is None else attention_forward,
            np.float64,
        )
        out = {
            h.id: self._signals(h, s, camera, stamp, attentive)
            for h, s in zip(measured, scores, strict=True)
        }
        return heads, out

    def _metric(
        self, head: Head, points: np.ndarray, camera: CameraModel
    ) -> tuple[np.ndarray, np.ndarray]:
        """(468, 3) metric mesh (camera frame, m) and the unit direction out of the face. The
        FaceMesh estimator's head already carries both (its 468 ``vertices`` are that mesh,
        its rotation the canonical face's); other heads get them fitted here."""
        if len(head.vertices) == NUM_VERTICES and head.model == FACEMESH:
            return head.vertices, (head.rotation @ CANONICAL_IN_TRG_HEAD)[:, 2]
        pose = metric_pose(points, camera, self.face)
        return pose.mesh, pose.rotation[:, 2]  # the canonical z points out of the face

    def _signals(
        self,
        head: Head,
        scores: np.ndarray,
        camera: CameraModel,
        stamp: float,
        attentive: np.ndarray,
    ) -> FaceSignals:
        c = self.config
        points = np.asarray(head.face_landmarks, np.float64)
        mesh, forward = self._metric(head, points, camera)
        eyes = tuple(measure_eye(s, mesh, points, forward, camera) for s in ("right", "left"))
        blink = (EYE_BLINK_RIGHT, EYE_BLINK_LEFT)
        eye_open = np.array(
            [
                1.0 - float(scores[k]) if len(scores) and e.valid else math.nan
                for e, k in zip(eyes, blink, strict=True)
            ]
        )
        gaze = combined_gaze(list(eyes))
        head_forward = face_pose(head)[0][:, 0]  # face_<id> x: out of the face
        source, direction = "head", head_forward
        if c.gaze_from == "eyes" and gaze is not None:
            source, direction = "eyes", gaze[0]
        attention = angle_deg(direction, attentive)  # NaN where attentive is unknown (NaNs)
        valid_ears = [e.ear for e in eyes if e.valid]
        mar = measure_mouth(mesh, points, forward)
        track = self._tracks.get(head.id)
        if track is None:
            track = self._tracks[head.id] = TrackSignals(
                c.perclos_window, c.attention_threshold_deg
            )
        track.perclos_window = c.perclos_window
        track.attention_threshold_deg = c.attention_threshold_deg
        summary = track.update(
            stamp,
            float(np.mean(valid_ears)) if valid_ears else None,
            mar,  # NaN ones count as untrusted there
            attention,
        )
        nan3 = np.full(3, np.nan)
        return FaceSignals(
            id=head.id,
            eyes=eyes,  # type: ignore[arg-type]
            eye_open=eye_open,
            gaze=gaze[0] if gaze is not None else nan3,
            gaze_origin=gaze[1] if gaze is not None else nan3,
            mar=mar,
            jaw_open=float(scores[JAW_OPEN]) if len(scores) else math.nan,
            attention_deg=attention,
            attention_source=source,
            attention_direction=direction,
            blendshapes=np.asarray(scores, np.float32),
            summary=summary,
        )
