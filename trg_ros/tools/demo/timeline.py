"""The timeline plot ``trg-ros demo --video`` writes beside the video: 1 - eye closure, PERCLOS,
mouth opening with yawns, and the attention angle with the time away, per face over the clip
(drawn with OpenCV: no plotting library needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from trg_ros.tools.annotate import FaceRow

WIDTH, PANEL, MARGIN = 1100, 170, 60
OPEN_FROM_CLOSURE = "1 - eye_closure"  # not the eye_openness column (that is 1 - eyeBlink*)
# (title, value column, highlighted when this column is true, y range)
PANELS = (
    ("1 - eye closure (EAR; closed shaded)", OPEN_FROM_CLOSURE, "eyes_closed", (0.0, 1.0)),
    ("PERCLOS (P80)", "perclos", "", (0.0, 1.0)),
    ("mouth aspect ratio (yawns shaded)", "mar", "yawning", (0.0, 1.2)),
    ("attention angle, deg (away shaded)", "attention_deg", "away", (0.0, 90.0)),
)
COLOURS = ((40, 90, 220), (220, 90, 40), (40, 160, 60), (160, 40, 160))  # BGR per face


def _series(rows: list[FaceRow], column: str) -> np.ndarray:
    if column == OPEN_FROM_CLOSURE:
        return np.array([1.0 - r.signals.values["eye_closure"] for r in rows])
    return np.array([float(r.signals.values[column]) for r in rows])


def write_timeline(rows: list[FaceRow], path: Path) -> None:
    """Plot every face's signals over the stamps of ``rows`` into a PNG at ``path``."""
    rows = [r for r in rows if r.signals is not None]
    stamps = np.array([r.stamp for r in rows])
    t0, t1 = float(stamps.min()), float(max(stamps.max(), stamps.min() + 1e-3))
    image = np.full((PANEL * len(PANELS) + MARGIN, WIDTH, 3), 255, np.uint8)
    ids = sorted({r.id for r in rows})

    def x_of(t: np.ndarray) -> np.ndarray:
        return MARGIN + (t - t0) / (t1 - t0) * (WIDTH - 2 * MARGIN)

    for k, (title, column, flag, (lo, hi)) in enumerate(PANELS):
        top, bottom = k * PANEL + 25, (k + 1) * PANEL - 10
        cv2.rectangle(image, (MARGIN, top), (WIDTH - MARGIN, bottom), (180, 180, 180), 1)
        cv2.putText(image, title, (MARGIN, top - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
        for label, v in ((f"{hi:g}", hi), (f"{lo:g}", lo)):
            y = int(bottom - (v - lo) / (hi - lo) * (bottom - top))
            cv2.putText(image, label, (8, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (90, 90, 90), 1)
        for n, face in enumerate(ids):
            mine = [r for r in rows if r.id == face]
            x = x_of(np.array([r.stamp for r in mine]))
            values = np.clip(_series(mine, column), lo, hi)
            y = bottom - (values - lo) / (hi - lo) * (bottom - top)
            colour = COLOURS[n % len(COLOURS)]
            if flag:
                on = [bool(r.signals.values[flag]) for r in mine]
                for i in np.flatnonzero(on):
                    right = x[i + 1] if i + 1 < len(x) else x[i] + 2
                    shade = tuple(int(c * 0.3 + 255 * 0.7) for c in colour)
                    cv2.rectangle(image, (int(x[i]), top + 1), (int(right), bottom - 1), shade, -1)
            good = np.isfinite(y)
            points = np.column_stack([x[good], y[good]]).round().astype(np.int32)
            if len(points) > 1:
                cv2.polylines(image, [points], False, colour, 2, cv2.LINE_AA)
    bottom = PANEL * len(PANELS)
    cv2.putText(image, "0 s", (MARGIN, bottom + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (0, 0, 0), 1)  # fmt: skip
    cv2.putText(image, f"{t1 - t0:.1f} s", (WIDTH - MARGIN - 50, bottom + 20),
                cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)  # fmt: skip
    x = MARGIN + 200
    for n, face in enumerate(ids):  # each face's name in its line's colour
        label = f"face {face}"
        cv2.putText(image, label, (x, bottom + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    COLOURS[n % len(COLOURS)], 1)  # fmt: skip
        x += cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)[0][0] + 20
    cv2.imwrite(str(path), image)
