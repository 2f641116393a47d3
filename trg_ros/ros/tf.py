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
    def __init__(self, node: Node) -> None:
        self._node = node
        self._pub: Any = None
        self._broadcaster: Any = None
        try:
            from tf2_ros import TransformBroadcaster
        except ImportError:
            from tf2_msgs.msg import TFMessage

            self._broadcaster = None
            self._msg_type = TFMessage
            self._pub = node.create_publisher(TFMessage, "/tf", TF_QOS)
        else:
            self._broadcaster = TransformBroadcaster(node, qos=TF_QOS)
            self._pub = None

    def send(self, transforms: list[TransformStamped]) -> None:
        if self._broadcaster is not None:
            self._broadcaster.sendTransform(transforms)
        else:
            self._pub.publish(self._msg_type(transforms=transforms))

    def close(self) -> None:
        if self._pub is not None:
            self._node.destroy_publisher(self._pub)
            self._pub = None
