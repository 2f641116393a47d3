"""Two cameras, as the README runs them: one head_pose.launch.py per camera namespace and
hri_merge.launch.py. A ROS4HRI consumer of /humans/faces/tracked sees the faces of both
cameras in every list, without flicker, and reaches each face's topics and TF frame."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import skimage.data
from hri_consumer import HriConsumer
from installed import Launched, prefix_env
from test_launch import start_camera, stop_camera, two_faces

pytestmark = [pytest.mark.ros, pytest.mark.slow]
CAMERAS = {"cam1": skimage.data.astronaut(), "cam2": two_faces()}
ALL = {"cam1_a", "cam2_a", "cam2_b"}


def test_one_face_list_for_two_cameras(
    ament_prefix: Path, ros2_cli: None, model_dir: Path, tmp_path: Path
) -> None:
    env = prefix_env(ament_prefix) | {"TRG_ROS_HOME": str(model_dir)}
    consumer = HriConsumer(reference_frame="cam1_optical")
    launches, cameras = [], []
    try:
        merge = ["trg_ros", "hri_merge.launch.py", "namespaces:=cam1,cam2"]
        launches.append(Launched(merge, env, tmp_path / "merge.log"))
        for ns, image in CAMERAS.items():
            args = [
                "trg_ros", "head_pose.launch.py", f"namespace:={ns}", "device:=cpu",
                f"weights:={model_dir / 'state_dict.bin'}", f"image:=/{ns}/camera/image",
                f"camera_info:=/{ns}/camera/camera_info",
            ]  # fmt: skip
            launches.append(Launched(args, env, tmp_path / f"{ns}.log"))
            remap = f"__ns:=/{ns}/camera"
            cameras.append(start_camera(image, tmp_path, "600", remap, frame_id=f"{ns}_optical"))

        def everyone() -> bool:
            return set(consumer.faces) >= ALL and all(len(consumer.faces[i].roi) >= 2 for i in ALL)

        logs = lambda: "\n".join(x.text()[-1500:] for x in launches)  # noqa: E731
        assert consumer.wait_for(everyone, 120), logs()
        start = len(consumer.lists)
        assert consumer.wait_for(lambda: len(consumer.lists) >= start + 20, 60), logs()
        with consumer.lock:
            lists = [sorted(m.ids) for m in consumer.lists[start:]]
            left = dict(consumer.left)
        assert all(ids == sorted(ALL) for ids in lists), lists  # both cameras in every list
        assert not left, f"faces dropped out of the joined list: {left}"
        assert "cam1_optical" in {m.header.frame_id for m in consumer.lists[start:]}
        assert "cam2_optical" in {m.header.frame_id for m in consumer.lists[start:]}
        # each node lists only its own faces, under its namespace
        own = consumer.node.count_publishers("/cam1/humans/faces/tracked")
        assert own == 1 and consumer.node.count_publishers("/humans/faces/tracked") == 1
        roi = consumer.faces["cam1_a"].roi[-1]
        assert consumer.transform("cam1_a", roi.header.stamp) is not None

        # cam2's node stops: its faces leave the joined list, cam1's stay
        stop_camera(cameras[1])
        launches[2].interrupt()
        assert consumer.wait_for(lambda: set(consumer.faces) == {"cam1_a"}, 30), logs()
    finally:
        for camera in cameras:
            stop_camera(camera)
        for launch in launches:
            launch.interrupt()
        consumer.close()


def merge(*params: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python -m trg_ros.ros.hri_merge --ros-args -p ...``, output as text on stdout."""
    cmd = [sys.executable, "-m", "trg_ros.ros.hri_merge", "--ros-args"]
    for p in params:
        cmd += ["-p", p]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1", **(env or {})},
    )  # fmt: skip


@pytest.mark.parametrize("value", ["100", "0.0", "abc"])
def test_merge_with_a_bad_timeout_ends_with_one_line(value: str) -> None:
    out, _ = (proc := merge("namespaces:=cam1", f"timeout:={value}")).communicate(timeout=60)
    assert proc.returncode == 2, out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1, out
    assert "timeout=" in out and "[0.05, 60]" in out, out


def test_merge_takes_a_whole_number_for_its_timeout() -> None:
    """``timeout:=2`` (an integer on the command line) means 2.0 s."""
    proc = merge("namespaces:=cam1", "timeout:=2")
    try:
        line = proc.stdout.readline()
        assert "joining /cam1/humans/faces/tracked" in line, line + proc.stdout.read()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in out, out


def test_merge_without_hri_msgs_ends_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "no_hri" / "hri_msgs"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('hri_msgs hidden by the test')\n")
    path = f"{blocker.parent}:{os.environ.get('PYTHONPATH', '')}"
    out, _ = (proc := merge("namespaces:=cam1", env={"PYTHONPATH": path})).communicate(timeout=60)
    assert proc.returncode == 1, out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1, out
    assert "hri_msgs is not installed" in out, out


def test_merge_without_namespaces_ends_with_one_line() -> None:
    from trg_ros.ros.hri_merge import parse_namespaces

    assert parse_namespaces(" cam1, /cam2/ ,") == ["cam1", "cam2"]
    for bad in ("", "cam1,cam1"):
        with pytest.raises(ValueError, match="namespaces"):
            parse_namespaces(bad)
    done = subprocess.run(
        [sys.executable, "-m", "trg_ros.ros.hri_merge"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    text = done.stdout + done.stderr
    assert "Traceback" not in text and "namespaces" in text, text
