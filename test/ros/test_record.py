"""Recordings (rosbag2 folder, MCAP storage) read back by the ``mcap`` readers and by
``rosbags`` as other tools would, and replayed through the demo."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from test_demo import demo, rows, write_video

pytestmark = [pytest.mark.ros, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
FRAMES = 12


def read_mcap(bag: Path) -> dict[str, list[Any]]:
    """Every message of the bag decoded by mcap-ros2-support from the embedded schemas."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    (file,) = bag.glob("*.mcap")
    out: dict[str, list[Any]] = {}
    with file.open("rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for schema, channel, _, msg in reader.iter_decoded_messages():
            assert schema.encoding == "ros2msg" and channel.message_encoding == "cdr"
            out.setdefault(channel.topic, []).append(msg)
    return out


def read_rosbags(bag: Path) -> dict[str, list[Any]]:
    """Every message decoded by rosbags with only the bag's own definitions for our types."""
    from rosbags.highlevel import AnyReader

    out: dict[str, list[Any]] = {}
    with AnyReader([bag]) as reader:
        for conn, _, raw in reader.messages():
            out.setdefault(conn.topic, []).append(reader.deserialize(raw, conn.msgtype))
    return out


def stamp(msg: Any) -> float:
    return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


def test_demo_recording_reads_back_and_replays(facemesh_model_dir: Path, tmp_path: Path) -> None:
    video, bag, out = tmp_path / "in.mp4", tmp_path / "bag", tmp_path / "out"
    write_video(video, FRAMES)
    done = demo(
        "--video", str(video), "--model", "facemesh", "--data-dir", str(facemesh_model_dir),
        "--out", str(out), "--focal", "700", "--mesh", "--record", str(bag),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    table = rows(out)
    assert len(table) == FRAMES
    meta = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert meta["storage_identifier"] == "mcap"
    types = {t["topic_metadata"]["name"]: t["topic_metadata"]["type"] for t in
             meta["topics_with_message_count"]}  # fmt: skip
    assert types["/heads"] == "trg_ros/msg/HeadPoseArray"
    # our definitions travel in the file, as the installed .msg files have them
    from mcap.reader import make_reader

    from trg_ros.tools.bag import installed_msg_files

    with next(bag.glob("*.mcap")).open("rb") as f:
        schemas = {s.name: s.data.decode() for s in make_reader(f).get_summary().schemas.values()}
    embedded = schemas["trg_ros/msg/HeadPoseArray"]
    used = {"HeadPoseArray", *re.findall(r"^MSG: trg_ros/(\w+)$", embedded, re.M)}
    assert "HeadPose" in used
    for path in (p for p in installed_msg_files("trg_ros") if p.stem in used):
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                assert line.split("#")[0].strip() in embedded, (path.name, line)

    for read in (read_mcap, read_rosbags):
        topics = read(bag)
        counts = Counter({t: len(m) for t, m in topics.items()})
        for topic in ("/image", "/heads", "/head_pose", "/tf", "/head_markers"):
            assert counts[topic] == FRAMES, (read.__name__, counts)
        assert counts["/camera_info"] >= FRAMES
        assert counts == {t["topic_metadata"]["name"]: t["message_count"]
                          for t in meta["topics_with_message_count"]}  # fmt: skip
        # the CSV's stamps are the images' and the answers'
        csv_stamps = [float(r["stamp"]) for r in table]
        for topic in ("/image", "/heads", "/head_pose"):
            assert np.allclose(sorted(map(stamp, topics[topic])), csv_stamps, atol=1e-6), topic
        first = topics["/heads"][0].heads[0]
        assert len(first.dense_points) == 468 * 3 and len(first.landmarks_2d) == 68 * 2
        image = topics["/image"][0]
        assert (image.width, image.height, image.encoding) == (640, 480, "rgb8")
        tf = topics["/tf"][0].transforms
        assert {t.child_frame_id for t in tf} >= {"face_a", "gaze_a"}

    # the recording replays: the same frames, stamps and poses
    again = tmp_path / "again"
    done = demo(
        "--bag", str(bag), "--model", "facemesh", "--data-dir", str(facemesh_model_dir),
        "--out", str(again),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "intrinsics from the bag's CameraInfo: fx=700.0" in done.stdout
    replay = rows(again)
    assert [r["stamp"] for r in replay] == [r["stamp"] for r in table]
    for a, b in zip(table, replay, strict=True):
        assert np.allclose([float(a[k]) for k in "xyz"], [float(b[k]) for k in "xyz"], atol=1e-4)


def test_record_command_follows_a_namespace_and_best_effort_images(tmp_path: Path) -> None:
    """``trg-ros record`` subscribes once publishers appear, matches a camera's best-effort
    images under the names given (``--image``, ``--camera-info``), stores them as JPEG when
    asked (leaving the camera's own compressed stream of that name out), records the face
    signals, and embeds our message definitions."""
    import rclpy
    from geometry_msgs.msg import Pose
    from rclpy.qos import QoSProfile, qos_profile_sensor_data
    from rosmsgs import camera_info
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image
    from std_msgs.msg import Header
    from trg_ros.msg import FaceSignals, FaceSignalsArray, HeadPose, HeadPoseArray

    from trg_ros.ros.convert import rgb_to_image

    bag = tmp_path / "bag"
    proc = subprocess.Popen(
        [sys.executable, "-m", "trg_ros.cli", "record", str(bag), "--namespace", "/cam1",
         "--jpeg", "--image", "/camera/image_raw", "--camera-info", "/camera/camera_info"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("test_camera", namespace="/cam1", context=context)
    try:
        sensor, reliable = qos_profile_sensor_data, QoSProfile(depth=10)
        pubs = {
            "image": node.create_publisher(Image, "/camera/image_raw", sensor),
            "camera_info": node.create_publisher(CameraInfo, "/camera/camera_info", reliable),
            "heads": node.create_publisher(HeadPoseArray, "heads", reliable),
            "face_signals": node.create_publisher(FaceSignalsArray, "face_signals", reliable),
        }
        native = node.create_publisher(CompressedImage, "/camera/image_raw/compressed", sensor)
        end = time.monotonic() + 30
        while any(p.get_subscription_count() == 0 for p in pubs.values()):
            assert time.monotonic() < end and proc.poll() is None, "the recorder never subscribed"
            time.sleep(0.05)
        rgb = np.zeros((48, 64, 3), np.uint8)
        rgb[:, 32:] = (200, 30, 30)
        for i in range(5):
            header = Header(frame_id="cam")
            header.stamp.sec = 50 + i
            pubs["image"].publish(rgb_to_image(rgb, header))
            native.publish(CompressedImage(header=header, format="png", data=b"not ours"))
            pubs["camera_info"].publish(camera_info(64, 48, 60.0, header))
            head = HeadPose(header=header, id="a", model="trg", score=0.9, pose=Pose())
            head.pose.position.z = 0.5 + i
            pubs["heads"].publish(HeadPoseArray(header=header, heads=[head]))
            signals = FaceSignals(header=header, id="a", blink_count=i)
            pubs["face_signals"].publish(FaceSignalsArray(header=header, faces=[signals]))
            time.sleep(0.1)
        time.sleep(0.5)
        assert native.get_subscription_count() == 0
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)
        context.destroy()
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, output
    assert "warning" not in output, output
    for read in (read_mcap, read_rosbags):
        topics = read(bag)
        assert {t: len(m) for t, m in topics.items()} == {
            "/camera/image_raw/compressed": 5, "/camera/camera_info": 5, "/cam1/heads": 5,
            "/cam1/face_signals": 5,
        }, output  # fmt: skip
        assert [stamp(m) for m in topics["/cam1/heads"]] == [50.0, 51.0, 52.0, 53.0, 54.0]
        assert [m.heads[0].pose.position.z for m in topics["/cam1/heads"]] == [
            0.5, 1.5, 2.5, 3.5, 4.5]  # fmt: skip
        assert [m.faces[0].blink_count for m in topics["/cam1/face_signals"]] == [0, 1, 2, 3, 4]
        for jpeg in topics["/camera/image_raw/compressed"]:
            assert jpeg.format == "jpeg" and bytes(jpeg.data[:2]) == b"\xff\xd8"


def test_record_command_says_when_the_camera_is_not_there(tmp_path: Path) -> None:
    """A camera topic nobody publishes (a remap the command lacks) is named on stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "trg_ros.cli", "record", str(tmp_path / "bag"),
         "--image", "/nowhere/image", "--seconds", "6"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "warning: no publisher on /nowhere/image, /camera_info after 5 s" in done.stderr
