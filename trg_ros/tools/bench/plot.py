"""``trg-ros bench --plot``: where the time of a frame goes, baseline against ours.

Drawn with OpenCV (already a dependency): one horizontal bar per variant, split into its
stages, on a common millisecond axis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

COLOURS = {  # BGR
    "transport": (240, 220, 200),
    "queue": (180, 180, 180),
    "convert": (200, 160, 80),
    "detect": (80, 170, 230),
    "estimate": (90, 90, 220),
    "signals": (60, 200, 230),
    "track": (200, 120, 200),
    "publish": (120, 200, 120),
    "return": (230, 200, 200),
    "TRG forward": (60, 60, 160),
}
WIDTH, ROW, LEFT, TOP = 1100, 46, 330, 70


def bars(result: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
    """(label, {stage: ms}) rows from a bench result, one face at 640x480."""
    rows = [("bare TRG, official-style (b1)",
             {"TRG forward": result["trg_forward"]["official-style fp32 eager"]})]  # fmt: skip
    for r in result["pipeline"]:
        if r["faces"] == 1:
            stages = {k: r[f"{k}_p50_ms"] for k in ("convert", "detect", "estimate")}
            rows.append((f"core pipeline, {r['variant']}", stages))
    for model, entry in result["node"].items():
        stages = dict(entry["stages_p50_ms"])
        known = sum(v for v in stages.values() if np.isfinite(v))
        stages["return"] = max(0.0, entry["p50_ms"] - known)  # heads back to the camera side
        rows.append((f"node over DDS, {model}", stages))
    return rows


def stage_bars(result: dict[str, Any], path: Path) -> None:
    """Write the per-stage latency bars of a ``trg-ros bench`` result as a PNG."""
    rows = bars(result)
    longest = max(sum(v for v in stages.values() if np.isfinite(v)) for _, stages in rows)
    scale = (WIDTH - LEFT - 80) / max(longest, 1e-6)
    height = TOP + ROW * len(rows) + 90
    img = np.full((height, WIDTH, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, "Latency per frame, 640x480, one face (p50, ms)", (20, 35), font, 0.8,
                (0, 0, 0), 2, cv2.LINE_AA)  # fmt: skip
    for i, (label, stages) in enumerate(rows):
        y = TOP + i * ROW
        cv2.putText(img, label, (20, y + 28), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
        x = float(LEFT)
        for stage, ms in stages.items():
            if not np.isfinite(ms) or ms <= 0:
                continue
            x1 = x + ms * scale
            cv2.rectangle(img, (int(x), y + 8), (int(x1), y + ROW - 8), COLOURS[stage], -1)
            x = x1
        total = sum(v for v in stages.values() if np.isfinite(v))
        cv2.putText(img, f"{total:.1f}", (int(x) + 6, y + 28), font, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)  # fmt: skip
    y = TOP + ROW * len(rows) + 30
    x = 20
    for stage, colour in COLOURS.items():
        cv2.rectangle(img, (x, y), (x + 18, y + 18), colour, -1)
        cv2.putText(img, stage, (x + 24, y + 15), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        x += 26 + 11 * len(stage)
    if not cv2.imwrite(str(path), img):
        raise OSError(f"cannot write {path}")
