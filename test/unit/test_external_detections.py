"""Boxes from an external detector: message conversion and stamp pairing (no vision_msgs needed,
the converter only reads attributes)."""

from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np
import pytest

from trg_ros.ros.external import MAX_PENDING, StampPairing, detections_from_msg


def header(sec: int) -> NS:
    return NS(stamp=NS(sec=sec, nanosec=0))


def det_array(sec: int, boxes: list[tuple[float, float, float, float, float]]) -> NS:
    dets = [
        NS(
            bbox=NS(center=NS(position=NS(x=cx, y=cy), theta=0.0), size_x=w, size_y=h),
            results=[NS(hypothesis=NS(class_id="face", score=s))],
        )
        for cx, cy, w, h, s in boxes
    ]
    return NS(header=header(sec), detections=dets)


def test_conversion_to_corners_and_scores() -> None:
    out = detections_from_msg(det_array(1, [(100, 50, 40, 60, 0.7)]))
    np.testing.assert_allclose(out[0].box, [80, 20, 120, 80])
    assert out[0].score == pytest.approx(0.7)
    old_style = NS(
        header=header(1),
        detections=[NS(bbox=NS(center=NS(x=10, y=10, theta=0), size_x=4, size_y=4), results=[])],
    )
    assert detections_from_msg(old_style)[0].score == 1.0


def test_pairing_by_stamp_in_either_order() -> None:
    p = StampPairing()
    img1, img2 = NS(header=header(1)), NS(header=header(2))
    assert p.add_image(img1) is None
    paired = p.add_detections(det_array(1, [(10, 10, 4, 4, 0.9)]))
    assert paired is not None and paired[0] is img1 and len(paired[1]) == 1
    assert p.add_detections(det_array(2, [])) is None
    assert p.add_image(img2) == (img2, [])
    for s in range(10, 11 + MAX_PENDING):
        p.add_image(NS(header=header(s)))
    assert p.unmatched == 1  # the oldest image gave up waiting, and that is counted
