"""A broken checkpoint: a one-line error, the node stays up, and can be fixed without restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import skimage.data
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rosmsgs import camera_info
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from trg_ros.msg import HeadPoseArray

from trg_ros.ros.convert import rgb_to_image

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def call(col, client, request):
    assert client.wait_for_service(timeout_sec=20)
    future = client.call_async(request)
    assert col.wait_for(future.done, 30)
    return future.result()


def test_corrupt_weights_then_fixed_live(
    node_process, collector_factory, model_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "state_dict.bin"
    broken.write_bytes((model_dir / "state_dict.bin").read_bytes()[:5000])
    proc = node_process(f"weights:={broken}")
    col = collector_factory({"heads": HeadPoseArray, "/diagnostics": DiagnosticArray})
    get_state = col.node.create_client(GetState, "/trg_head_pose/get_state")
    assert call(col, get_state, GetState.Request()).current_state.label == "unconfigured"
    log = tmp_path / "node0.log"
    assert col.wait_for(lambda: "truncated" in log.read_text(), 10)
    assert proc.poll() is None  # still running

    def failed_configure_reported() -> bool:  # on /diagnostics before any activation
        statuses = [s for m in col.get("/diagnostics") for s in m.status]
        return bool(statuses) and (
            statuses[-1].level == DiagnosticStatus.ERROR and "truncated" in statuses[-1].message
        )

    assert col.wait_for(failed_configure_reported, 10), col.get("/diagnostics")[-1:]

    set_params = col.node.create_client(SetParameters, "/trg_head_pose/set_parameters")
    value = ParameterValue(
        type=ParameterType.PARAMETER_STRING, string_value=str(model_dir / "state_dict.bin")
    )
    assert (
        call(
            col,
            set_params,
            SetParameters.Request(parameters=[Parameter(name="weights", value=value)]),
        )
        .results[0]
        .successful
    )
    change = col.node.create_client(ChangeState, "/trg_head_pose/change_state")
    for transition in (Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE):
        req = ChangeState.Request()
        req.transition.id = transition
        assert call(col, change, req).success
    assert call(col, get_state, GetState.Request()).current_state.label == "active"

    pub_img = col.publisher(Image, "image")
    pub_info = col.publisher(CameraInfo, "camera_info")

    def send() -> bool:
        header = Header(stamp=col.node.get_clock().now().to_msg(), frame_id="cam")
        pub_info.publish(camera_info(512, 512, 600.0, header))
        time.sleep(0.1)
        pub_img.publish(rgb_to_image(skimage.data.astronaut(), header))
        return col.wait_for(lambda: any(m.heads for m in col.get("heads")), 1.0)

    assert col.wait_for(send, 30)


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ("max_faces:=0", "invalid parameter max_faces=0: expected a value in [1, 64]"),
        ("principal_point:=centre", "principal_point='centre': allowed values are"),
        ("smoothing_beta:=fast", "invalid parameter smoothing_beta='fast'"),
    ],
)
def test_invalid_parameter_at_start_is_one_line_and_exit_2(
    node_process, tmp_path: Path, param: str, expected: str
) -> None:
    proc = node_process(param)
    assert proc.wait(30) == 2
    log = (tmp_path / "node0.log").read_text()
    assert expected in log and "Traceback" not in log, log
    assert len([line for line in log.splitlines() if param.split(":=")[0] in line]) == 1, log
