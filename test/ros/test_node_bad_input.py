"""Bad input over the wire: each bad frame is logged and counted, the next good one is served."""

from __future__ import annotations

import time

import numpy as np
import pytest
import skimage.data
from diagnostic_msgs.msg import DiagnosticArray
from rosmsgs import camera_info
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from trg_ros.msg import HeadPoseArray

from trg_ros.ros.convert import rgb_to_image

pytestmark = [pytest.mark.ros, pytest.mark.slow]
FRAME = "cam"
FACE = skimage.data.astronaut()


def diag_values(col) -> dict[str, str]:
    msgs = col.get("/diagnostics")
    return {kv.key: kv.value for kv in msgs[-1].status[0].values} if msgs else {}


def test_bad_frames_are_reported_and_the_node_keeps_serving(
    node_process, collector_factory, tmp_path
) -> None:
    proc = node_process("camera_info_timeout:=0.5")
    col = collector_factory({"heads": HeadPoseArray, "/diagnostics": DiagnosticArray})
    pub_img = col.publisher(Image, "image")
    pub_info = col.publisher(CameraInfo, "camera_info")

    def now() -> Header:
        return Header(stamp=col.node.get_clock().now().to_msg(), frame_id=FRAME)

    def key(h: Header) -> tuple[int, int]:
        return h.stamp.sec, h.stamp.nanosec

    def serve_good_frame() -> None:
        """Send good frames until one comes back in heads."""
        sent: set[tuple[int, int]] = set()

        def attempt() -> bool:
            h = now()
            pub_info.publish(camera_info(512, 512, 600.0, h))
            time.sleep(0.15)
            pub_img.publish(rgb_to_image(FACE, h))
            sent.add(key(h))
            return col.wait_for(lambda: any(key(m.header) in sent for m in col.get("heads")), 1.5)

        assert col.wait_for(attempt, timeout=40), "the node stopped serving good frames"

    def bad_then_good(send_bad, reason: str) -> None:
        before = int(diag_values(col).get(f"dropped_{reason}", 0))

        def attempt() -> bool:  # best-effort images can be lost on the way: resend
            send_bad()
            return col.wait_for(
                lambda: int(diag_values(col).get(f"dropped_{reason}", 0)) > before, 1.5
            )

        assert col.wait_for(attempt, timeout=30), (
            f"no diagnostics for {reason}: {diag_values(col)}"
        )
        serve_good_frame()

    serve_good_frame()

    def wrong_encoding() -> None:
        msg = rgb_to_image(FACE, now())
        msg.encoding = "32FC7"
        pub_img.publish(msg)

    def short_data() -> None:
        msg = rgb_to_image(FACE, now())
        msg.data = msg.data[:-100]
        pub_img.publish(msg)

    def zero_k() -> None:
        h = now()
        info = camera_info(512, 512, 600.0, h)
        info.k = [0.0] * 9
        pub_info.publish(info)
        time.sleep(0.15)
        pub_img.publish(rgb_to_image(FACE, h))

    def wrong_size() -> None:
        h = now()
        pub_info.publish(camera_info(640, 480, 600.0, h))
        time.sleep(0.15)
        pub_img.publish(rgb_to_image(FACE, h))

    def tiny() -> None:
        h = now()
        pub_info.publish(camera_info(1, 1, 1.0, h))
        time.sleep(0.15)
        pub_img.publish(rgb_to_image(np.zeros((1, 1, 3), np.uint8), h))

    bad_then_good(wrong_encoding, "bad_image")
    bad_then_good(short_data, "bad_image")
    bad_then_good(zero_k, "camera_info")
    bad_then_good(wrong_size, "camera_info")
    bad_then_good(tiny, "image_too_small")

    # An 8K frame is valid: it is processed (no face is expected on a flat grey image). It is
    # sent as mono8 (32 MiB) to keep the test's memory traffic modest.
    big = Image(height=4320, width=7680, encoding="mono8", step=7680)
    big.data = np.full(4320 * 7680, 128, np.uint8).tobytes()
    sent8k: set[tuple[int, int]] = set()

    def send_8k() -> bool:
        h = now()
        pub_info.publish(camera_info(7680, 4320, 5000.0, h))
        time.sleep(0.15)
        big.header = h
        pub_img.publish(big)
        sent8k.add(key(h))
        return col.wait_for(lambda: any(key(m.header) in sent8k for m in col.get("heads")), 4)

    assert col.wait_for(send_8k, timeout=60), "8K frame not processed"
    serve_good_frame()

    # Outputs never carry NaN.
    for msg in col.get("heads"):
        for head in msg.heads:
            p = head.pose.position
            assert np.all(np.isfinite([p.x, p.y, p.z, *head.landmarks_2d]))
    assert proc.poll() is None, "the node died"
    log = (tmp_path / "node0.log").read_text()
    assert "frame dropped (bad_image)" in log and "frame dropped (camera_info)" in log


def uncalibrated_camera(node_process, collector_factory, *params: str):
    """The node, and a sender of face images whose frame never gets a CameraInfo."""
    node_process("camera_info_timeout:=0.5", *params)
    col = collector_factory({"heads": HeadPoseArray, "/diagnostics": DiagnosticArray})
    pub_img = col.publisher(Image, "image")

    def send() -> None:
        header = Header(stamp=col.node.get_clock().now().to_msg(), frame_id="uncalibrated")
        pub_img.publish(rgb_to_image(FACE, header))

    return col, send


def test_missing_camera_info_is_an_error_not_a_guess(node_process, collector_factory) -> None:
    col, send = uncalibrated_camera(node_process, collector_factory)
    assert col.wait_for(
        lambda: send() or int(diag_values(col).get("dropped_no_camera_info", 0)) > 0, 30
    )
    assert col.get("heads") == []  # nothing published on a guessed focal length
    msg = col.get("/diagnostics")[-1].status[0]
    assert msg.level == msg.WARN and "no CameraInfo" in msg.message


def test_guessed_intrinsics_only_when_allowed(node_process, collector_factory) -> None:
    col, send = uncalibrated_camera(
        node_process, collector_factory, "allow_guessed_intrinsics:=true"
    )
    assert col.wait_for(lambda: send() or any(m.heads for m in col.get("heads")), 30)
    assert col.wait_for(
        lambda: (
            "guessed" in col.get("/diagnostics")[-1].status[0].message
            if col.get("/diagnostics")
            else False
        ),
        timeout=5,
    )
