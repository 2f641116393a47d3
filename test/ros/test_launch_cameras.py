"""Two cameras, two launches in two namespaces (one of them on image/compressed): every
output stays in its own namespace and TF frame names never collide. And a bad parameter in
a launch ends the node with one line, not a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import skimage.data
from conftest import Collector
from installed import Launched, prefix_env
from test_launch import key, start_camera, stop_camera, two_faces
from tf2_msgs.msg import TFMessage
from trg_ros.msg import HeadPoseArray
from visualization_msgs.msg import MarkerArray

from trg_ros.ros.outputs import TF_QOS

pytestmark = [pytest.mark.ros, pytest.mark.slow]
CAMERAS = {  # namespace: (image, faces, compressed)
    "cam1": (skimage.data.astronaut(), 1, False),
    "cam2": (two_faces(), 2, True),
}


def test_two_cameras_side_by_side(
    ament_prefix: Path, ros2_cli: None, model_dir: Path, tmp_path: Path
) -> None:
    env = prefix_env(ament_prefix) | {"TRG_ROS_HOME": str(model_dir)}
    topics: dict = {"/tf": (TFMessage, TF_QOS)}
    for ns in CAMERAS:
        topics[f"/{ns}/heads"] = HeadPoseArray
        topics[f"/{ns}/head_markers"] = MarkerArray
    col = Collector(topics)
    launches, cameras = [], []
    try:
        for ns, (image, _, compressed) in CAMERAS.items():
            args = [
                "trg_ros", "head_pose.launch.py", f"namespace:={ns}", "device:=cpu",
                f"weights:={model_dir / 'state_dict.bin'}", f"image:=/{ns}/camera/image",
                f"camera_info:=/{ns}/camera/camera_info", f"compressed:={str(compressed).lower()}",
            ]  # fmt: skip
            launches.append(Launched(args, env, tmp_path / f"{ns}.log"))
            camera = start_camera(
                image, tmp_path, "600", f"__ns:=/{ns}/camera", frame_id=f"{ns}_optical",
                compressed=compressed,
            )  # fmt: skip
            cameras.append(camera)

        def both_flowing() -> bool:
            return all(
                sum(len(m.heads) == n for m in col.get(f"/{ns}/heads")) >= 3
                for ns, (_, n, _) in CAMERAS.items()
            )

        assert col.wait_for(both_flowing, 120), "\n".join(x.text()[-2000:] for x in launches)
    finally:
        for camera in cameras:
            stop_camera(camera)
        for launch in launches:
            launch.interrupt()
        col.close()

    for ns, (_, faces, _) in CAMERAS.items():
        frames = [m for m in col.get(f"/{ns}/heads") if m.heads]
        assert {m.header.frame_id for m in frames} == {f"{ns}_optical"}
        ids = {h.id for m in frames for h in m.heads}
        assert len(ids) >= faces and all(i.startswith(f"{ns}_") for i in ids), ids
        spaces = {m.ns for arr in col.get(f"/{ns}/head_markers") for m in arr.markers}
        assert spaces and all(s.startswith(f"face_{ns}_") for s in spaces), spaces
    parents: dict[str, set[str]] = {}
    for msg in col.get("/tf"):
        for t in msg.transforms:
            parents.setdefault(t.child_frame_id, set()).add(t.header.frame_id)
    assert {"face_cam1_a", "gaze_cam1_a", "face_cam2_a", "face_cam2_b"} <= set(parents)
    assert all(len(p) == 1 for p in parents.values()), f"a frame with two parents: {parents}"
    assert parents["face_cam1_a"] == {"cam1_optical"}
    assert parents["face_cam2_b"] == {"cam2_optical"}
    stamps1 = {key(m.header) for m in col.get("/cam1/heads")}
    assert not stamps1 & {key(m.header) for m in col.get("/cam2/heads")}


def launch_on_cpu(
    ament_prefix: Path, model_dir: Path, tmp_path: Path, *args: str
) -> tuple[Launched, dict[str, str]]:
    """``ros2 launch trg_ros head_pose.launch.py ARGS device:=cpu`` with ``model_dir`` as the
    asset cache, its output in ``tmp_path``; the launch and its environment."""
    env = prefix_env(ament_prefix) | {"TRG_ROS_HOME": str(model_dir)}
    command = ["trg_ros", "head_pose.launch.py", *args, "device:=cpu"]
    return Launched(command, env, tmp_path / "launch.log"), env


def test_bad_parameter_ends_the_node_with_one_line(
    ament_prefix: Path, ros2_cli: None, model_dir: Path, tmp_path: Path
) -> None:
    params = tmp_path / "bad.yaml"
    params.write_text("/**:\n  ros__parameters:\n    principal_point: centre\n")
    launch, _ = launch_on_cpu(ament_prefix, model_dir, tmp_path, f"params_file:={params}")
    try:
        launch.proc.wait(60)  # launch ends when its only node has died
    finally:
        launch.kill()
    text = launch.text()
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if "principal_point" in line]
    assert len(lines) == 1 and "'centre'" in lines[0] and "image_centre" in lines[0], text
    assert "exit code 2" in text, text


def test_launch_arguments_as_ros2_launch_shows_them(ament_prefix: Path, ros2_cli: None) -> None:
    done = subprocess.run(
        ["ros2", "launch", "trg_ros", "head_pose.launch.py", "--show-args"],
        env=prefix_env(ament_prefix),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    shown = {line.strip().strip("'").split("'")[0] for line in done.stdout.splitlines()}
    wanted = {"image", "camera_info", "namespace", "weights", "device", "compressed",
              "external_detections", "detections", "use_sim_time", "log_level", "params_file",
              "rviz", "fixed_frame", "model"}  # fmt: skip
    assert wanted <= shown, done.stdout
    assert "(default: 'image_raw')" in done.stdout, done.stdout  # relative: follows namespace


def test_a_failed_first_configure_leaves_later_transitions_to_the_user(
    ament_prefix: Path, ros2_cli: None, model_dir: Path, tmp_path: Path
) -> None:
    """Broken weights: the launch's configure fails, the node stays up and unconfigured; once
    fixed, the user's configure is not followed by an activation the user did not ask for."""
    import time

    from installed import ros2

    broken = tmp_path / "broken.bin"
    broken.write_bytes((model_dir / "state_dict.bin").read_bytes()[:4096])
    launch, env = launch_on_cpu(ament_prefix, model_dir, tmp_path, f"weights:={broken}")
    try:
        got = ros2("lifecycle", "get", "/trg_head_pose", env=env, ok=lambda out: bool(out))
        assert got.stdout.startswith("unconfigured"), got.stdout + launch.text()
        good = str(model_dir / "state_dict.bin")
        done = ros2("param", "set", "/trg_head_pose", "weights", good, env=env)
        assert "successful" in done.stdout, done.stdout + done.stderr
        done = ros2("lifecycle", "set", "/trg_head_pose", "configure", env=env)
        assert "successful" in done.stdout, done.stdout + done.stderr + launch.text()
        time.sleep(3.0)
        got = ros2("lifecycle", "get", "/trg_head_pose", env=env)
        assert got.stdout.startswith("inactive"), got.stdout
        assert launch.proc.poll() is None and "truncated" in launch.text()
    finally:
        launch.interrupt()
