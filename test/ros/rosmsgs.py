"""Message builders shared by the ROS tests and the fake camera process."""

from __future__ import annotations

from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header


def camera_info(width: int, height: int, focal: float, header: Header | None = None) -> CameraInfo:
    """A calibrated pinhole camera, principal point at the centre, no distortion."""
    info = CameraInfo(
        header=header or Header(),
        width=width,
        height=height,
        distortion_model="plumb_bob",
        d=[0.0] * 5,
    )
    cx, cy = width / 2, height / 2
    info.k = [focal, 0.0, cx, 0.0, focal, cy, 0.0, 0.0, 1.0]
    info.p = [focal, 0.0, cx, 0.0, 0.0, focal, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info
