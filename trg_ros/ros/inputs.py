"""From what the node receives to what the pipeline takes: an RGB array and its camera."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSPolicyKind,
    QoSProfile,
    ReliabilityPolicy,
)
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from trg_ros.core.camera import CameraModel
from trg_ros.core.detect.base import Detection
from trg_ros.ros import convert, intrinsics
from trg_ros.ros.intrinsics import Intrinsics
from trg_ros.ros.params import NodeParams

MIN_IMAGE_SIDE = 16  # px; nothing smaller can hold a face the detector finds
# Policies of the inputs a user may override: qos_overrides.<topic>.subscription.<policy>.
OVERRIDABLE = (
    QoSPolicyKind.RELIABILITY,
    QoSPolicyKind.HISTORY,
    QoSPolicyKind.DEPTH,
    QoSPolicyKind.DURABILITY,
)
_SUBSCRIPTION_OVERRIDE = re.compile(r"qos_overrides\.(.+)\.subscription(_[^.]*)?\.[a-z_]+")
log = logging.getLogger(__name__)


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
    header: Header  # what the outputs carry: the image's stamp, its frame or frame_id's


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
        # 16-bit cameras (raw or PNG) with image_bit_depth 0: the deepest frame so far.
        self.bit_depth = convert.StreamDepth()
        self._empty_frame_told = False

    def store_info(self, msg: CameraInfo) -> None:
        self.intrinsics.store(msg)

    def received(self, msg: Any, detections: list[Detection] | None = None) -> Received:
        self.intrinsics.image_seen()
        return Received(msg, detections, time.monotonic(), time.time())

    def prepare(self, msg: Any, p: NodeParams, info_topic: str) -> Frame | Rejected:
        try:
            bits = p.image_bit_depth or self.bit_depth
            rgb = (
                convert.compressed_to_rgb(msg, bits)
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
            None if p.frame_id else msg.header.frame_id,
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
        warning = (reason, message) if reason is not None else None
        return Frame(rgb, camera, stamp, warning, self._output_header(msg.header, p.frame_id))

    def _output_header(self, header: Header, frame_id: str) -> Header:
        """The image's stamp in ``frame_id`` (the parameter) or the image's own frame."""
        frame = frame_id or header.frame_id
        if not frame and not self._empty_frame_told:
            self._empty_frame_told = True
            log.warning(
                "images arrive with an empty frame_id, so the outputs and the face TF frames "
                "have no parent frame: set the frame_id parameter to the camera's optical frame"
            )
        return Header(stamp=header.stamp, frame_id=frame)


def sensor_qos(depth: int = 5) -> QoSProfile:
    """A fresh sensor-data profile (best effort, volatile): it matches reliable and
    best-effort publishers alike. Fresh, because rclpy writes QoS overrides into the very
    profile object it is given."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.VOLATILE,
    )


def subscribe(
    node: Node,
    p: NodeParams,
    on_image: Callable[[Any], None],
    on_info: Callable[[CameraInfo], None],
    on_detections: Callable[[Any], None],
) -> list[Any]:
    """The node's inputs: ``image`` (or ``image/compressed``), ``camera_info``, and
    ``detections`` when boxes come from outside; all best effort, so reliable and best-effort
    publishers both match, and each open to ``qos_overrides.<resolved topic>.subscription.
    <reliability|history|depth|durability>`` parameters (rclpy's QoSOverridingOptions)."""
    topics: list[tuple[Any, str, Callable[[Any], None], int]] = []
    if p.external_detections:
        from vision_msgs.msg import Detection2DArray

        topics.append((Detection2DArray, "detections", on_detections, 10))
    if p.compressed:
        topics.append((CompressedImage, "image/compressed", on_image, 5))
    else:
        topics.append((Image, "image", on_image, 5))
    topics.append((CameraInfo, "camera_info", on_info, 5))
    subs = [
        node.create_subscription(
            kind,
            topic,
            callback,
            sensor_qos(depth),
            qos_overriding_options=QoSOverridingOptions(OVERRIDABLE),
        )
        for kind, topic, callback, depth in topics
    ]
    for warning in unused_qos_overrides(node, [s.topic_name for s in subs]):
        node.get_logger().warning(warning)
    return subs


def unused_qos_overrides(node: Node, topics: list[str]) -> list[str]:
    """One warning per subscription QoS override given to the node that none of its
    subscriptions took (a topic name written before remapping or without the namespace)."""
    given = getattr(node, "_parameter_overrides", {})  # no public accessor
    out = []
    for name in sorted(given):
        if _SUBSCRIPTION_OVERRIDE.fullmatch(name) and not node.has_parameter(name):
            out.append(
                f"parameter {name!r} is given but no subscription of {node.get_name()} takes "
                f"it: its inputs are {', '.join(topics)} (fully qualified, after remapping), "
                "overridable as qos_overrides.<topic>.subscription."
                "<reliability|history|depth|durability>"
            )
    return out
