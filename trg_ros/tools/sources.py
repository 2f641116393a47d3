"""Frame sources for the demo: image, video, ROS 2 bag, webcam, bundled sample; intrinsics."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from trg_ros.core.camera import CameraModel
from trg_ros.core.errors import CameraError, TRGError
from trg_ros.tools.bag import require_rosbags

log = logging.getLogger(__name__)


@dataclass
class Frame:
    rgb: np.ndarray
    stamp: float  # seconds
    camera: CameraModel | None = None  # from the source itself (bag CameraInfo)


def sample_image() -> np.ndarray:
    """A real face from an installed package: scikit-image's astronaut (public domain)."""
    import skimage.data

    return skimage.data.astronaut()


def read_image(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise TRGError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def image_frames(rgb: np.ndarray) -> Iterator[Frame]:
    yield Frame(rgb, time.time())


def video_frames(source: str | int, live: bool = False) -> Iterator[Frame]:
    """Frames of a video file (stamps = start time + position) or a live camera."""
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise TRGError(f"cannot open {'camera' if live else 'video'} {source}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    start = time.time()
    index = 0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                return
            stamp = time.time() if live else start + index / fps
            index += 1
            yield Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), stamp)
    finally:
        cap.release()


def video_length(path: Path) -> int | None:
    cap = cv2.VideoCapture(str(path))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    return n if n > 0 else None


def camera_from_yaml(path: Path) -> CameraModel:
    """The camera_calibration / camera_info_manager YAML format."""
    data = yaml.safe_load(Path(path).read_text())
    try:
        k = np.array(data["camera_matrix"]["data"], dtype=np.float64).reshape(3, 3)
        d = np.array(data.get("distortion_coefficients", {}).get("data", []), dtype=np.float64)
        return CameraModel(k, int(data["image_width"]), int(data["image_height"]), d)
    except (KeyError, TypeError, ValueError) as e:
        raise CameraError(f"{path} is not a camera_calibration YAML ({e})") from e


def same_camera(a: CameraModel, b: CameraModel) -> bool:
    return (
        (a.width, a.height) == (b.width, b.height)
        and np.array_equal(a.k, b.k)
        and np.array_equal(a.dist, b.dist)
    )


def bag_frames(path: Path, image_topic: str | None, info_topic: str | None) -> Iterator[Frame]:
    """Images of a ROS 2 bag (.mcap or .db3) with the latest CameraInfo before each one."""
    require_rosbags()
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    from trg_ros.ros.convert import StreamDepth, camera_from_info, compressed_to_rgb, image_to_rgb

    store = get_typestore(Stores.ROS2_KILTED)
    with AnyReader([Path(path)], default_typestore=store) as reader:
        topics = {c.topic: c.msgtype for c in reader.connections}
        images = [
            t
            for t, ty in topics.items()
            if ty in ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
        ]
        image_topic = image_topic or (images[0] if images else None)
        if image_topic not in topics:
            raise TRGError(f"no image topic in {path}; topics: {sorted(topics)}")
        if info_topic is None:
            infos = [t for t, ty in topics.items() if ty == "sensor_msgs/msg/CameraInfo"]
            ns = image_topic.rsplit("/", 1)[0]
            same_ns = [t for t in infos if t.rsplit("/", 1)[0] == ns]
            info_topic = (same_ns or infos or [None])[0]  # type: ignore[list-item]
        log.info(
            "bag %s: images from %s, intrinsics from %s", path, image_topic, info_topic or "(none)"
        )
        wanted = [c for c in reader.connections if c.topic in (image_topic, info_topic)]
        infos = [c for c in wanted if c.topic == info_topic]
        # Frames recorded before the first CameraInfo still get the real intrinsics.
        camera = None
        depth = StreamDepth()  # 16-bit images: the deepest frame so far, as the node does
        # (an empty connection list would mean "every topic" to rosbags)
        for conn, _, raw in reader.messages(connections=infos) if infos else ():
            camera = camera_from_info(reader.deserialize(raw, conn.msgtype))
            break
        for conn, _, raw in reader.messages(connections=wanted):
            msg = reader.deserialize(raw, conn.msgtype)
            if conn.topic == info_topic:
                new = camera_from_info(msg)  # reads the same fields as the rclpy type
                if camera is None or not same_camera(new, camera):
                    camera = new
                continue
            rgb = (
                compressed_to_rgb(msg, depth)
                if conn.msgtype.endswith("CompressedImage")
                else image_to_rgb(msg, depth)
            )
            stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
            yield Frame(rgb, stamp, camera)


def choose_camera(
    width: int,
    height: int,
    from_yaml: Path | None,
    from_source: CameraModel | None,
    fov: float | None,
    focal: float | None,
) -> tuple[CameraModel, str]:
    """Intrinsics by priority: YAML, the source (bag), --fov/--focal, else a guess."""
    if from_yaml is not None:
        return camera_from_yaml(from_yaml), f"camera_info YAML {from_yaml}"
    if from_source is not None:
        return from_source, "the bag's CameraInfo"
    if fov is not None:
        return CameraModel.from_fov(width, height, fov), f"--fov {fov:g} deg"
    if focal is not None:
        k = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]])
        return CameraModel(k, width, height), f"--focal {focal:g} px"
    return CameraModel.guess(width, height), "a guess (f = w + h)"
