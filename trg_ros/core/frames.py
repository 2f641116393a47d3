"""Head frame -> REP-155 ``face_<id>`` and ``gaze_<id>`` frames, in one place.

The head frame is TRG's (FaceMesh's canonical frame is expressed in it too): x to the
person's left, y down, z into the head, origin near the face centre. REP-155 ``face_<id>``:
origin at the sellion, x out of the face (where the person looks), y to the person's left,
z up. ``gaze_<id>``: same origin, z along the face's x, y down and x to the person's right
(image left when they face the camera), which keeps the frame right-handed in the optical
convention.
"""

from __future__ import annotations

import numpy as np

from trg_ros.core.types import Head

# Columns: the face frame's x, y, z axes expressed in TRG head coordinates.
FACE_IN_HEAD = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
# Columns: the gaze frame's x, y, z axes expressed in face coordinates.
GAZE_IN_FACE = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
# iBUG-68 index of the top of the nose bridge, the landmark at the sellion.
SELLION_LANDMARK = 27


def face_pose(head: Head, smoothed: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Pose of ``face_<id>`` in the camera optical frame.

    Args:
        head: an estimate (head pose and sellion in the camera frame).
        smoothed: use the filtered pose when the head has one.

    Returns:
        (3, 3) face -> camera rotation and (3,) origin in m.
    """
    # The sellion in the head frame, then moved with the (possibly smoothed) pose.
    sellion_head = head.rotation.T @ (head.sellion - head.translation)
    rotation, translation = head.pose(smoothed)
    return rotation @ FACE_IN_HEAD, rotation @ sellion_head + translation


def rotation_to_quaternion(r: np.ndarray) -> np.ndarray:
    """(3, 3) rotation -> unit quaternion (x, y, z, w), ROS order, w >= 0."""
    r = np.asarray(r, dtype=np.float64)
    q = np.empty(4)
    tr = np.trace(r)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q[:] = [(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, s / 4]
    else:
        i = int(np.argmax(np.diag(r)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + r[i, i] - r[j, j] - r[k, k])
        q[i] = s / 4
        q[j] = (r[j, i] + r[i, j]) / s
        q[k] = (r[k, i] + r[i, k]) / s
        q[3] = (r[k, j] - r[j, k]) / s
    q /= np.linalg.norm(q)
    return q if q[3] >= 0 else -q
