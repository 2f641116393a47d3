"""TF without tf2_ros (pip installs have none; /tf is the node's own lifecycle publisher) and
face boxes from vision_msgs, for real."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped
from rosmsgs import camera_info
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from test_launch import two_faces
from trg_ros.msg import HeadPoseArray

from trg_ros.ros.convert import rgb_to_image

pytestmark = [pytest.mark.ros, pytest.mark.slow]
FRAME = "cam"


def publish_frames(col, image: np.ndarray, until, on_header=None, period: float = 0.2) -> bool:
    """Image + CameraInfo with fresh stamps every ``period`` s until ``until()`` holds."""
    pub_img = col.publisher(Image, "image")
    pub_info = col.publisher(CameraInfo, "camera_info")
    h, w = image.shape[:2]

    def send() -> bool:
        header = Header(stamp=col.node.get_clock().now().to_msg(), frame_id=FRAME)
        pub_info.publish(camera_info(w, h, 600.0, header))
        if on_header is not None:
            on_header(header)
        pub_img.publish(rgb_to_image(image, header))
        return col.wait_for(until, period)

    return col.wait_for(send, 60)


def test_tf_without_tf2_ros(node_process, collector_factory, tmp_path: Path) -> None:
    """The node never imports tf2_ros (an import would leave the marker file), and a tf2
    listener elsewhere finds its frames."""
    hidden = tmp_path / "no_tf2_ros" / "tf2_ros"
    hidden.mkdir(parents=True)
    marker = tmp_path / "tf2_ros_imported"
    (hidden / "__init__.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nraise ImportError('tf2_ros hidden by the test')\n"
    )
    path = f"{hidden.parent}:{os.environ.get('PYTHONPATH', '')}"
    node_process("max_age:=0", env={"PYTHONPATH": path})
    col = collector_factory({"head_pose": PoseStamped}, tf=True)
    assert publish_frames(col, two_faces()[:, :512], lambda: len(col.get("head_pose")) >= 2)
    pose = col.get("head_pose")[-1]
    from rclpy.duration import Duration

    t = col.tf_buffer.lookup_transform(FRAME, "face_a", pose.header.stamp, Duration(seconds=5))
    p = pose.pose.position
    tr = t.transform.translation
    assert np.linalg.norm([tr.x - p.x, tr.y - p.y, tr.z - p.z]) < 1e-6
    assert not marker.exists(), "the node tried to import tf2_ros"


def test_external_detections_end_to_end(node_process, collector_factory) -> None:
    import vision_msgs.msg as vision  # from ../shared/ros2_tools (scripts/dev test installs it)

    node_process("external_detections:=true", "max_age:=0")
    col = collector_factory({"heads": HeadPoseArray, "/diagnostics": DiagnosticArray})
    pub_det = col.publisher(vision.Detection2DArray, "detections", 10)
    box = (600.0, 68.0, 705.0, 175.0)  # the right (mirrored) face of the two

    def detections(header: Header, boxes: list[tuple[float, ...]]) -> None:
        msg = vision.Detection2DArray(header=header)
        for x0, y0, x1, y1 in boxes:
            det = vision.Detection2D(header=header)
            det.bbox.center.position.x, det.bbox.center.position.y = (x0 + x1) / 2, (y0 + y1) / 2
            det.bbox.size_x, det.bbox.size_y = x1 - x0, y1 - y0
            hyp = vision.ObjectHypothesisWithPose()
            hyp.hypothesis.class_id, hyp.hypothesis.score = "face", 0.9
            det.results.append(hyp)
            msg.detections.append(det)
        pub_det.publish(msg)

    assert col.wait_for(lambda: pub_det.get_subscription_count() > 0, 30)
    sent: set[tuple[int, int]] = set()

    def with_box(header: Header) -> None:
        sent.add((header.stamp.sec, header.stamp.nanosec))
        detections(header, [box])

    def answered() -> bool:
        return any((m.header.stamp.sec, m.header.stamp.nanosec) in sent for m in col.get("heads"))

    assert publish_frames(col, two_faces(), answered, on_header=with_box)
    for msg in col.get("heads"):  # the detector's second face never appears: only our box
        assert len(msg.heads) == 1, [h.box for h in msg.heads]
        assert np.allclose(msg.heads[0].box, box, atol=1e-3)

    # Detections whose image never comes, and an empty array: counted, and the node goes on.
    for _ in range(40):
        detections(Header(stamp=col.node.get_clock().now().to_msg(), frame_id=FRAME), [box])
        time.sleep(0.01)
    empty = len(col.get("heads"))
    assert publish_frames(
        col,
        two_faces(),
        lambda: any(not m.heads for m in col.get("heads")[empty:]),
        on_header=lambda header: detections(header, []),
    )

    def counted() -> bool:
        diags = [s for m in col.get("/diagnostics") for s in m.status]
        values = {kv.key: kv.value for kv in diags[-1].values} if diags else {}
        return int(values.get("dropped_unpaired", 0)) >= 1 and "empty_detections" in values

    assert col.wait_for(counted, 10), col.get("/diagnostics")[-1:]
