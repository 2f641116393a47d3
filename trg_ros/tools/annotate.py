"""Drawing results on frames, and the per-face pose table written by the demo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from trg_ros.core.camera import CameraModel
from trg_ros.core.frames import FACE_IN_HEAD
from trg_ros.tools.signal_rows import (
    SIGNAL_COLUMNS,
    SIGNAL_CONVENTIONS,
    SignalRow,
    blank_csv,
    draw_signals,
)

AXIS_LENGTH = 0.08  # m
AXIS_COLOURS = ((255, 60, 60), (60, 220, 60), (70, 110, 255))  # RGB for x, y, z
CSV_COLUMNS = (
    "stamp",
    "frame",
    "id",
    "model",
    "score",
    "x",
    "y",
    "z",
    "qx",
    "qy",
    "qz",
    "qw",
    "yaw_deg",
    "pitch_deg",
    "roll_deg",
    *SIGNAL_COLUMNS,
)
CONVENTIONS = (
    "x, y, z, q*: the REP-155 face_<id> frame (origin at the sellion; x out of the face, y to "
    "the person's left, z up) in the camera optical frame (x right, y down, z forward), metres. "
    "yaw, pitch, roll: scipy Rotation.from_matrix(R).as_euler('yxz', degrees=True) of R, the "
    "head -> camera rotation in TRG's head convention (x person's left, y down, z into the "
    "head; FaceMesh's canonical face is expressed in it too), "
    "the convention of the TRG paper's evaluation; all zero when the face looks straight into "
    "the camera. " + SIGNAL_CONVENTIONS
)


@dataclass
class FaceRow:
    """One face of one frame, as the demo records it."""

    stamp: float
    frame: int
    id: str
    model: str  # the estimator: trg or facemesh
    score: float
    position: np.ndarray  # (3,) m
    quaternion: np.ndarray  # (4,) x, y, z, w of face_<id> in the camera frame
    box: np.ndarray  # (4,) px
    landmarks_2d: np.ndarray  # (68, 2) px
    vertices: np.ndarray | None  # (N, 3) m: TRG 1220, FaceMesh 468
    signals: SignalRow | None = None  # driver-monitoring signals, where the node gave them

    def euler(self) -> np.ndarray:
        r_face = Rotation.from_quat(self.quaternion).as_matrix()
        return Rotation.from_matrix(r_face @ FACE_IN_HEAD.T).as_euler("yxz", degrees=True)

    def csv(self) -> list[object]:
        return [
            f"{self.stamp:.6f}",
            self.frame,
            self.id,
            self.model,
            f"{self.score:.4f}",
            *(f"{v:.5f}" for v in self.position),
            *(f"{v:.6f}" for v in self.quaternion),
            *(f"{v:.2f}" for v in self.euler()),
            *(self.signals.csv() if self.signals is not None else blank_csv()),
        ]


def rows_from(
    msg: Any, stamp: float, index: int, with_3d: bool, signals: Any = None
) -> list[FaceRow]:
    """The faces of a ``heads`` message (trg_ros/HeadPoseArray, any reader's type) and, where
    given, of its ``face_signals`` one."""
    by_id = {f.id: SignalRow.from_msg(f) for f in signals.faces} if signals is not None else {}
    rows = []
    for h in msg.heads:
        p, q = h.pose.position, h.pose.orientation
        verts = (
            np.asarray(h.dense_points, float).reshape(-1, 3)
            if with_3d and len(h.dense_points)
            else None
        )
        rows.append(
            FaceRow(
                stamp,
                index,
                h.id,
                h.model,
                h.score,
                np.array([p.x, p.y, p.z]),
                np.array([q.x, q.y, q.z, q.w]),
                np.asarray(h.box, float),
                np.asarray(h.landmarks_2d, float).reshape(-1, 2),
                verts,
                by_id.get(h.id),
            )
        )
    return rows


def draw(
    rgb: np.ndarray, faces: list[FaceRow], camera: CameraModel, triangles: np.ndarray | None = None
) -> np.ndarray:
    """Box, id, 68 landmarks, the face frame's axes, optionally the mesh, and the eye state
    and gaze where there are signals, on a copy."""
    out = rgb.copy()
    scale = max(1, round(max(out.shape[:2]) / 640))
    for f in faces:
        if triangles is not None and f.vertices is not None:
            uv = camera.project(f.vertices)
            polys = np.round(uv[triangles]).astype(np.int32)
            cv2.polylines(out, list(polys), True, (200, 200, 200), 1, cv2.LINE_AA)
        x0, y0, x1, y1 = (round(float(v)) for v in f.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), (255, 210, 0), scale)
        cv2.putText(
            out,
            f.id,
            (x0, max(12, y0 - 6)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6 * scale,
            (255, 210, 0),
            scale,
            cv2.LINE_AA,
        )
        for u, v in f.landmarks_2d:
            cv2.circle(out, (round(float(u)), round(float(v))), scale + 1, (0, 255, 255), -1)
        r = Rotation.from_quat(f.quaternion).as_matrix()
        pts = camera.project(np.vstack([f.position, f.position + AXIS_LENGTH * r.T]))
        o = tuple(int(c) for c in np.round(pts[0]))
        for tip, colour in zip(pts[1:], AXIS_COLOURS, strict=True):
            cv2.line(out, o, tuple(int(c) for c in np.round(tip)), colour, 2 * scale, cv2.LINE_AA)
        if f.signals is not None:
            draw_signals(out, f.signals, camera, f.box, scale)
    return out
