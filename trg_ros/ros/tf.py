"""Transforms on /tf: tf2_ros's broadcaster where it is installed, else the same topic and QoS."""

from __future__ import annotations

from typing import Any

from geometry_msgs.msg import TransformStamped
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

# The QoS tf2_ros's TransformBroadcaster uses, so real tf2 listeners match it.
TF_QOS = QoSProfile(
    depth=100,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
    history=HistoryPolicy.KEEP_LAST,
)


class TFPublisher:
    """Sends transforms the tf2 way; without tf2_ros (pip installs), publishes the same
    ``tf2_msgs/TFMessage`` on ``/tf`` itself."""

    def __init__(self, node: Node) -> None:
        self._node = node
        try:
            from tf2_ros import TransformBroadcaster
        except ImportError:
            from tf2_msgs.msg import TFMessage

            self.backend = "/tf publisher (tf2_ros not installed)"
            self._msg_type: Any = TFMessage
            self._broadcaster: Any = None
            self._pub: Any = node.create_publisher(TFMessage, "/tf", TF_QOS)
        else:
            self.backend = "tf2_ros.TransformBroadcaster"
            self._broadcaster = TransformBroadcaster(node, qos=TF_QOS)
            self._pub = self._broadcaster.pub_tf
        node.get_logger().info(f"TF via {self.backend}")

    def send(self, transforms: list[TransformStamped]) -> None:
        if self._broadcaster is not None:
            self._broadcaster.sendTransform(transforms)
        else:
            self._pub.publish(self._msg_type(transforms=transforms))

    def close(self) -> None:
        if self._pub is not None:
            self._node.destroy_publisher(self._pub)
            self._pub = self._broadcaster = None
