"""The attentive direction from a TF frame (``attention_frame``): in a vehicle the road ahead is
the +x axis of ``base_link`` (REP-103), wherever the camera is mounted. Only where tf2_ros is
importable; the core takes the direction as a plain vector per frame."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

FORWARD = np.array([1.0, 0.0, 0.0])  # REP-103: x forward
UNKNOWN = np.full(3, np.nan)  # the core's "no trusted direction": attention holds its timers
UNKNOWN.setflags(write=False)


def tf2_available() -> bool:
    try:
        import tf2_ros  # noqa: F401
    except ImportError:
        return False
    return True


class AttentionFrame:
    """Listens to /tf and /tf_static with the node, and gives the frame's +x axis in the
    image's frame at the latest transform (a camera mount is static or slow: waiting for the
    image's own stamp would hold up every frame)."""

    def __init__(self, node: Any, frame: str) -> None:
        import tf2_ros

        self.frame = frame
        self._error = tf2_ros.TransformException
        self._buffer = tf2_ros.Buffer()
        self._listener = tf2_ros.TransformListener(self._buffer, node, spin_thread=False)
        self._last: dict[str, np.ndarray] = {}  # per camera frame: the last direction known

    def forward_in(self, camera_frame: str) -> tuple[np.ndarray, str]:
        """(the direction as a unit vector in ``camera_frame``, "") from the latest transform;
        when none is to be had, (the last one known, or ``UNKNOWN`` before the first; why)."""
        from rclpy.time import Time

        try:
            t = self._buffer.lookup_transform(camera_frame, self.frame, Time())
        except self._error as e:
            last = self._last.get(camera_frame)
            kept = "its last known direction is kept" if last is not None else "not measured"
            why = f"no transform from {self.frame} to {camera_frame} ({e}): attention {kept}"
            return (UNKNOWN if last is None else last), why
        q = t.transform.rotation
        direction = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix() @ FORWARD
        if not np.isfinite(direction).all():  # tf2 refuses these; never keep one as "last"
            return self._last.get(camera_frame, UNKNOWN), f"{self.frame}: a non-finite rotation"
        self._last[camera_frame] = direction
        return direction, ""

    def close(self) -> None:
        self._listener.unregister()
