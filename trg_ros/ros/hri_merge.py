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
from collections.abc import Callable
from typing import Any

import rclpy
from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from std_msgs.msg import Header

from trg_ros.core.hri import TrackedLists
from trg_ros.ros.hri import TRACKED, hri_qos
from trg_ros.ros.params import overrides_of, whole_as_double

NODE_NAME = "trg_hri_merge"
EXIT_MISSING = 1
EXIT_BAD_PARAMETER = 2
TIMEOUT_RANGE = (0.05, 60.0)


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
        from hri_msgs.msg import IdsList

        super().__init__(NODE_NAME)
        overrides = overrides_of(self)
        if "timeout" in overrides:  # `timeout:=2` means 2.0
            overrides["timeout"] = whole_as_double(overrides["timeout"])
        text = self._declare("namespaces", "", "a string", "cameras' namespaces: cam1,cam2")
        timeout = self._declare(
            "timeout",
            2.0,
            f"a number of s in [{TIMEOUT_RANGE[0]:g}, {TIMEOUT_RANGE[1]:g}]",
            "s after which a silent camera's faces leave the joined list",
            floating_point_range=[FloatingPointRange(
                from_value=TIMEOUT_RANGE[0], to_value=TIMEOUT_RANGE[1], step=0.0
            )],
        )  # fmt: skip
        self.namespaces = parse_namespaces(text)
        self.lists = TrackedLists(timeout)
        self._ids_list = IdsList
        self._pub = self.create_publisher(IdsList, "/" + TRACKED, hri_qos())
        self._subs = [
            self.create_subscription(IdsList, f"/{ns}/{TRACKED}", self._receiver(ns), hri_qos())
            for ns in self.namespaces
        ]
        self._frame_id = ""
        self._timer = self.create_timer(min(0.2, timeout / 2), self._expire)

    def _declare(self, name: str, default: Any, want: str, description: str, **range_) -> Any:
        """The parameter's value; ValueError naming it when the value given does not fit."""
        try:
            descriptor = ParameterDescriptor(description=description, **range_)
            return self.declare_parameter(name, default, descriptor).value
        except ParameterException:
            given = overrides_of(self)[name].value
            raise ValueError(f"{name}={given!r}: expected {want}") from None

    def _receiver(self, ns: str) -> Callable[[Any], None]:
        def receive(msg: Any) -> None:
            self._frame_id = msg.header.frame_id
            ids = self.lists.update(ns, list(msg.ids), time.monotonic())
            self._pub.publish(self._ids_list(header=msg.header, ids=ids))

        return receive

    def _expire(self) -> None:
        if self.lists.expire(time.monotonic()):
            header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self._frame_id)
            self._pub.publish(self._ids_list(header=header, ids=self.lists.ids()))


def main(argv: list[str] | None = None) -> int:
    try:
        import hri_msgs.msg  # noqa: F401
    except ImportError as e:
        print(
            f"{NODE_NAME}: hri_msgs is not installed ({e}): install ros-$ROS_DISTRO-hri-msgs "
            "or run scripts/dev setup; not starting",
            file=sys.stderr,
        )
        return EXIT_MISSING
    rclpy.init(args=argv if argv is not None else sys.argv)
    try:
        node = HriMergeNode()
    except ValueError as e:
        rclpy.logging.get_logger(NODE_NAME).fatal(f"invalid parameter {e}; not starting")
        rclpy.try_shutdown()
        return EXIT_BAD_PARAMETER
    # The executor exists before the start-up line: a Ctrl-C right after that line must not
    # land in the executor's constructor (a half-made executor raises again when collected).
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        node.get_logger().info(
            f"joining {', '.join(f'/{ns}/{TRACKED}' for ns in node.namespaces)} on /{TRACKED}"
        )
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
