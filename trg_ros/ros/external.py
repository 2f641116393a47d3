"""Face boxes from a detector the user already runs (``vision_msgs/Detection2DArray``).

vision_msgs is optional (it is not published as a wheel): the node subscribes to
``detections`` only where it can be imported and ``external_detections`` is true. Each
Detection2DArray is paired with the image that has the same header stamp.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from trg_ros.core.detect.base import Detection

MAX_PENDING = 30  # images kept while their detections are on the way


def vision_msgs_available() -> bool:
    try:
        import vision_msgs.msg  # noqa: F401
    except ImportError:
        return False
    return True


def detections_from_msg(msg: Any) -> list[Detection]:
    """Detection2DArray -> detections (box corners in px; score of the best hypothesis)."""
    out = []
    for det in msg.detections:
        centre = det.bbox.center
        cx, cy = (
            (centre.position.x, centre.position.y)
            if hasattr(centre, "position")
            else (centre.x, centre.y)
        )  # vision_msgs < 4 used a plain Pose2D
        hw, hh = det.bbox.size_x / 2.0, det.bbox.size_y / 2.0
        score = max((r.hypothesis.score for r in det.results), default=1.0)
        out.append(Detection(np.array([cx - hw, cy - hh, cx + hw, cy + hh]), float(score)))
    return out


class StampPairing:
    """Pairs images and detection arrays that carry the same stamp, whichever comes first."""

    def __init__(self) -> None:
        self._images: OrderedDict[tuple[int, int], Any] = OrderedDict()
        self._detections: OrderedDict[tuple[int, int], list[Detection]] = OrderedDict()
        self.unmatched = 0

    @staticmethod
    def key(header: Any) -> tuple[int, int]:
        return header.stamp.sec, header.stamp.nanosec

    def add_image(self, msg: Any) -> tuple[Any, list[Detection]] | None:
        k = self.key(msg.header)
        if k in self._detections:
            return msg, self._detections.pop(k)
        self._remember(self._images, k, msg)
        return None

    def add_detections(self, msg: Any) -> tuple[Any, list[Detection]] | None:
        k = self.key(msg.header)
        dets = detections_from_msg(msg)
        if k in self._images:
            return self._images.pop(k), dets
        self._remember(self._detections, k, dets)
        return None

    def _remember(self, store: OrderedDict, k: tuple[int, int], value: Any) -> None:
        store[k] = value
        while len(store) > MAX_PENDING:
            store.popitem(last=False)
            self.unmatched += 1
