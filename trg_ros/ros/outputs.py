"""Everything the node publishes for a processed frame: heads, primary pose, TF, markers."""

from __future__ import annotations

from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from visualization_msgs.msg import MarkerArray

from trg_ros.core.types import Head
from trg_ros.msg import HeadPoseArray
from trg_ros.ros import convert
from trg_ros.ros.params import NodeParams
from trg_ros.ros.tf import TFPublisher


class Outputs:
    """The node's publishers, created on activate and destroyed on deactivate."""

    def __init__(self, node: Node, sellion_vertex: int, triangles: np.ndarray) -> None:
        self._node = node
        self._sellion = sellion_vertex
        self._triangles = triangles
        self._pose = node.create_publisher(PoseStamped, "head_pose", 10)
        self._heads = node.create_publisher(HeadPoseArray, "heads", 10)
        self._markers = node.create_publisher(MarkerArray, "head_markers", 10)
        self._tf = TFPublisher(node)

    def publish(self, header: Any, heads: list[Head], lost: list[str], p: NodeParams) -> None:
        """One frame's results, all stamped with the source image's header. TF goes first,
        so a consumer that looks a transform up at the stamp of a pose it just received
        finds it."""
        s = self._sellion
        if p.publish_tf and heads:
            self._tf.send(
                [t for h in heads for t in convert.transforms(h, header, s, p.face_frame_prefix)]
            )
        self._heads.publish(convert.heads_msg(heads, header, s, p.publish_landmarks_3d))
        primary = convert.primary_head(heads)
        if primary is not None:
            self._pose.publish(convert.pose_stamped(primary, header, s))
        if p.publish_markers and (heads or lost):
            mesh = self._triangles if p.marker_mesh else None
            self._markers.publish(
                convert.markers(heads, lost, header, p.face_frame_prefix, s, mesh)
            )

    def close(self) -> None:
        for pub in (self._pose, self._heads, self._markers):
            self._node.destroy_publisher(pub)
        self._tf.close()
