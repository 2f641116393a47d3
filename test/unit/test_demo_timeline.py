"""The demo's timeline plot (tools/demo/timeline.py): each face's legend entry in the colour
of its lines, and the first panel named for what it plots (1 - eye_closure)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

from trg_ros.tools.demo.timeline import COLOURS, PANEL, PANELS, write_timeline
from trg_ros.tools.signal_rows import SignalRow


def row(face: str, stamp: float, closure: float) -> SimpleNamespace:
    values = {"eye_closure": closure, "eyes_closed": closure >= 0.5, "perclos": 0.1,
              "mar": 0.2, "yawning": False, "attention_deg": 10.0, "away": False}  # fmt: skip
    signals = SignalRow(values, np.zeros(3), np.ones(3))
    return SimpleNamespace(id=face, stamp=stamp, signals=signals)


def test_each_face_has_its_colour_in_the_legend(tmp_path: Path) -> None:
    rows = [row(face, t / 10, 0.1) for t in range(20) for face in ("a", "b", "c")]
    write_timeline(rows, tmp_path / "t.png")  # type: ignore[arg-type]
    image = cv2.imread(str(tmp_path / "t.png"))
    legend = image[PANEL * len(PANELS) :]
    for colour in COLOURS[:3]:
        assert (legend == colour).all(axis=2).any(), f"no legend text in {colour}"


def test_the_eye_panel_plots_one_minus_the_closure(tmp_path: Path) -> None:
    title, column = PANELS[0][:2]
    assert "closure" in title and "openness" not in title  # eye_openness is 1 - eyeBlink*
    rows = [row("a", t / 10, 0.25) for t in range(20)]
    write_timeline(rows, tmp_path / "t.png")  # type: ignore[arg-type]
    image = cv2.imread(str(tmp_path / "t.png"))
    top, bottom = 25, PANEL - 10
    ys = np.flatnonzero((image[top:bottom, 100:1000] == COLOURS[0]).all(axis=2).any(axis=1))
    assert ys.size, column
    level = 1 - ys.mean() / (bottom - top)  # value 0 at the bottom, 1 at the top
    assert abs(level - 0.75) < 0.03
