"""The ROS4HRI (REP-155) face topics: ``humans/faces/tracked`` and, per face,
``/humans/faces/<id>/roi|landmarks|cropped|aligned``.

``tracked`` is a lifecycle publisher made on configure like the node's other outputs, under a
relative name: ``/humans/faces/tracked`` in the root namespace (one camera), ``/<ns>/humans/
faces/tracked`` in a namespace, where :mod:`trg_ros.ros.hri_merge` joins the cameras' lists
into ``/humans/faces/tracked``. The per-face topics are absolute (ids are unique across
cameras: they start with the namespace) and live exactly as long as the face's track, from
its confirmation to its end; they exist only while the node is active (all go before a
deactivation completes), so they are plain publishers owned here rather than lifecycle ones
(a lifecycle publisher made while the node is active would start disabled and need enabling
by hand, and rclpy's set of managed entities is not safe to grow from the processing thread
while a transition walks it). Everything is reliable, as ROS4HRI consumers subscribe; the
images are computed and sent only while someone subscribes to them, as bgr8 (libhri reads
them as OpenCV BGR without converting).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from rclpy.lifecycle import LifecycleNode
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header

from trg_ros.core import hri
from trg_ros.core.types import Head
from trg_ros.ros.convert import rgb_to_bgr8_image

TRACKED = "humans/faces/tracked"
FACES = "/humans/faces"
log = logging.getLogger(__name__)
_missing_told = False


def hri_qos(depth: int = 10) -> QoSProfile:
    """Reliable and volatile, as libhri/pyhri subscribe (REP-155 latches only person
    topics, which are not ours)."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )


def hri_msgs_available() -> bool:
    """True when hri_msgs imports; else says once per process why ROS4HRI is off."""
    global _missing_told
    try:
        import hri_msgs.msg  # noqa: F401
    except ImportError as e:
        if not _missing_told:
            _missing_told = True
            log.warning(
                "ROS4HRI outputs are off: hri_msgs is not installed (%s); install "
                "ros-$ROS_DISTRO-hri-msgs or run scripts/dev setup, which builds "
                "ros_deps/hri_msgs",
                e,
            )
        return False
    return True


def roi_msg(head: Head, header: Header, width: int, height: int) -> Any:
    from hri_msgs.msg import NormalizedRegionOfInterest2D

    x0, y0, x1, y1 = hri.normalized_roi(head.box, width, height).tolist()
    c = float(np.clip(head.score, 0.0, 1.0))
    return NormalizedRegionOfInterest2D(header=header, xmin=x0, ymin=y0, xmax=x1, ymax=y1, c=c)


def landmarks_msg(head: Head, header: Header, width: int, height: int) -> Any:
    from hri_msgs.msg import FacialLandmarks, NormalizedPointOfInterest2D

    points = hri.landmarks70(head, width, height).tolist()
    return FacialLandmarks(
        header=header,
        landmarks=[NormalizedPointOfInterest2D(x=x, y=y, c=c) for x, y, c in points],
        width=width,
        height=height,
    )


@dataclass
class FacePublishers:
    """The topics of one face, ``/humans/faces/<id>/...``."""

    roi: Any
    landmarks: Any
    cropped: Any
    aligned: Any

    def all(self) -> tuple[Any, ...]:
        return (self.roi, self.landmarks, self.cropped, self.aligned)


class HriFaces:
    """Owns the ROS4HRI publishers of one node.

    ``publish`` runs on the processing thread, ``deactivate`` and ``close`` on the executor's;
    one lock keeps them apart, and after ``close`` a late frame (a worker that did not stop in
    time) publishes nothing and makes no publisher.

    Args:
        node: the lifecycle node (configured).
    """

    def __init__(self, node: LifecycleNode) -> None:
        from hri_msgs.msg import IdsList

        self._node = node
        self._tracked = node.create_lifecycle_publisher(IdsList, TRACKED, hri_qos())
        self._faces: dict[str, FacePublishers] = {}
        self._frame_id = ""
        self._lock = threading.RLock()
        self._closed = False

    @property
    def ids(self) -> list[str]:
        """The faces whose topics exist now (confirmed tracks that have not ended)."""
        return sorted(self._faces)

    def _open(self, face_id: str) -> FacePublishers:
        from hri_msgs.msg import FacialLandmarks, NormalizedRegionOfInterest2D
        from sensor_msgs.msg import Image

        base = f"{FACES}/{face_id}"
        make = self._node.create_publisher
        return FacePublishers(
            make(NormalizedRegionOfInterest2D, f"{base}/roi", hri_qos()),
            make(FacialLandmarks, f"{base}/landmarks", hri_qos()),
            make(Image, f"{base}/cropped", hri_qos(1)),
            make(Image, f"{base}/aligned", hri_qos(1)),
        )

    def _close(self, face_id: str) -> None:
        face = self._faces.pop(face_id, None)
        if face is not None:
            for pub in face.all():
                self._node.destroy_publisher(pub)

    def publish(
        self,
        header: Header,
        heads: list[Head],
        lost: list[str],
        rgb: np.ndarray,
        size: tuple[int, int] = (128, 128),
    ) -> None:
        """One processed frame (the node is active): topics of ended tracks go, those of new
        ones come, each face seen in the frame gets its messages, then ``tracked`` lists every
        face whose track lives (a face missed for a frame or two stays listed).

        Args:
            header: the image's header.
            heads: the faces seen in the frame; lost: ids of the tracks that ended in it.
            rgb: (H, W, 3) uint8, the image the boxes and landmarks refer to.
            size: (width, height) of the cropped and aligned images, px.
        """
        with self._lock:
            if not self._closed:
                self._publish(header, heads, lost, rgb, size)

    def _publish(
        self,
        header: Header,
        heads: list[Head],
        lost: list[str],
        rgb: np.ndarray,
        size: tuple[int, int],
    ) -> None:
        from hri_msgs.msg import IdsList

        self._frame_id = header.frame_id
        for face_id in lost:
            self._close(face_id)
        height, width = rgb.shape[:2]
        for head in heads:
            face = self._faces.get(head.id)
            if face is None:
                face = self._faces[head.id] = self._open(head.id)
            face.roi.publish(roi_msg(head, header, width, height))
            face.landmarks.publish(landmarks_msg(head, header, width, height))
            if face.cropped.get_subscription_count():
                crop = hri.crop_face(rgb, head.box, size)
                face.cropped.publish(rgb_to_bgr8_image(crop, header))
            if face.aligned.get_subscription_count():
                aligned = hri.align_face(rgb, head, size)
                face.aligned.publish(rgb_to_bgr8_image(aligned, header))
        self._tracked.publish(IdsList(header=header, ids=self.ids))

    def deactivate(self) -> None:
        """Before the node's deactivation completes: an empty ``tracked`` list (stamped now,
        in the last image's frame), and every face's topics go."""
        from hri_msgs.msg import IdsList

        with self._lock:
            if self._closed:
                return
            stamp = self._node.get_clock().now().to_msg()
            self._tracked.publish(IdsList(header=Header(stamp=stamp, frame_id=self._frame_id)))
            for face_id in list(self._faces):
                self._close(face_id)

    def close(self) -> None:
        """Everything goes; a node shut down while active first sends the empty list."""
        with self._lock:
            if self._closed:
                return
            if self._tracked.is_activated and self._node.context.ok():
                self.deactivate()
            self._closed = True
            for face_id in list(self._faces):
                self._close(face_id)
            self._node.destroy_lifecycle_publisher(self._tracked)
