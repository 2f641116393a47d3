"""Everything the node publishes for a processed frame: TF, heads, primary pose, markers,
the driver-monitoring signals (:mod:`.signals`) and the ROS4HRI face topics (:mod:`.hri`).

The publishers are lifecycle publishers, created when the node configures and enabled only
while it is active (rclpy's lifecycle semantics), so the topics exist from configure to
cleanup and carry nothing while the node is inactive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.lifecycle import LifecycleNode
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from trg_ros.core.signals.stage import FaceSignals
from trg_ros.core.types import Head
from trg_ros.msg import FaceSignalsArray, HeadPoseArray
from trg_ros.ros import messages
from trg_ros.ros.hri import HriFaces, hri_msgs_available
from trg_ros.ros.params import NodeParams
from trg_ros.ros.signals import gaze_arrows, signals_array

# The QoS of tf2_ros's TransformBroadcaster, so tf2 listeners everywhere match it. /tf is
# published directly (not through tf2_ros) so that it follows the node's lifecycle too.
TF_QOS = QoSProfile(
    depth=100,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
    history=HistoryPolicy.KEEP_LAST,
)


class Outputs:
    """The node's frame outputs, created on configure and destroyed on cleanup.

    Args:
        node: the publishing lifecycle node.
        triangles: (T, 3) faces of the estimator's dense points (for the mesh marker).
        ros4hri: publish the ROS4HRI face topics (when hri_msgs is installed).
    """

    def __init__(self, node: LifecycleNode, triangles: np.ndarray, ros4hri: bool) -> None:
        self._node = node
        self._triangles = triangles
        self._pose = node.create_lifecycle_publisher(PoseStamped, "head_pose", 10)
        self._heads = node.create_lifecycle_publisher(HeadPoseArray, "heads", 10)
        self._signals = node.create_lifecycle_publisher(FaceSignalsArray, "face_signals", 10)
        self._markers = node.create_lifecycle_publisher(MarkerArray, "head_markers", 10)
        self._tf = node.create_lifecycle_publisher(TFMessage, "/tf", TF_QOS)
        self.hri = HriFaces(node) if ros4hri and hri_msgs_available() else None

    def publish(
        self,
        header: Any,
        heads: list[Head],
        lost: list[str],
        p: NodeParams,
        primary: Head | None,
        rgb: np.ndarray,
        signals: dict[str, FaceSignals] | None = None,
    ) -> None:
        """One frame's results, all stamped with the source image's header (its frame: the
        ``frame_id`` parameter when set). TF goes first, so a consumer that looks a transform
        up at the stamp of a pose it just received finds it. ``primary`` (one of ``heads``,
        chosen by :class:`trg_ros.core.primary.PrimarySelector`) goes on ``head_pose``; ``rgb``
        (H, W, 3) is the image, for the ROS4HRI face images; ``signals`` (per face id, None
        where the signals stage does not run) go on ``face_signals``, and with ``gaze_from:
        eyes`` turn ``gaze_<id>`` to the eyes' gaze."""
        if p.publish_tf and heads:
            prefix = p.face_frame_prefix
            transforms = [
                t
                for h in heads
                for t in messages.transforms(h, header, prefix, _gaze(h, signals, p))
            ]
            self._tf.publish(TFMessage(transforms=transforms))
        self._heads.publish(messages.heads_msg(heads, header, p.publish_dense_points))
        if signals is not None:
            self._signals.publish(signals_array(signals, header, p.publish_blendshapes))
        if primary is not None:
            self._pose.publish(messages.pose_stamped(primary, header))
        # Markers are the costliest message (every dense point): built only while watched.
        watched = self._markers.get_subscription_count() > 0
        if p.publish_markers and (heads or lost) and watched:
            mesh = self._triangles if p.marker_mesh else None
            arrows = gaze_arrows(signals) if signals is not None else None
            self._markers.publish(
                messages.markers_cdr(heads, lost, header, p.face_frame_prefix, mesh, arrows)
            )
        if self.hri is not None:
            size = (p.ros4hri_face_width, p.ros4hri_face_height)
            self.hri.publish(header, heads, lost, rgb, size)

    def deactivate(self) -> None:
        """While the node is still active: what consumers must see before it stops."""
        if self.hri is not None:
            self.hri.deactivate()

    def close(self) -> None:
        if self.hri is not None:
            self.hri.close()
        for pub in (self._pose, self._heads, self._signals, self._markers, self._tf):
            self._node.destroy_lifecycle_publisher(pub)


def _gaze(head: Head, signals: dict[str, FaceSignals] | None, p: NodeParams) -> np.ndarray | None:
    """The eyes' gaze frame for ``gaze_<id>`` where ``gaze_from`` is ``eyes`` and an iris was
    found; None: the frame follows the head."""
    if p.gaze_from != "eyes" or not signals or head.id not in signals:
        return None
    return signals[head.id].gaze_rotation(head)
