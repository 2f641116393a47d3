"""``trg-ros view --ros``: the browser view of a running node's topics (``heads``, the
image, ``camera_info``), for ``ros2 launch`` users without RViz.

Each ``heads`` answer is paired with the image of the same stamp (a few recent ones are
kept), so the 3-D heads sit on the picture they were found in; the view shows the newest
pair and drops the rest.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from trg_ros.tools.annotate import rows_from
from trg_ros.tools.record import add_topic_options
from trg_ros.tools.tool_node import ToolNode, warn_silent
from trg_ros.tools.view.live import LiveView
from trg_ros.tools.view.scene import Scene, ViewFrame

RECENT_IMAGES = 30  # images kept to pair with a late answer (1 s of a 30 Hz camera)


def add_view_options(p: argparse.ArgumentParser) -> None:
    """The server's options, shared with ``trg-ros demo --view``."""
    p.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default: this machine only)"
    )
    p.add_argument("--port", type=int, default=8080, help="port of the view (default 8080)")
    p.add_argument(
        "--max-rate", type=float, default=15.0, help="updates per second at most (default 15)"
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="a live 3-D view in the browser of a running node")
    p.add_argument("--ros", action="store_true", required=True, help="the node's topics")
    p.add_argument("--namespace", default="", help="the node's namespace (e.g. /cam1)")
    p.add_argument("--compressed", action="store_true", help="read <image>/compressed")
    add_topic_options(p)
    p.add_argument(
        "--data-dir", type=Path, help="asset folder with the meshes' triangles (default: cache)"
    )
    add_view_options(p)
    p.set_defaults(func=run)


def meshes_in(data_dir: Path | None) -> dict[str, np.ndarray]:
    """The triangles of each estimator's dense points found in the asset folder (TRG's
    1220-vertex mesh, FaceMesh's canonical face); what is missing is shown as points."""
    from trg_ros.core.catalogue import ModelFiles
    from trg_ros.core.facemesh.canonical import CanonicalFace

    files = ModelFiles.in_dir(data_dir)
    paths = {
        "trg": files.triangles,
        "facemesh": files.data_dir / CanonicalFace.file_names()["triangles"],
    }
    return {m: np.load(p, allow_pickle=False) for m, p in paths.items() if p.is_file()}


def url(scene: Scene, host: str) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{shown}:{scene.port}"


class TopicSource:
    """Pairs ``heads`` with the images of the same stamp and offers them to ``view``."""

    def __init__(
        self,
        node: Any,
        view: LiveView,
        compressed: bool,
        image: str = "image",
        camera_info: str = "camera_info",
    ) -> None:
        from rclpy.qos import QoSProfile, qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image

        from trg_ros.msg import HeadPoseArray

        self._view = view
        self._images: OrderedDict[tuple[int, int], Any] = OrderedDict()
        self._info: Any = None
        self._lock = threading.Lock()
        self.pairs = 0  # heads answers shown with their image
        image_type, image = (CompressedImage, f"{image}/compressed") if compressed else (
            Image, image)  # fmt: skip
        sensor, answers = qos_profile_sensor_data, QoSProfile(depth=5)
        subscriptions = (
            node.create_subscription(image_type, image, self._on_image, sensor),
            node.create_subscription(CameraInfo, camera_info, self._on_info, sensor),
            node.create_subscription(HeadPoseArray, "heads", self._on_heads, answers),
        )
        self.topics = [s.topic_name for s in subscriptions]

    def _on_image(self, msg: Any) -> None:
        with self._lock:
            self._images[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = msg
            while len(self._images) > RECENT_IMAGES:
                self._images.popitem(last=False)

    def _on_info(self, msg: Any) -> None:
        self._info = msg

    def _on_heads(self, msg: Any) -> None:
        from trg_ros.ros.convert import camera_from_info, compressed_to_rgb, image_to_rgb

        key = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        with self._lock:
            image = self._images.get(key)
        if image is None or self._info is None:
            return  # the view shows an answer on its own picture or not at all
        stamp = key[0] + key[1] * 1e-9
        info, faces, latency = (
            self._info,
            rows_from(msg, stamp, 0, with_3d=True),
            time.time() - stamp,
        )

        def make() -> ViewFrame:  # on the view's thread, only for a frame it shows
            rgb = compressed_to_rgb(image) if hasattr(image, "format") else image_to_rgb(image)
            return ViewFrame(rgb, camera_from_info(info), faces, latency)

        self._view.offer(make)
        self.pairs += 1


def run(args: argparse.Namespace) -> int:
    scene = Scene(args.host, args.port, meshes_in(args.data_dir))
    view = LiveView(scene, args.max_rate)
    tool = ToolNode("trg_view", args.namespace)
    source = TopicSource(tool.node, view, args.compressed, args.image, args.camera_info)

    def late_check() -> None:
        if not source.pairs:
            warn_silent("no heads answer with its image and camera_info", source.topics)

    where = url(scene, args.host)
    print(f"view of {tool.node.get_namespace()} at {where} (Ctrl-C to stop)", flush=True)
    try:
        tool.spin(late_check=late_check)
    finally:
        tool.close()
        view.close()
    return 0
