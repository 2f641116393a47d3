"""Everything the node publishes for a processed frame: TF, heads, primary pose, markers."""

from __future__ import annotations

from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from visualization_msgs.msg import MarkerArray

from trg_ros.core.types import Head
from trg_ros.msg import HeadPoseArray
from trg_ros.ros import messages
from trg_ros.ros.params import NodeParams
from trg_ros.ros.tf import TFPublisher


class Outputs:
    """The node's publishers, created on activate and destroyed on deactivate.

    Args:
        node: the publishing node.
        triangles: (T, 3) faces of the estimator's dense points (for the mesh marker).
    """

    def __init__(self, node: Node, triangles: np.ndarray) -> None:
        self._node = node
        self._triangles = triangles
        self._pose = node.create_publisher(PoseStamped, "head_pose", 10)
        self._heads = node.create_publisher(HeadPoseArray, "heads", 10)
        self._markers = node.create_publisher(MarkerArray, "head_markers", 10)
        self._tf = TFPublisher(node)

    def publish(
        self,
        header: Any,
        heads: list[Head],
        lost: list[str],
        p: NodeParams,
        primary: Head | None,
    ) -> None:
        """One frame's results, all stamped with the source image's header (its frame: the
        ``frame_id`` parameter when set). TF goes first, so a consumer that looks a transform
        up at the stamp of a pose it just received finds it. ``primary`` (one of ``heads``,
        chosen by :class:`trg_ros.core.primary.PrimarySelector`) goes on ``head_pose``."""
        if p.publish_tf and heads:
            self._tf.send(
                [t for h in heads for t in messages.transforms(h, header, p.face_frame_prefix)]
            )
        self._heads.publish(messages.heads_msg(heads, header, p.publish_dense_points))
        if primary is not None:
            self._pose.publish(messages.pose_stamped(primary, header))
        if p.publish_markers and (heads or lost):
            mesh = self._triangles if p.marker_mesh else None
            self._markers.publish(
                messages.markers_cdr(heads, lost, header, p.face_frame_prefix, mesh)
            )

    def close(self) -> None:
        for pub in (self._pose, self._heads, self._markers):
            self._node.destroy_publisher(pub)
        self._tf.close()
