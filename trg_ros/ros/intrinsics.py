"""Which intrinsics a frame gets: the latest CameraInfo of its frame_id, never a silent guess."""

from __future__ import annotations

import time

from sensor_msgs.msg import CameraInfo

from trg_ros.core.camera import CameraModel
from trg_ros.core.errors import CameraError
from trg_ros.ros import convert

WAITING = "waiting_camera_info"  # within the timeout: the frame is skipped, counted, not logged
MISSING = "no_camera_info"
INVALID = "camera_info"
GUESSED = "guessed_intrinsics"


class Intrinsics:
    """Keeps the latest CameraInfo per frame_id (callbacks) and resolves one per image."""

    def __init__(self) -> None:
        self.infos: dict[str, CameraInfo] = {}
        self.latest: CameraInfo | None = None  # whatever its frame_id
        self._first_image: float | None = None

    def store(self, msg: CameraInfo) -> None:
        self.infos[msg.header.frame_id] = msg
        self.latest = msg

    def image_seen(self) -> None:
        if self._first_image is None:
            self._first_image = time.monotonic()

    def resolve(
        self,
        frame_id: str | None,
        width: int,
        height: int,
        timeout: float,
        rectified: bool,
        allow_guess: bool,
        topic: str,
    ) -> tuple[CameraModel | None, str | None, str]:
        """(camera or None, problem reason or None, message) for one image.

        Args:
            frame_id: the image's frame; None takes the latest CameraInfo whatever its
                frame_id (the ``frame_id`` parameter is set: one camera on the topic).
        """
        info = self.latest if frame_id is None else self.infos.get(frame_id)
        if info is None:
            waited = time.monotonic() - (self._first_image or time.monotonic())
            if waited < timeout:
                return None, WAITING, ""
            if not allow_guess:
                which = "" if frame_id is None else f" for frame '{frame_id}'"
                return None, MISSING, f"no CameraInfo{which} on {topic} after {timeout:g} s"
            return (
                CameraModel.guess(width, height),
                GUESSED,
                ("no CameraInfo: focal length guessed as w + h, translation is only relative"),
            )
        try:
            camera = convert.camera_from_info(info, rectified)
            camera.check_image(width, height)
        except CameraError as e:
            window = convert.window_text(info)
            return None, INVALID, f"{e} ({window})" if window else str(e)
        return camera, None, ""
