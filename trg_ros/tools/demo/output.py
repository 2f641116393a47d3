"""What the demo keeps of each answered frame: the annotated image or video, and the pose
table (CSV and JSON), written in frame order."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.errors import TRGError
from trg_ros.tools.annotate import CONVENTIONS, CSV_COLUMNS, FaceRow, draw, rows_from
from trg_ros.tools.demo.background import InOrder
from trg_ros.tools.demo.player import FRAME_ID
from trg_ros.tools.demo.timeline import write_timeline
from trg_ros.tools.view.live import LiveView
from trg_ros.tools.view.scene import ViewFrame


class Output:
    """Draws and writes each answered frame. Drawing and video encoding run on a thread of
    their own (the node works on the next frames meanwhile), except with ``show``: OpenCV's
    window belongs to the main thread. With ``view``, each annotated frame is also offered
    to the browser view (which drops what it cannot show, so the output never waits)."""

    def __init__(
        self,
        out: Path,
        video: bool,
        triangles: np.ndarray | None,
        mesh: bool,
        show: bool,
        view: LiveView | None = None,
    ) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.out, self._video, self._triangles, self._mesh = out, video, triangles, mesh
        self._show, self._view = show, view
        self._writer: cv2.VideoWriter | None = None
        self.rows: list[FaceRow] = []
        self.frames = 0
        self._background = None if show else InOrder(self._write)

    def add(
        self,
        index: int,
        rgb: np.ndarray,
        camera: CameraModel,
        stamp: float,
        msg: Any,
        signals: Any = None,
        latency: float | None = None,
    ):
        """One answered frame; ``latency``: s from its publication to its answer (the
        view's panel shows it)."""
        faces = rows_from(msg, stamp, index, self._mesh or self._view is not None, signals)
        # the dense points are drawn with --mesh; for the view alone, only its frame has them
        self.rows += faces if self._mesh else [replace(f, vertices=None) for f in faces]
        self.frames += 1
        item = (rgb, faces, camera, latency)
        if self._background is not None:
            self._background.put(item)
        else:
            self._show_frame(self._write(item))

    def _write(
        self, item: tuple[np.ndarray, list[FaceRow], CameraModel, float | None]
    ) -> np.ndarray:
        rgb, faces, camera, latency = item
        annotated = draw(rgb, faces, camera, self._triangles)
        if self._view is not None:
            self._view.offer(ViewFrame(annotated, camera, faces, latency))
        bgr = cv2.cvtColor(annotated, cv2.COLOR_RGB2BGR)
        if not self._video:
            cv2.imwrite(str(self.out / "annotated.png"), bgr)
            return bgr
        if self._writer is None:
            h, w = bgr.shape[:2]
            path = self.out / "annotated.mp4"
            fourcc = cv2.VideoWriter_fourcc(*"mp4v")
            self._writer = cv2.VideoWriter(str(path), fourcc, 30.0, (w, h))
            if not self._writer.isOpened():
                raise TRGError(f"cannot write the video {path} (OpenCV's mp4v writer)")
        self._writer.write(bgr)
        return bgr

    def _show_frame(self, bgr: np.ndarray) -> None:
        try:
            cv2.imshow("trg-ros demo", bgr)
            cv2.waitKey(1)
        except cv2.error as e:
            raise TRGError(
                f"--show needs an OpenCV build with GUI support ({e}); the annotated "
                "output is written to --out anyway"
            ) from e

    def finish(self) -> None:
        """Wait for every queued frame, close the video and write the tables (and, for a
        video with signals, the timeline plot)."""
        try:
            if self._background is not None:
                self._background.drain()
        finally:
            self.close()
        self._write_tables()
        if self._video and any(r.signals is not None for r in self.rows):
            write_timeline(self.rows, self.out / "timeline.png")

    def close(self) -> None:
        if self._background is not None:
            self._background.close()
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def _write_tables(self) -> None:
        with (self.out / "poses.csv").open("w", newline="") as f:
            f.write(f"# {CONVENTIONS}\n")
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            w.writerows(r.csv() for r in self.rows)
        data = {
            "conventions": CONVENTIONS,
            "frame_id": FRAME_ID,
            "poses": [
                dict(zip(CSV_COLUMNS, r.csv(), strict=True)) | {"box": r.box.tolist()}
                for r in self.rows
            ],
        }
        (self.out / "poses.json").write_text(json.dumps(data, indent=1))
