"""The attentive direction from a TF frame (``attention_frame``): in a vehicle the road ahead is
the +x axis of ``base_link`` (REP-103), wherever the camera is mounted. Only where tf2_ros is
importable; the core takes the direction as a plain vector per frame."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

FORWARD = np.array([1.0, 0.0, 0.0])  # REP-103: x forward


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
        self._errors = (
            tf2_ros.LookupException,
            tf2_ros.ConnectivityException,
            tf2_ros.ExtrapolationException,
            tf2_ros.InvalidArgumentException,
        )
        self._buffer = tf2_ros.Buffer()
        self._listener = tf2_ros.TransformListener(self._buffer, node, spin_thread=False)

    def forward_in(self, camera_frame: str) -> tuple[np.ndarray | None, str]:
        """(the direction as a unit vector in ``camera_frame``, "") or (None, why not)."""
        from rclpy.time import Time

        try:
            t = self._buffer.lookup_transform(camera_frame, self.frame, Time())
        except self._errors as e:
            return None, f"no transform from {self.frame} to {camera_frame} ({e})"
        q = t.transform.rotation
        direction = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix() @ FORWARD
        if not np.all(np.isfinite(direction)):
            return None, f"the transform from {self.frame} to {camera_frame} is not finite"
        return direction, ""

    def close(self) -> None:
        self._listener.unregister()
