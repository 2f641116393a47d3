"""A ROS4HRI consumer written to libhri's contract, in rclpy (libhri/pyhri for ROS 2 need
rclcpp, C++ tf2_ros and cv_bridge, which no registry here provides).

Like libhri's HRIListener it knows nothing of trg_ros's messages: it subscribes to
``/humans/faces/tracked`` (hri_msgs/IdsList) with the system-default QoS; for each id that
appears it subscribes to ``/humans/faces/<id>/roi``, ``cropped``, ``aligned`` and ``landmarks``
and drops
those subscriptions when the id leaves the list; it finds the face's pose by a tf2 lookup of
``face_<id>`` from a reference frame (``base_link``), as libhri's Face::transform() does.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from hri_msgs.msg import FacialLandmarks, IdsList, NormalizedRegionOfInterest2D
from rclpy.qos import qos_profile_system_default
from sensor_msgs.msg import Image
from spun import SpunNode


@dataclass
class Face:
    """What the consumer knows of one face (latest messages, and everything for checks)."""

    id: str
    subscriptions: list[Any] = field(default_factory=list)
    roi: list[Any] = field(default_factory=list)
    cropped: list[Any] = field(default_factory=list)
    aligned: list[Any] = field(default_factory=list)
    landmarks: list[Any] = field(default_factory=list)


class HriConsumer(SpunNode):
    """Spins its own context in a thread; ``extra`` maps topic -> (type, qos) of other
    subscriptions to record (e.g. the node's ``heads``)."""

    locked_predicates = True  # the tests' predicates read ``faces`` and ``lists`` directly

    def __init__(self, reference_frame: str = "base_link", extra: dict | None = None) -> None:
        super().__init__("hri_consumer", tf=True)
        self.reference_frame = reference_frame
        self.faces: dict[str, Face] = {}  # the faces tracked now
        self.seen: dict[str, Face] = {}  # every face ever tracked
        self.lists: list[IdsList] = []
        self.appeared: dict[str, float] = {}
        self.left: dict[str, float] = {}
        self.extra: dict[str, list[Any]] = defaultdict(list)
        self.node.create_subscription(
            IdsList, "/humans/faces/tracked", self._on_tracked, qos_profile_system_default
        )
        for topic, (kind, qos) in (extra or {}).items():
            self.node.create_subscription(kind, topic, self._recorder(topic), qos)
        self.start()

    def _recorder(self, topic: str):
        def record(msg: Any) -> None:
            with self.lock:
                self.extra[topic].append(msg)

        return record

    def _on_tracked(self, msg: IdsList) -> None:
        with self.lock:
            self.lists.append(msg)
            now = set(msg.ids)
            for face_id in list(self.faces):
                if face_id not in now:  # the face left: drop its subscriptions
                    face = self.faces.pop(face_id)
                    for sub in face.subscriptions:
                        self.node.destroy_subscription(sub)
                    self.left[face_id] = time.monotonic()
            for face_id in now - set(self.faces):
                face = self.seen.get(face_id) or Face(face_id)
                self.seen[face_id] = self.faces[face_id] = face
                self.appeared.setdefault(face_id, time.monotonic())
                base = f"/humans/faces/{face_id}"
                for kind, name, store in (
                    (NormalizedRegionOfInterest2D, "roi", face.roi),
                    (Image, "cropped", face.cropped),
                    (Image, "aligned", face.aligned),
                    (FacialLandmarks, "landmarks", face.landmarks),
                ):
                    face.subscriptions.append(
                        self.node.create_subscription(
                            kind, f"{base}/{name}", self._storer(store), qos_profile_system_default
                        )
                    )

    def _storer(self, store: list[Any]):
        def put(msg: Any) -> None:
            with self.lock:
                store.append(msg)

        return put

    def transform(self, face_id: str, stamp: Any, timeout: float = 2.0) -> Any:
        """``reference_frame`` -> ``face_<id>`` at ``stamp`` (libhri: Face::transform())."""
        from rclpy.duration import Duration

        return self.tf_buffer.lookup_transform(
            self.reference_frame, f"face_{face_id}", stamp, Duration(seconds=timeout)
        )

    def tracked(self) -> set[str]:
        with self.lock:
            return set(self.faces)
