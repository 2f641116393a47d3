"""One frame of one face: eye and mouth aspect ratios, gaze per eye, validity.

Everything is measured on the metric mesh (FaceMesh's points at the fitted metric scale, in the
camera frame, m: :func:`trg_ros.core.facemesh.metric.metric_pose`), so the ratios hardly change
with head yaw or pitch, and on the iris centres in the image.

Gaze (per eye): the eyeball is a sphere of radius ``EYEBALL_RADIUS`` whose centre lies that
far behind the centroid of the eye's six lid points, along the face's backward axis; i.e. the
lid centroid is taken as the front of the eyeball when the eye looks straight out of the face.
The camera ray through the iris centre (468 subject's right, 473 left) meets the sphere's near
side at the iris; the gaze is the unit vector from the eyeball centre to it. Where the ray
misses the sphere the iris is not where the model puts an eye, and that eye has no gaze.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trg_ros.core.camera import CameraModel

# Eye aspect ratio points (Soukupova & Cech 2016 order p1..p6: corner, two upper lid points,
# the other corner, two lower lid points), subject's right and left eye.
RIGHT_EYE = (33, 160, 158, 133, 153, 144)
LEFT_EYE = (362, 385, 387, 263, 373, 380)
IRIS_CENTRE = {"right": 468, "left": 473}
IRIS_RING = {"right": (469, 470, 471, 472), "left": (474, 475, 476, 477)}
# Mouth aspect ratio: inner-lip corners, then three upper/lower inner-lip pairs.
MOUTH_CORNERS = (78, 308)
MOUTH_PAIRS = ((81, 178), (13, 14), (311, 402))

EYEBALL_RADIUS = 0.012  # m, an adult eyeball's mean radius
# An eye is trusted only while it faces the camera within this angle (the far eye of a face
# in profile is hidden by the nose) and is this wide in the image.
MAX_EYE_VIEW_DEG = 50.0
MIN_EYE_WIDTH_PX = 8.0
# The iris (and so the gaze) is trusted only on an eye at least this open (EAR) whose iris
# ring is a plausible size for the eye and whose centre lies between the corners.
MIN_EAR_FOR_IRIS = 0.1
IRIS_RADIUS_RANGE = (0.1, 0.4)  # iris ring radius / eye width
# The mouth is trusted only while it faces the camera within this angle (past it the far lip
# corner turns away and the MAR shrinks) and its inner corners are this far apart in the image.
MAX_MOUTH_VIEW_DEG = 45.0
MIN_MOUTH_WIDTH_PX = 10.0


@dataclass(frozen=True)
class EyeMeasure:
    """One eye in one frame; values are NaN where ``valid`` / ``gaze_valid`` are False.

    Attributes:
        valid: visible enough to measure (faces the camera, large enough).
        ear: eye aspect ratio on the metric mesh (open ~0.25-0.35, closed < ~0.1).
        gaze_valid: the iris was found (eye valid, open, ring plausible).
        gaze: (3,) unit gaze direction, camera optical frame.
        centre: (3,) eyeball centre, camera frame, m.
    """

    valid: bool
    ear: float
    gaze_valid: bool
    gaze: np.ndarray
    centre: np.ndarray


def aspect_ratio(points: np.ndarray, eye: tuple[int, ...]) -> float:
    """EAR: (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|) over (N, 2 or 3) points."""
    p = np.asarray(points, dtype=np.float64)[list(eye)].tolist()  # math.dist: per-frame cost
    width = math.dist(p[0], p[3])
    return (math.dist(p[1], p[5]) + math.dist(p[2], p[4])) / (2 * width) if width else math.nan


def mouth_aspect_ratio(points: np.ndarray) -> float:
    """MAR: mean inner-lip opening of three pairs over the inner-corner distance."""
    p = np.asarray(points, dtype=np.float64)
    width = float(np.linalg.norm(p[MOUTH_CORNERS[0]] - p[MOUTH_CORNERS[1]]))
    gaps = [np.linalg.norm(p[a] - p[b]) for a, b in MOUTH_PAIRS]
    return float(np.mean(gaps)) / width if width else math.nan


def facing_deg(points: np.ndarray, forward: np.ndarray) -> float:
    """Angle (deg) between the direction out of the face and the direction from the centroid
    of ``points`` (camera frame, m) to the camera."""
    return angle_deg(forward, -points.mean(0))


def measure_mouth(mesh: np.ndarray, face_landmarks: np.ndarray, forward: np.ndarray) -> float:
    """The MAR where the mouth can be trusted (faces the camera within
    ``MAX_MOUTH_VIEW_DEG``, at least ``MIN_MOUTH_WIDTH_PX`` wide), else NaN.

    Args:
        mesh: (468, 3) metric mesh, camera frame, m.
        face_landmarks: (478, 3) ``Head.face_landmarks``, raw image px.
        forward: (3,) unit direction out of the face, camera frame.
    """
    corners = list(MOUTH_CORNERS)
    width_px = float(np.linalg.norm(np.subtract(*face_landmarks[corners, :2])))
    mouth = mesh[corners + [i for pair in MOUTH_PAIRS for i in pair]]
    # `not <=`: a NaN angle (no direction to judge by) is not facing the camera
    if not facing_deg(mouth, forward) <= MAX_MOUTH_VIEW_DEG or width_px < MIN_MOUTH_WIDTH_PX:
        return math.nan
    return mouth_aspect_ratio(mesh)


def _ray(camera: CameraModel, uv: np.ndarray) -> np.ndarray:
    """Unit ray of the camera optical frame through raw image pixel ``uv``."""
    ideal = camera.undistort_pixels(np.asarray(uv, np.float64)[None])[0]
    k = camera.k
    y = (ideal[1] - k[1, 2]) / k[1, 1]
    d = np.array([(ideal[0] - k[0, 2] - k[0, 1] * y) / k[0, 0], y, 1.0])  # K^-1 (u, v, 1)
    return d / math.hypot(*d)


def sphere_hit(ray: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray | None:
    """Near intersection of a ray from the camera centre with a sphere; None where it
    misses."""
    along = float(ray @ centre)
    disc = along**2 - float(centre @ centre) + radius**2
    return ray * (along - math.sqrt(disc)) if disc >= 0 else None


def measure_eye(
    side: str,
    mesh: np.ndarray,
    face_landmarks: np.ndarray,
    forward: np.ndarray,
    camera: CameraModel,
) -> EyeMeasure:
    """One eye (``right`` or ``left``: the subject's).

    Args:
        side: ``right`` or ``left``.
        mesh: (468, 3) metric mesh, camera frame, m.
        face_landmarks: (478, 3) ``Head.face_landmarks``, raw image px.
        forward: (3,) unit direction out of the face, camera frame.
        camera: intrinsics of the image.
    """
    eye = RIGHT_EYE if side == "right" else LEFT_EYE
    nan3 = np.full(3, np.nan)
    lids = mesh[list(eye)]
    centroid = lids.mean(0)
    facing = facing_deg(lids, forward)
    px = face_landmarks[:, :2]
    width_px = math.dist(px[eye[0]], px[eye[3]])
    if not facing <= MAX_EYE_VIEW_DEG or width_px < MIN_EYE_WIDTH_PX:  # NaN: not facing
        return EyeMeasure(False, math.nan, False, nan3, nan3)
    ear = aspect_ratio(mesh, eye)
    centre = centroid - EYEBALL_RADIUS * forward
    iris = px[IRIS_CENTRE[side]]
    ring = float(np.linalg.norm(px[list(IRIS_RING[side])] - iris, axis=1).mean()) / width_px
    axis = px[eye[3]] - px[eye[0]]
    between = float((iris - px[eye[0]]) @ axis / (axis @ axis))
    iris_found = (
        ear >= MIN_EAR_FOR_IRIS
        and IRIS_RADIUS_RANGE[0] <= ring <= IRIS_RADIUS_RANGE[1]
        and 0.0 < between < 1.0
    )
    hit = sphere_hit(_ray(camera, iris), centre, EYEBALL_RADIUS) if iris_found else None
    if hit is None:
        return EyeMeasure(True, ear, False, nan3, centre)
    gaze = hit - centre
    return EyeMeasure(True, ear, True, gaze / math.hypot(*gaze), centre)


def combined_gaze(eyes: list[EyeMeasure]) -> tuple[np.ndarray, np.ndarray] | None:
    """(direction, origin) from the eyes whose iris was found: the mean direction, from the
    mean eyeball centre; None when neither was."""
    found = [e for e in eyes if e.gaze_valid]
    if not found:
        return None
    d = np.sum([e.gaze for e in found], axis=0)
    return d / np.linalg.norm(d), np.mean([e.centre for e in found], axis=0)


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two directions, degrees."""
    norms = math.hypot(*a) * math.hypot(*b)
    c = float(a @ b) / norms if norms else math.nan
    if not math.isfinite(c):  # a zero or NaN direction: no angle (never 180 deg, "away")
        return math.nan
    return math.degrees(math.acos(min(1.0, max(-1.0, c))))


def gaze_rotation(direction: np.ndarray, down: np.ndarray) -> np.ndarray:
    """(3, 3) columns x, y, z of a REP-155 gaze frame whose z is ``direction`` and whose y
    is as close to ``down`` (e.g. the head's gaze-frame y) as that allows."""
    z = direction / np.linalg.norm(direction)
    x = np.cross(down, z)
    x /= np.linalg.norm(x)
    return np.column_stack([x, np.cross(z, x), z])
