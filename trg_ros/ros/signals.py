"""Pure conversions of the driver-monitoring signals: core FaceSignals -> FaceSignalsArray."""

from __future__ import annotations

import math

import numpy as np
from geometry_msgs.msg import Point, Vector3
from std_msgs.msg import Header

from trg_ros.core.signals.stage import FaceSignals
from trg_ros.msg import FaceSignals as FaceSignalsMsg
from trg_ros.msg import FaceSignalsArray
from trg_ros.ros.messages import float32s


def _vector(v: np.ndarray) -> Vector3:
    return Vector3(x=float(v[0]), y=float(v[1]), z=float(v[2]))


def signals_msg(s: FaceSignals, header: Header, with_blendshapes: bool) -> FaceSignalsMsg:
    """One face's message (field meanings in ``msg/FaceSignals.msg``)."""
    t = s.summary
    eyes = s.eyes
    msg = FaceSignalsMsg(
        header=header,
        id=s.id,
        eye_valid=[e.valid for e in eyes],
        eye_closure=t.closure,
        open_eye_aspect_ratio=t.open_ear,
        eyes_closed=t.eyes_closed,
        eyes_closed_duration=t.closed_duration,
        blink=t.blink,
        blink_count=t.blink_count,
        last_blink_onset=t.last_blink_onset,
        last_blink_duration=t.last_blink_duration,
        long_closure_count=t.long_closure_count,
        perclos=t.perclos,
        perclos_coverage=t.perclos_coverage,
        gaze_valid=[e.gaze_valid for e in eyes],
        eye_gaze=[_vector(e.gaze) for e in eyes],
        gaze=_vector(s.gaze),
        gaze_origin=Point(**dict(zip("xyz", map(float, s.gaze_origin), strict=True))),
        mouth_valid=math.isfinite(s.mar),
        mouth_aspect_ratio=s.mar,
        jaw_open=s.jaw_open,
        yawning=t.yawning,
        yawn_duration=t.yawn_duration,
        yawn_count=t.yawn_count,
        last_yawn_duration=t.last_yawn_duration,
        attention_source=s.attention_source,
        attention_angle=s.attention_deg,
        away=t.away,
        away_duration=t.away_duration,
        long_glance_count=t.long_glance_count,
    )
    msg.eye_aspect_ratio = np.array([e.ear for e in eyes], np.float32)
    msg.eye_openness = np.asarray(s.eye_open, np.float32)
    if with_blendshapes:
        msg.blendshapes = float32s(s.blendshapes)
    return msg


def signals_array(
    signals: dict[str, FaceSignals], header: Header, with_blendshapes: bool
) -> FaceSignalsArray:
    """Every face's signals of one frame, in the order the faces were given."""
    return FaceSignalsArray(
        header=header,
        faces=[signals_msg(s, header, with_blendshapes) for s in signals.values()],
    )


def gaze_arrows(signals: dict[str, FaceSignals]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per face id with a found iris: (origin, unit direction) of its gaze, camera frame."""
    return {
        k: (s.gaze_origin, s.gaze)
        for k, s in signals.items()
        if np.isfinite(s.gaze).all() and not math.isnan(s.gaze_origin[0])
    }
