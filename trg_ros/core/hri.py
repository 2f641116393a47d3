"""What the ROS4HRI (REP-155) face topics carry, computed from a :class:`Head` and its image.

ROS-free: the ROS layer only copies these arrays into ``hri_msgs`` messages.

Boxes are in pixel-edge coordinates (the image spans [0, W] x [0, H], pixel ``u`` covers
[u, u + 1]); landmarks have pixel centres on integers, as K does, so a landmark at ``u`` lies at
edge coordinate ``u + 0.5``. Normalised values are edge coordinates divided by the image size.

- :func:`normalized_roi`: the face box divided by the image size, clipped to [0, 1].
- :func:`landmarks70`: the 70 points of ``hri_msgs/FacialLandmarks``. Indices 0-67 are the
  iBUG-68 indices themselves: the message's constants name them in the same order, including
  its backward runs (``RIGHT_EYE_BOTTOM_1 = 41``, ``LEFT_EYE_TOP_1 = 44``, the jaw's left side
  counted from the ear ``LEFT_EAR = 16`` down to ``LEFT_PROFILE_7 = 9``), so no reordering is
  needed; ``test/unit/test_hri.py`` checks the named constants against our landmark layout.
  68/69 are the subject's right/left pupil: FaceMesh's iris centres 468/473 where a landmarker
  ran (``Head.face_landmarks``), else confidence 0.
- :func:`crop_face`: the ROI's region (the box clipped to the image) resized to the ROS4HRI
  face image size.
- :func:`align_face`: the same region rotated about its centre so that the eyes are level.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from trg_ros.core.types import Head

N_LANDMARKS = 70
RIGHT_PUPIL, LEFT_PUPIL = 68, 69
IRIS_RIGHT, IRIS_LEFT = 468, 473  # FaceMesh v2 iris centres (subject's right, left)
RIGHT_EYE = slice(36, 42)  # iBUG-68: subject's right eye (image left for a frontal face)
LEFT_EYE = slice(42, 48)


def normalized_roi(box: np.ndarray, width: int, height: int) -> np.ndarray:
    """(4,) x_min, y_min, x_max, y_max of ``box`` (px) in [0, 1] image coordinates."""
    b = np.asarray(box, np.float64) / np.array([width, height, width, height], np.float64)
    return np.clip(b, 0.0, 1.0)


def landmarks70(head: Head, width: int, height: int) -> np.ndarray:
    """The ROS4HRI landmarks of one face.

    Args:
        head: the face; ``landmarks_2d`` (68, 2) px, ``face_landmarks`` (478, 3) or None.
        width, height: the image size, px.

    Returns:
        (70, 3) x, y normalised to [0, 1] ((0, 0) the top-left corner of the image, so a
        point at px ``u`` is at ``(u + 0.5) / width``, as MediaPipe normalises) and a confidence:
        1 for a point inside the image, 0 for one outside (then clipped to the border) and
        for pupils the estimator does not give.
    """
    pts = np.zeros((N_LANDMARKS, 2))
    conf = np.zeros(N_LANDMARKS)
    pts[:68] = np.asarray(head.landmarks_2d, np.float64)[:68, :2]
    conf[:68] = 1.0
    dense = head.face_landmarks
    if dense is not None and len(dense) > IRIS_LEFT:
        pts[RIGHT_PUPIL] = dense[IRIS_RIGHT, :2]
        pts[LEFT_PUPIL] = dense[IRIS_LEFT, :2]
        conf[[RIGHT_PUPIL, LEFT_PUPIL]] = 1.0
    # px have pixel centres on integers (like K); the message's (0, 0) is the image's corner
    norm = (pts + 0.5) / np.array([width, height], np.float64)
    inside = ((norm >= 0.0) & (norm <= 1.0)).all(axis=1) & np.isfinite(norm).all(axis=1)
    conf[~inside] = 0.0
    norm = np.clip(np.nan_to_num(norm), 0.0, 1.0)
    return np.concatenate([norm, conf[:, None]], axis=1)


def crop_face(image: np.ndarray, box: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The region :func:`normalized_roi` describes (the box clipped to the image, its edges
    rounded to whole pixels) resized to ``size``, so the image and the ROI sent with it agree
    also for a face at the border; black when the box lies wholly outside the image.

    Args:
        image: (H, W, C) or (H, W) uint8.
        box: (4,) x_min, y_min, x_max, y_max, px (pixel edges: pixel u spans [u, u + 1]).
        size: (width, height) of the result, px.

    Returns:
        (height, width, C) uint8.
    """
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (round(float(v)) for v in box)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((size[1], size[0], *image.shape[2:]), np.uint8)
    region = image[y0:y1, x0:x1]
    shrink = region.shape[1] > size[0] or region.shape[0] > size[1]
    return cv2.resize(region, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def roll(landmarks_2d: np.ndarray) -> float:
    """The eye line's angle in the image (rad, positive clockwise on screen since y points
    down): from the subject's right eye centre to the left one, 0 when the eyes are level."""
    right = np.asarray(landmarks_2d[RIGHT_EYE], np.float64).mean(axis=0)
    left = np.asarray(landmarks_2d[LEFT_EYE], np.float64).mean(axis=0)
    d = left - right
    return math.atan2(d[1], d[0])


def alignment(box: np.ndarray, angle: float, size: tuple[int, int]) -> np.ndarray:
    """(2, 3) affine map from image px to aligned-face px, both with pixel centres on integers
    (as landmarks and ``cv2.warpAffine``): rotate by ``-angle`` about the centre of ``box``
    (pixel edges) and scale the box to ``size``, so that the box's edges become the result's."""
    x0, y0, x1, y1 = (float(v) for v in box)
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2]) - 0.5  # as a pixel-centre coordinate
    sx, sy = size[0] / max(x1 - x0, 1e-6), size[1] / max(y1 - y0, 1e-6)
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, s], [-s, c]])  # undoes a rotation by +angle (image y down)
    a = np.diag([sx, sy]) @ rot
    t = (np.array(size, np.float64) - 1) / 2 - a @ centre
    return np.concatenate([a, t[:, None]], axis=1)


def align_face(image: np.ndarray, head: Head, size: tuple[int, int]) -> np.ndarray:
    """The face box, rotated about its centre by the eye line's roll so that the eyes are
    level, resized to ``size`` (width, height); black outside the image.

    Returns:
        (height, width, C) uint8.
    """
    m = alignment(head.box, roll(head.landmarks_2d), size)
    return cv2.warpAffine(
        image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


class TrackedLists:
    """Joins the ``tracked`` face lists of several cameras into one, for consumers that read
    a single ``/humans/faces/tracked``: each camera's latest list counts until a newer one of
    that camera replaces it, or until it is older than ``timeout`` (its node stopped), so a
    face of one camera never drops out of the joined list because the other camera spoke.

    Args:
        timeout: s after which a camera's last list no longer counts.
    """

    def __init__(self, timeout: float = 2.0) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 s, got {timeout}")
        self.timeout = timeout
        self._lists: dict[str, tuple[tuple[str, ...], float]] = {}

    def update(self, source: str, ids: list[str], now: float) -> list[str]:
        """``source``'s new list (received at ``now``, s); returns the joined list."""
        self._lists[source] = (tuple(ids), now)
        self.expire(now)
        return self.ids()

    def expire(self, now: float) -> bool:
        """Forget lists older than ``timeout``; True when that removed a face."""
        old = [s for s, (_, t) in self._lists.items() if now - t > self.timeout]
        removed = any(self._lists[s][0] for s in old)
        for s in old:
            del self._lists[s]
        return removed

    def ids(self) -> list[str]:
        """Every face of every camera's current list, sorted, each once."""
        return sorted({i for ids, _ in self._lists.values() for i in ids})
