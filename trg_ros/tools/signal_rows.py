"""The driver-monitoring signals as the demo records and draws them: one row per face and
frame (CSV/JSON columns) and the eye state and gaze drawn on the annotated image."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from trg_ros.core.camera import CameraModel

SIGNAL_COLUMNS = (
    "eye_valid_r", "eye_valid_l", "ear_r", "ear_l", "eye_open_r", "eye_open_l",
    "eye_closure", "eyes_closed", "eyes_closed_s", "blink", "blink_count",
    "long_closures", "perclos", "gaze_x", "gaze_y", "gaze_z", "mar", "jaw_open",
    "yawning", "yawn_count", "attention_source", "attention_deg", "away", "away_s",
    "long_glances",
)  # fmt: skip
SIGNAL_CONVENTIONS = (
    "_r/_l: the subject's right/left eye; ear: eye aspect ratio; eye_open: 1 - eyeBlink "
    "(blendshapes); eye_closure: 0 at the person's open EAR, 1 at a shut eye's; perclos: "
    "share of the window with closure >= 0.8; gaze_*: unit combined gaze in the camera "
    "optical frame; mar: mouth aspect ratio; attention_deg: angle from attention_forward; "
    "empty: cannot be trusted."
)
GAZE_LENGTH = 0.12  # m, the drawn gaze line
CLOSED_COLOUR, OPEN_COLOUR, GAZE_COLOUR = (255, 60, 60), (60, 230, 60), (255, 200, 40)


@dataclass
class SignalRow:
    """One face's ``face_signals`` entry of one frame, the fields the demo keeps."""

    values: dict[str, Any]
    gaze_origin: np.ndarray  # (3,) m, NaN where no iris was found
    gaze: np.ndarray  # (3,) unit

    @classmethod
    def from_msg(cls, f: Any) -> SignalRow:
        g, o = f.gaze, f.gaze_origin
        values = {
            "eye_valid_r": bool(f.eye_valid[0]),
            "eye_valid_l": bool(f.eye_valid[1]),
            "ear_r": float(f.eye_aspect_ratio[0]),
            "ear_l": float(f.eye_aspect_ratio[1]),
            "eye_open_r": float(f.eye_openness[0]),
            "eye_open_l": float(f.eye_openness[1]),
            "eye_closure": float(f.eye_closure),
            "eyes_closed": bool(f.eyes_closed),
            "eyes_closed_s": float(f.eyes_closed_duration),
            "blink": bool(f.blink),
            "blink_count": int(f.blink_count),
            "long_closures": int(f.long_closure_count),
            "perclos": float(f.perclos),
            "gaze_x": float(g.x),
            "gaze_y": float(g.y),
            "gaze_z": float(g.z),
            "mar": float(f.mouth_aspect_ratio),
            "jaw_open": float(f.jaw_open),
            "yawning": bool(f.yawning),
            "yawn_count": int(f.yawn_count),
            "attention_source": f.attention_source,
            "attention_deg": float(f.attention_angle),
            "away": bool(f.away),
            "away_s": float(f.away_duration),
            "long_glances": int(f.long_glance_count),
        }
        return cls(values, np.array([o.x, o.y, o.z]), np.array([g.x, g.y, g.z]))

    def csv(self) -> list[object]:
        """The columns' cells; NaN (cannot be trusted) is left empty."""
        out: list[object] = []
        for name in SIGNAL_COLUMNS:
            v = self.values[name]
            if isinstance(v, float):
                out.append("" if math.isnan(v) else f"{v:.4f}")
            else:
                out.append(int(v) if isinstance(v, bool) else v)
        return out


def blank_csv() -> list[object]:
    """The cells of a face without signals."""
    return [""] * len(SIGNAL_COLUMNS)


def draw_signals(
    out: np.ndarray, row: SignalRow, camera: CameraModel, box: np.ndarray, scale: int
) -> None:
    """Eye state and counts under the face box, and the gaze as a line from the eyes."""
    v = row.values
    closed = v["eyes_closed"]
    text = f"eyes {'CLOSED' if closed else 'open'}  blinks {v['blink_count']}"
    if not math.isnan(v["perclos"]):
        text += f"  PERCLOS {100 * v['perclos']:.0f}%"
    if v["yawning"]:
        text += "  YAWN"
    if v["away"]:
        text += f"  away {v['away_s']:.1f}s"
    x0, y1 = round(float(box[0])), round(float(box[3]))
    colour = CLOSED_COLOUR if closed else OPEN_COLOUR
    cv2.putText(
        out, text, (x0, y1 + 18 * scale), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, colour,
        scale, cv2.LINE_AA,
    )  # fmt: skip
    if np.isfinite(row.gaze).all() and np.isfinite(row.gaze_origin).all():
        ends = camera.project(
            np.stack([row.gaze_origin, row.gaze_origin + GAZE_LENGTH * row.gaze])
        )
        a, b = (tuple(int(c) for c in np.round(p)) for p in ends)
        cv2.arrowedLine(out, a, b, GAZE_COLOUR, 2 * scale, cv2.LINE_AA, tipLength=0.2)
