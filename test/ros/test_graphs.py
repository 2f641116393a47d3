"""The node in graphs other people build, driven with the ROS 2 tools they use: parameters as
users write them (whole numbers for doubles, params files, ``ros2 param set``), topics that
follow the lifecycle, face ids that are never reused, and a namespaced launch whose RViz
configuration follows its arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import skimage.data
from conftest import Collector
from installed import Launched, prefix_env, ros2
from test_launch import start_camera, stop_camera
from trg_ros.msg import HeadPoseArray
from visualization_msgs.msg import MarkerArray

from trg_ros.ros.rviz import topics_of

LAUNCH_FILE = Path(__file__).resolve().parents[2] / "launch" / "head_pose.launch.py"

pytestmark = [pytest.mark.ros, pytest.mark.slow]
NODE = "/trg_head_pose"


def env() -> dict[str, str]:
    return dict(os.environ)


def wait_state(state: str, timeout: float = 60.0) -> None:
    got = ros2("lifecycle", "get", NODE, env=env(), timeout=timeout,
               ok=lambda out: out.startswith(state))  # fmt: skip
    assert got.stdout.startswith(state), got.stdout + got.stderr


def lifecycle(transition: str, state: str) -> None:
    done = ros2("lifecycle", "set", NODE, transition, env=env())
    assert "successful" in done.stdout, f"{transition}: {done.stdout}{done.stderr}"
    wait_state(state, 10)


def param(*args: str) -> str:
    done = ros2("param", *args, env=env(), ok=lambda out: True)
    return done.stdout + done.stderr


def test_parameters_as_users_write_them(
    node_process, ros2_cli: None, facemesh_model_dir: Path, tmp_path: Path
) -> None:
    params = tmp_path / "mine.yaml"
    params.write_text(
        "/**:\n  ros__parameters:\n    min_face_size: 30\n    smoothing_beta: 1\n"
        "    publish_landmarks_3d: false\n    precision: bf16\n"
    )
    node_process(
        "model:=facemesh",
        "camera_info_timeout:=5",
        "max_face:=3",  # a typo
        ros_args=("--params-file", str(params)),
    )
    wait_state("active")
    assert "Double value is: 30.0" in param("get", NODE, "min_face_size")
    assert "Double value is: 5.0" in param("get", NODE, "camera_info_timeout")
    assert "Double value is: 1.0" in param("get", NODE, "smoothing_beta")
    log = (tmp_path / "node0.log").read_text()
    assert "'max_face' is given but trg_head_pose does not have it" in log, log
    assert "'publish_landmarks_3d' is now called 'publish_dense_points'" in log, log
    assert "Boolean value is: False" in param("get", NODE, "publish_dense_points")
    assert "facemesh does not use these parameters, which are set: precision" in log, log

    assert "successful" in param("set", NODE, "min_face_size", "40")
    assert "Double value is: 40.0" in param("get", NODE, "min_face_size")
    wrong = param("set", NODE, "min_face_size", "many")
    assert "successful" not in wrong and "type" in wrong.lower(), wrong
    refused = param("set", NODE, "half", "true")  # precision is bf16
    assert "half=true asks for fp16 but precision='bf16'" in refused, refused
    assert "Boolean value is: False" in param("get", NODE, "half")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (("half:=true", "precision:=bf16"), "half=true asks for fp16 but precision='bf16'"),
        (("device:=cudaX",), "device='cudaX': use auto, cpu, cuda or cuda:N"),
        (("device:=cuda:abc",), "device='cuda:abc': use auto, cpu, cuda or cuda:N"),
        (("min_face_size:=many",), "min_face_size='many': wrong type, expected a double, got a"),
    ],
)
def test_contradictions_and_wrong_types_end_the_start_with_one_line(
    node_process, tmp_path: Path, given: tuple[str, ...], expected: str
) -> None:
    proc = node_process(*given)
    assert proc.wait(30) == 2
    log = (tmp_path / "node0.log").read_text()
    assert expected in log and "Traceback" not in log, log
    assert len([line for line in log.splitlines() if "[FATAL]" in line]) == 1, log


def heads_flow(col: Collector, since: int, timeout: float = 60.0) -> bool:
    return col.wait_for(lambda: any(m.heads for m in col.get("heads")[since:]), timeout)


def quiet_for(col: Collector, seconds: float) -> bool:
    n = len(col.get("heads"))
    time.sleep(seconds)
    return len(col.get("heads")) == n


def publishers(topic: str, expected: int) -> int:
    """``ros2 topic info``'s publisher count, asked again (the CLI's view of the graph may lag
    a transition by a moment) until it is ``expected`` or 15 s have passed."""
    count = -1
    end = time.monotonic() + 15
    while count != expected and time.monotonic() < end:
        done = ros2("topic", "info", topic, env=env(), ok=lambda out: True)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("Publisher count:")]
        count = int(lines[0].split(":")[1]) if lines else 0
    return count


def test_topics_follow_the_lifecycle_and_ids_are_never_reused(
    node_process, ros2_cli: None, facemesh_model_dir: Path, collector_factory, tmp_path: Path
) -> None:
    node_process("model:=facemesh", "max_age:=0", autostart=False)
    camera = start_camera(skimage.data.astronaut(), tmp_path, "600")
    col = collector_factory({"heads": HeadPoseArray})
    try:
        wait_state("unconfigured")
        assert publishers("/heads", 0) == 0
        lifecycle("configure", "inactive")
        assert publishers("/heads", 1) == 1 and publishers("/head_markers", 1) == 1
        assert quiet_for(col, 2.0), "inactive, yet it published"
        lifecycle("activate", "active")
        assert heads_flow(col, 0)
        first = {h.id for m in col.get("heads") for h in m.heads}
        assert first == {"a"}, first
        lifecycle("deactivate", "inactive")
        time.sleep(0.5)  # a frame in flight may still come out
        assert publishers("/heads", 1) == 1 and quiet_for(col, 2.0)
        lifecycle("cleanup", "unconfigured")
        assert publishers("/heads", 0) == 0
        lifecycle("configure", "inactive")
        lifecycle("activate", "active")
        n = len(col.get("heads"))
        assert heads_flow(col, n)
        again = {h.id for m in col.get("heads")[n:] for h in m.heads}
        assert again and not again & first, f"id reused after cleanup: {first} then {again}"
    finally:
        stop_camera(camera)


FAKE_RVIZ = """#!{python}
# Stands in for rviz2 (absent here): records what launch started it with, then waits.
import json, os, signal, sys, time
args = sys.argv[1:]
files = [args[i + 1] for i, a in enumerate(args) if a == "--params-file"]
record = {{"args": args, "params": [open(f).read() for f in files]}}
with open(os.path.join(os.environ["ROS_HOME"], "rviz_started.json"), "w") as out:
    json.dump(record, out)
signal.signal(signal.SIGINT, lambda *a: sys.exit(0))
while True:
    time.sleep(0.5)
"""


def fake_rviz(prefix: Path) -> None:
    """An ament package 'rviz2' whose executable records its command line."""
    (prefix / "share/ament_index/resource_index/packages").mkdir(parents=True)
    (prefix / "share/ament_index/resource_index/packages/rviz2").write_text("")
    exe = prefix / "lib/rviz2/rviz2"
    exe.parent.mkdir(parents=True)
    exe.write_text(FAKE_RVIZ.format(python=sys.executable))
    exe.chmod(0o755)


def test_a_namespaced_launch_reads_its_camera_and_rviz_shows_its_topics(
    ament_prefix: Path, ros2_cli: None, facemesh_model_dir: Path, tmp_path: Path
) -> None:
    """``namespace:=cam1`` alone moves the inputs (relative defaults ``image_raw``,
    ``camera_info``); the RViz configuration written for the launch names exactly the topics
    ``ros2 topic list`` shows for it, with their types, and the frame its markers use; RViz
    is started on it with the launch's ``use_sim_time``."""
    fake = tmp_path / "fake_rviz"
    fake_rviz(fake)
    home = tmp_path / "ros_home"
    home.mkdir()
    env = prefix_env(ament_prefix) | {"TRG_ROS_HOME": str(facemesh_model_dir)}
    env |= {"ROS_HOME": str(home), "AMENT_PREFIX_PATH": f"{fake}:{env['AMENT_PREFIX_PATH']}"}
    args = [
        "trg_ros", "head_pose.launch.py", "namespace:=cam1", "model:=facemesh", "device:=cpu",
        "rviz:=true", "use_sim_time:=true", "fixed_frame:=cam1_optical",
    ]  # fmt: skip
    launch = Launched(args, env, tmp_path / "launch.log")
    camera = start_camera(
        skimage.data.astronaut(), tmp_path, "600", "__ns:=/cam1", "image:=image_raw",
        frame_id="cam1_optical",
    )  # fmt: skip
    col = Collector({"/cam1/heads": HeadPoseArray, "/cam1/head_markers": MarkerArray})
    try:
        assert col.wait_for(
            lambda: (
                any(m.heads for m in col.get("/cam1/heads"))
                and any(m.markers for m in col.get("/cam1/head_markers"))
            ),
            90,
        ), launch.text()[-3000:]
        types = {}
        listing = ros2("topic", "list", "-t", env=env, ok=lambda out: "/cam1/head_pose" in out)
        for line in listing.stdout.splitlines():
            name, kind = line.split(maxsplit=1)
            types[name] = kind.strip("[]")
        config = (home / "trg_ros" / "head_pose_cam1.rviz").read_text()
        shown = topics_of(config)
        assert shown == {
            "Camera image": "/cam1/image_raw",
            "Faces: dense points, axes, ids": "/cam1/head_markers",
            "Primary head pose": "/cam1/head_pose",
        }, shown
        wanted = {"/cam1/image_raw": "sensor_msgs/msg/Image",
                  "/cam1/head_markers": "visualization_msgs/msg/MarkerArray",
                  "/cam1/head_pose": "geometry_msgs/msg/PoseStamped"}  # fmt: skip
        for topic, kind in wanted.items():
            assert types.get(topic) == kind, (topic, types)
        assert "Fixed Frame: cam1_optical" in config
        frames = {m.header.frame_id for a in col.get("/cam1/head_markers") for m in a.markers}
        assert frames == {"cam1_optical"}, frames
        started = home / "rviz_started.json"
        assert col.wait_for(started.is_file, 10), launch.text()[-3000:]
        record = json.loads(started.read_text())
        d = record["args"].index("-d")
        assert record["args"][d + 1] == str(home / "trg_ros" / "head_pose_cam1.rviz")
        assert any("use_sim_time: true" in p for p in record["params"]), record
    finally:
        stop_camera(camera)
        col.close()
        launch.interrupt()
    assert launch.proc.returncode == 0, launch.text()[-3000:]


# The launch file's RViz step, in a fresh interpreter: importing `launch` makes every logger
# created afterwards a non-propagating LaunchLogger, which would hide later tests' log records.
RVIZ_STEP = """
import importlib.util, json, sys
from launch.actions import LogInfo
spec = importlib.util.spec_from_file_location("head_pose_launch", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
arg = {"namespace": "cam1", "image": "image_raw", "fixed_frame": "", "rviz": "true",
       "use_sim_time": "false"}
actions = module._rviz(arg)
print(json.dumps([
    {"log": isinstance(a, LogInfo),
     "text": "".join(getattr(p, "text", str(p)) for p in getattr(a, "msg", []))}
    for a in actions
]))
"""


def test_an_unwritable_ros_home_costs_the_rviz_file_not_the_launch(tmp_path: Path) -> None:
    """The launch file's RViz step with ``ROS_HOME`` under a regular file (root may write
    anywhere, so a file stands in for a read-only folder): one log line that says why and
    what to do, no RViz, and no exception that would end the launch."""
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    step_env = {**env(), "ROS_HOME": str(blocker / "ros"), "ROS_LOG_DIR": str(tmp_path / "log")}
    out = subprocess.run(
        [sys.executable, "-c", RVIZ_STEP, str(LAUNCH_FILE)],
        env=step_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    [action] = json.loads(out.stdout)
    assert action["log"], action
    assert "no RViz configuration written and RViz not started" in action["text"], action
    assert "set ROS_HOME to a writable folder" in action["text"]
