"""From what the node receives to what the pipeline takes: an RGB array and its camera."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from trg_ros.core.camera import CameraModel
from trg_ros.core.detect.base import Detection
from trg_ros.ros import convert, intrinsics
from trg_ros.ros.intrinsics import Intrinsics
from trg_ros.ros.params import NodeParams

MIN_IMAGE_SIDE = 16  # px; nothing smaller can hold a face the detector finds


@dataclass(frozen=True)
class Received:
    """An image (with its paired detections, if any) and when it arrived (monotonic s)."""

    msg: Image | CompressedImage
    detections: list[Detection] | None
    at: float
    wall: float  # the same moment in wall-clock seconds (camera stamps are usually those)


@dataclass(frozen=True)
class Frame:
    """A frame ready for the pipeline; ``warning`` is a problem to report though it is used."""

    rgb: np.ndarray
    camera: CameraModel
    stamp: float  # s, from the image header
    warning: tuple[str, str] | None


@dataclass(frozen=True)
class Rejected:
    """Why a frame cannot be used; ``quiet`` ones are counted but not logged (waiting for
    the first CameraInfo)."""

    reason: str
    message: str
    quiet: bool = False


class FrameInputs:
    """Converts images and pairs them with the latest CameraInfo of their frame_id."""

    def __init__(self) -> None:
        self.intrinsics = Intrinsics()
        # 16-bit cameras with image_bit_depth 0: the deepest frame so far sets the scale, so
        # one dark frame is not brightened nor one hot pixel allowed to dim the stream.
        self.bit_depth = 8

    def store_info(self, msg: CameraInfo) -> None:
        self.intrinsics.store(msg)

    def received(self, msg: Any, detections: list[Detection] | None = None) -> Received:
        self.intrinsics.image_seen()
        return Received(msg, detections, time.monotonic(), time.time())

    def prepare(self, msg: Any, p: NodeParams, info_topic: str) -> Frame | Rejected:
        try:
            bits = p.image_bit_depth
            if not bits and isinstance(msg, Image):
                self.bit_depth = bits = max(self.bit_depth, convert.raw_bit_depth(msg))
            rgb = (
                convert.compressed_to_rgb(msg, p.image_bit_depth)
                if isinstance(msg, CompressedImage)
                else convert.image_to_rgb(msg, bits)
            )
        except convert.ImageError as e:
            return Rejected("bad_image", str(e))
        h, w = rgb.shape[:2]
        if min(h, w) < MIN_IMAGE_SIDE:
            return Rejected(
                "image_too_small",
                f"{w}x{h} image is too small to hold a face (shorter side < {MIN_IMAGE_SIDE} px)",
            )
        camera, reason, message = self.intrinsics.resolve(
            msg.header.frame_id,
            w,
            h,
            p.camera_info_timeout,
            p.rectified,
            p.allow_guessed_intrinsics,
            info_topic,
        )
        if reason == intrinsics.WAITING:
            return Rejected(reason, "", quiet=True)
        if camera is None:
            return Rejected(reason or intrinsics.INVALID, message)
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        return Frame(rgb, camera, stamp, (reason, message) if reason is not None else None)


def subscribe(
    node: Node,
    p: NodeParams,
    on_image: Callable[[Any], None],
    on_info: Callable[[CameraInfo], None],
    on_detections: Callable[[Any], None],
) -> list[Any]:
    """The node's inputs: ``image`` (or ``image/compressed``) with sensor-data QoS,
    ``camera_info``, and ``detections`` when boxes come from outside."""
    subs = []
    if p.external_detections:
        from vision_msgs.msg import Detection2DArray

        subs.append(node.create_subscription(Detection2DArray, "detections", on_detections, 10))
    if p.compressed:
        kind, topic = CompressedImage, "image/compressed"
    else:
        kind, topic = Image, "image"
    subs.append(node.create_subscription(kind, topic, on_image, qos_profile_sensor_data))
    subs.append(
        node.create_subscription(CameraInfo, "camera_info", on_info, qos_profile_sensor_data)
    )
    return subs
