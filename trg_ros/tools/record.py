"""``trg-ros record``: a running node's topics into a rosbag2 folder (MCAP storage), the way
``ros2 bag record`` subscribes, so the node itself gains no dependency. The demo's
``--record`` puts the same recorder beside its own node.

Each topic is subscribed once a publisher shows up, with the publishers' reliability (a
reliable subscription would never match a camera driver's best-effort images), and its
messages are stored as they came (CDR bytes); with ``jpeg`` the raw image is stored as
``image/compressed`` instead.
"""

from __future__ import annotations

import argparse
import importlib
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from trg_ros.tools.bag import BagWriter
from trg_ros.tools.tool_node import ToolNode, warn_silent

# (topic, type): what the node reads and writes, relative to the namespace; the image and
# camera_info names can be remapped (``topics``).
IMAGE, CAMERA_INFO = "image", "camera_info"
OUTPUTS = (
    ("/tf", "tf2_msgs/msg/TFMessage"),
    ("heads", "trg_ros/msg/HeadPoseArray"),
    ("head_pose", "geometry_msgs/msg/PoseStamped"),
    ("head_markers", "visualization_msgs/msg/MarkerArray"),
    ("face_signals", "trg_ros/msg/FaceSignalsArray"),
)
DEPTH = 100  # a reliable subscription's history: the writer thread takes them at once
JPEG_QUALITY = 90


def message_class(msgtype: str) -> Any:
    package, _, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


def topics(
    image: str = IMAGE, camera_info: str = CAMERA_INFO, jpeg: bool = False
) -> tuple[tuple[str, str], ...]:
    """What is recorded: the camera's topics under the names given, then the node's. With
    ``jpeg`` the raw image is stored as ``<image>/compressed``, so a compressed stream of
    the camera's own under that name is left out (one topic, one writer)."""
    camera = [(image, "sensor_msgs/msg/Image")]
    if not jpeg:
        camera.append((f"{image}/compressed", "sensor_msgs/msg/CompressedImage"))
    camera.append((camera_info, "sensor_msgs/msg/CameraInfo"))
    return (*camera, *OUTPUTS)


class Recorder:
    """Subscribes ``topics`` on ``node`` (in its namespace) and writes them to ``writer``."""

    def __init__(
        self,
        node: Any,
        writer: BagWriter,
        jpeg: bool = False,
        image: str = IMAGE,
        camera_info: str = CAMERA_INFO,
    ) -> None:
        self._node, self._writer, self._jpeg = node, writer, jpeg
        self._topics = topics(image, camera_info, jpeg)
        self._camera = (image, camera_info)
        self._subscriptions: dict[str, Any] = {}
        self._received: Counter[str] = Counter()  # messages taken per resolved topic
        self._lock = threading.Lock()
        self.subscribe_published()
        self._timer = node.create_timer(0.5, self.subscribe_published)

    def subscribe_published(self) -> list[str]:
        """Subscribe every recorded topic that has a publisher now; returns all the topics
        subscribed so far."""
        with self._lock:
            for relative, msgtype in self._topics:
                topic = self._node.resolve_topic_name(relative)
                if topic in self._subscriptions:
                    continue
                publishers = self._node.get_publishers_info_by_topic(topic)
                if publishers:
                    self._subscribe(topic, msgtype, publishers)
            return list(self._subscriptions)

    def _subscribe(self, topic: str, msgtype: str, publishers: list[Any]) -> None:
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        reliable = all(p.qos_profile.reliability == ReliabilityPolicy.RELIABLE for p in publishers)
        qos = QoSProfile(
            depth=DEPTH,
            reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        )
        if self._jpeg and msgtype == "sensor_msgs/msg/Image":
            stored = topic + "/compressed"
            self._writer.add_topic(stored, "sensor_msgs/msg/CompressedImage")
            callback = self._compress_to(stored)
            raw = False
        else:
            self._writer.add_topic(topic, msgtype)
            callback = self._store_to(topic)
            raw = True
        self._subscriptions[topic] = self._node.create_subscription(
            message_class(msgtype), topic, callback, qos, raw=raw
        )

    def _store_to(self, topic: str) -> Any:
        def store(data: bytes) -> None:
            self._writer.write(topic, time.time_ns(), data)
            self._received[topic] += 1

        return store

    def _compress_to(self, topic: str) -> Any:
        import cv2
        from rclpy.serialization import serialize_message
        from sensor_msgs.msg import CompressedImage

        from trg_ros.ros.convert import image_to_rgb

        def compress(msg: Any) -> None:
            bgr = cv2.cvtColor(image_to_rgb(msg), cv2.COLOR_RGB2BGR)
            _, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            out = CompressedImage(header=msg.header, format="jpeg", data=data.tobytes())
            self._writer.write(topic, time.time_ns(), serialize_message(out))
            self._received[topic] += 1

        return compress

    def matched(self) -> bool:
        """Whether every subscription sees all its topic's publishers (the demo waits for
        this before its first frame)."""
        with self._lock:
            return all(
                s.get_publisher_count() >= self._node.count_publishers(topic)
                for topic, s in self._subscriptions.items()
            )

    def received(self, topic: str | None = None) -> int:
        """Messages taken so far on ``topic`` (relative or absolute), or on all topics."""
        if topic is None:
            return sum(self._received.values())
        return self._received[self._node.resolve_topic_name(topic)]

    def unpublished(self) -> list[str]:
        """The camera's topics nobody publishes yet (the image, raw or compressed, and
        camera_info): resolved names."""
        image, info = (self._node.resolve_topic_name(t) for t in self._camera)
        with self._lock:
            seen = set(self._subscriptions)
        has_image = image in seen or f"{image}/compressed" in seen
        return [t for t, ok in ((image, has_image), (info, info in seen)) if not ok]

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for s in self._subscriptions.values():
                self._node.destroy_subscription(s)
            self._subscriptions.clear()


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record a running node's topics to a rosbag2/MCAP folder")
    p.add_argument("out", type=Path, help="the new bag folder")
    p.add_argument("--namespace", default="", help="the node's namespace (e.g. /cam1)")
    p.add_argument("--jpeg", action="store_true", help="store the image as <image>/compressed")
    add_topic_options(p)
    p.add_argument("--seconds", type=float, default=0.0, help="stop after S s (0: on Ctrl-C)")
    p.set_defaults(func=run)


def add_topic_options(p: argparse.ArgumentParser) -> None:
    """The camera's topic names (relative ones in ``--namespace``), shared with ``view``."""
    p.add_argument("--image", default=IMAGE, help=f"the camera's image (default {IMAGE})")
    p.add_argument(
        "--camera-info", default=CAMERA_INFO, help=f"its CameraInfo (default {CAMERA_INFO})"
    )


def run(args: argparse.Namespace) -> int:
    writer = BagWriter(args.out)
    tool = ToolNode("trg_recorder", args.namespace)
    recorder = Recorder(tool.node, writer, args.jpeg, args.image, args.camera_info)

    def late_check() -> None:
        if missing := recorder.unpublished():
            warn_silent("no publisher", missing)

    print(f"recording to {args.out} (Ctrl-C to stop)", flush=True)
    try:
        tool.spin(args.seconds, late_check)
    finally:
        recorder.close()
        counts = writer.close()  # before the SIGTERM handler goes: the bag is finished first
        tool.close()
    print(f"{sum(counts.values())} messages in {args.out}: " + summary(counts), flush=True)
    return 0


def summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{topic} {n}" for topic, n in sorted(counts.items())) or "none"
