"""Backpressure and live parameters, over real DDS."""

from __future__ import annotations

import time

import numpy as np
import pytest
import skimage.data
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rosmsgs import camera_info
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from trg_ros.msg import HeadPoseArray

from trg_ros.ros.convert import rgb_to_image

pytestmark = [pytest.mark.ros, pytest.mark.slow]
FACE = skimage.data.astronaut()
RATE_HZ = 60.0
DURATION_S = 30.0


def stamp_s(header: Header) -> float:
    return header.stamp.sec + header.stamp.nanosec * 1e-9


def test_node_stays_current_under_60hz(node_process, collector_factory) -> None:
    node_process()
    col = collector_factory({"heads": HeadPoseArray, "/diagnostics": DiagnosticArray})
    pub_img = col.publisher(Image, "image")
    pub_info = col.publisher(CameraInfo, "camera_info")
    info = camera_info(512, 512, 600.0)
    msg = rgb_to_image(FACE, Header(frame_id="cam"))
    assert col.wait_for(lambda: pub_img.get_subscription_count() > 0, 20)
    latencies: list[tuple[float, float]] = []  # (time since start, latency of a result)
    seen = 0
    start, start_mono = time.time(), time.monotonic()
    next_t = start
    while time.time() - start < DURATION_S:
        header = Header(stamp=col.node.get_clock().now().to_msg(), frame_id="cam")
        info.header = msg.header = header
        pub_info.publish(info)
        pub_img.publish(msg)
        with col.lock:
            fresh = col.messages["heads"][seen:]
            seen += len(fresh)
        # receive time on the wall clock (the stamps' clock) = start + monotonic offset
        latencies += [
            (t_recv - start_mono, start + (t_recv - start_mono) - stamp_s(m.header))
            for t_recv, m in fresh
        ]
        next_t += 1.0 / RATE_HZ
        time.sleep(max(0.0, next_t - time.time()))
    results = [(t, lat) for t, lat in latencies]
    assert len(results) > 20, "too few results to judge"
    early = np.median([lat for t, lat in results if t < 8.0])
    late = np.median([lat for t, lat in results if t > DURATION_S - 8.0])
    print(
        f"median latency early {early * 1e3:.0f} ms, late {late * 1e3:.0f} ms, "
        f"{len(results)} results for {int(DURATION_S * RATE_HZ)} frames"
    )
    # A queue would grow the latency by seconds over 30 s at 60 Hz (the node answers 10-30
    # frames/s). With the latest-frame hand-off a result is the frame in process plus at most
    # one waiting frame old: the latency keeps its level (the factor 3 allows for this shared
    # VM's speed changing within a run), and no frame waits in the hand-off longer than one
    # camera interval plus the freshness wait (a quarter interval), whatever the CPU does.
    assert late < 3 * early + 0.05, (early, late)

    def diag() -> dict[str, str]:
        return {kv.key: kv.value for kv in col.get("/diagnostics")[-1].status[0].values}

    assert col.wait_for(lambda: int(diag().get("frames_dropped_busy", 0)) > 0, 5)
    assert float(diag()["stage_queue_p50_ms"]) < 1.25e3 / RATE_HZ + 5.0, diag()


def test_parameters_are_validated_live(node_process, collector_factory) -> None:
    node_process()
    col = collector_factory({})
    client = col.node.create_client(SetParameters, "/trg_head_pose/set_parameters")
    assert client.wait_for_service(timeout_sec=20)

    def set_param(name: str, value: ParameterValue):
        future = client.call_async(
            SetParameters.Request(parameters=[Parameter(name=name, value=value)])
        )
        assert col.wait_for(future.done, 10)
        return future.result().results[0]

    bad = set_param(
        "max_faces", ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=0)
    )
    assert not bad.successful
    bad = set_param(
        "principal_point",
        ParameterValue(type=ParameterType.PARAMETER_STRING, string_value="middle"),
    )
    assert not bad.successful and "allowed" in bad.reason
    ok = set_param(
        "detection_threshold",
        ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=0.8),
    )
    assert ok.successful
