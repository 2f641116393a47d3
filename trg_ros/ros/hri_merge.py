"""``trg_hri_merge``: one ``/humans/faces/tracked`` for several cameras.

Each camera's ``trg_head_pose`` runs in its own namespace and lists only its own faces on
``/<ns>/humans/faces/tracked``; its per-face topics are already global
(``/humans/faces/<ns>_<id>/...``, ids start with the namespace). This node subscribes to the
cameras' lists and publishes their union (:class:`trg_ros.core.hri.TrackedLists`) on
``/humans/faces/tracked`` whenever one of them arrives, and when a silent camera's faces
expire. Parameters: ``namespaces`` (comma-separated, e.g. ``cam1,cam2``) and ``timeout`` (s).

    python -m trg_ros.ros.hri_merge --ros-args -p namespaces:=cam1,cam2
    ros2 launch trg_ros hri_merge.launch.py namespaces:=cam1,cam2
"""

from __future__ import annotations

import sys
import time

import rclpy
from hri_msgs.msg import IdsList
from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from std_msgs.msg import Header

from trg_ros.core.hri import TrackedLists
from trg_ros.ros.hri import TRACKED, hri_qos

NODE_NAME = "trg_hri_merge"
EXIT_BAD_PARAMETER = 2


def parse_namespaces(text: str) -> list[str]:
    """``"cam1, /cam2/"`` -> ``["cam1", "cam2"]``.

    Raises:
        ValueError: none given, or one given twice.
    """
    names = [n.strip().strip("/") for n in text.split(",") if n.strip().strip("/")]
    if not names:
        raise ValueError(
            f"namespaces={text!r}: give the cameras' namespaces, comma-separated (cam1,cam2)"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"namespaces={text!r}: a namespace is given twice")
    return names


class HriMergeNode(Node):
    """Raises ValueError (naming the parameter) on bad parameters."""

    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        text = self.declare_parameter(
            "namespaces", "", ParameterDescriptor(description="cameras' namespaces: cam1,cam2")
        ).value
        timeout = self.declare_parameter(
            "timeout",
            2.0,
            ParameterDescriptor(
                description="s after which a silent camera's faces leave the joined list",
                floating_point_range=[
                    FloatingPointRange(from_value=0.05, to_value=60.0, step=0.0)
                ],
            ),
        ).value
        self.namespaces = parse_namespaces(text)
        self.lists = TrackedLists(timeout)
        self._pub = self.create_publisher(IdsList, "/" + TRACKED, hri_qos())
        self._subs = [
            self.create_subscription(IdsList, f"/{ns}/{TRACKED}", self._receiver(ns), hri_qos())
            for ns in self.namespaces
        ]
        self._frame_id = ""
        self._timer = self.create_timer(min(0.2, timeout / 2), self._expire)

    def _receiver(self, ns: str):
        def receive(msg: IdsList) -> None:
            self._frame_id = msg.header.frame_id
            ids = self.lists.update(ns, list(msg.ids), time.monotonic())
            self._pub.publish(IdsList(header=msg.header, ids=ids))

        return receive

    def _expire(self) -> None:
        if self.lists.expire(time.monotonic()):
            header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self._frame_id)
            self._pub.publish(IdsList(header=header, ids=self.lists.ids()))


def main(argv: list[str] | None = None) -> int:
    rclpy.init(args=argv if argv is not None else sys.argv)
    try:
        node = HriMergeNode()
    except ValueError as e:
        rclpy.logging.get_logger(NODE_NAME).fatal(f"invalid parameter {e}; not starting")
        rclpy.try_shutdown()
        return EXIT_BAD_PARAMETER
    node.get_logger().info(
        f"joining {', '.join(f'/{ns}/{TRACKED}' for ns in node.namespaces)} on /{TRACKED}"
    )
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
