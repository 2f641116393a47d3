"""``trg-ros demo`` run as a user would, on an image, a generated video and a bag."""

from __future__ import annotations

import csv
import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

pytestmark = [pytest.mark.ros, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def demo(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trg_ros.cli", "demo", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def rows(out: Path) -> list[dict[str, str]]:
    with (out / "poses.csv").open() as f:
        lines = [ln for ln in f if not ln.startswith("#")]
    return list(csv.DictReader(lines))


def test_bundled_image(model_dir: Path, tmp_path: Path) -> None:
    done = demo(
        "--data-dir", str(model_dir), "--out", str(tmp_path), "--fov", "60", "--device", "cpu"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    img = cv2.imread(str(tmp_path / "annotated.png"))[..., ::-1]
    assert img.shape == (512, 512, 3)
    box = json.loads((tmp_path / "poses.json").read_text())["poses"][0]["box"]
    x0, y0, x1, y1 = (round(v) for v in box)
    # The box is drawn where the CSV/JSON say the face is: its outline has the box colour
    # (landmark dots and axes may cross it, hence 80 %) ...
    outline = np.concatenate([img[y0, x0:x1], img[y1, x0:x1], img[y0:y1, x0], img[y0:y1, x1]])
    box_colour = np.all(np.abs(outline.astype(int) - (255, 210, 0)) <= 40, axis=1)
    assert box_colour.mean() > 0.8, box_colour.mean()
    # ... and nothing is drawn far from the face (id text above it, axes 8 cm from the sellion).
    changed = np.any(np.abs(img.astype(int) - skimage.data.astronaut()) > 30, axis=2)
    ys, xs = np.nonzero(changed)
    margin = 0.6 * (x1 - x0)
    assert xs.min() >= x0 - margin and xs.max() <= x1 + margin, (xs.min(), xs.max(), box)
    assert ys.min() >= y0 - margin and ys.max() <= y1 + margin, (ys.min(), ys.max(), box)
    table = rows(tmp_path)
    assert len(table) == 1 and table[0]["id"] == "a" and table[0]["model"] == "trg"
    assert "yaw, pitch, roll" in (tmp_path / "poses.csv").read_text().splitlines()[0]
    assert (tmp_path / "poses.json").is_file()


def test_without_a_trg_checkpoint_the_demo_runs_facemesh(
    facemesh_model_dir: Path, tmp_path: Path
) -> None:
    """A new user's first run: no TRG checkpoint, real poses from the bundled estimator."""
    data = tmp_path / "assets"
    shutil.copytree(facemesh_model_dir, data, ignore=shutil.ignore_patterns("state_dict.bin"))
    done = demo("--data-dir", str(data), "--out", str(tmp_path / "o"), "--fov", "60", "--mesh")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "head pose by facemesh" in done.stdout
    (face,) = rows(tmp_path / "o")
    assert face["model"] == "facemesh" and abs(float(face["yaw_deg"])) < 30
    assert 0.3 < float(face["z"]) < 2.0, face
    poses = json.loads((tmp_path / "o" / "poses.json").read_text())["poses"]
    assert poses[0]["model"] == "facemesh"


def write_video(path: Path, frames: int = 30) -> None:
    """The face translated and scaled over ``frames`` frames."""
    face = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 15, (640, 480))
    for i in range(frames):
        m = cv2.getRotationMatrix2D((256, 256), 0, 0.8 + 0.01 * i)
        m[:, 2] += (40 + 3 * i, -20 + i)
        writer.write(cv2.warpAffine(face, m, (640, 480)))
    writer.release()


def test_generated_video(model_dir: Path, tmp_path: Path) -> None:
    """Every frame once, in order, at the node's pace: no frame had to be sent again."""
    video = tmp_path / "in.mp4"
    write_video(video)
    out = tmp_path / "out"
    done = demo(
        "--video", str(video), "--data-dir", str(model_dir), "--out", str(out),
        "--focal", "700", "--device", "cpu",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    table = rows(out)
    assert len(table) == 30 and [int(r["frame"]) for r in table] == list(range(30))
    stamps = [float(r["stamp"]) for r in table]
    assert all(b > a for a, b in itertools.pairwise(stamps))
    assert {r["id"] for r in table} == {"a"}
    assert cv2.VideoCapture(str(out / "annotated.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == 30
    assert "sent again" not in done.stderr and "given up" not in done.stderr
    assert re.search(r"^30 frames, 30 faces, [\d.]+ frames/s", done.stdout, re.M), done.stdout


def test_a_frame_lost_on_the_way_is_sent_again_and_the_output_keeps_its_order(
    model_dir: Path, tmp_path: Path
) -> None:
    video = tmp_path / "in.mp4"
    write_video(video, 12)
    out = tmp_path / "out"
    done = demo(
        "--video", str(video), "--data-dir", str(model_dir), "--out", str(out),
        "--focal", "700", "--device", "cpu", "--test-drop-frames", "0", "7",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert [int(r["frame"]) for r in rows(out)] == list(range(12))
    for frame in (0, 7):  # the first before any answer (5 s), the other at the node's pace
        assert re.search(rf"frame {frame}: no answer after [\d.]+ s, sent again", done.stderr)
    assert done.stderr.count("sent again") == 2
    assert cv2.VideoCapture(str(out / "annotated.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == 12


def write_bag(path: Path, with_info: bool, same_stamp: bool = False) -> None:
    """Three astronaut frames at 100, 101, 102 s (or all at 100 s); each CameraInfo (fx 650)
    after its image, as a driver may record them."""
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore
    from rosmsgs import camera_info
    from std_msgs.msg import Header

    from trg_ros.ros.convert import rgb_to_image

    store = get_typestore(Stores.ROS2_KILTED)
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        img_c = writer.add_connection("/cam/image_raw", "sensor_msgs/msg/Image", typestore=store)
        info_c = writer.add_connection(
            "/cam/camera_info", "sensor_msgs/msg/CameraInfo", typestore=store
        )
        for i in range(3):
            header = Header(frame_id="cam")
            header.stamp.sec, header.stamp.nanosec = (100 if same_stamp else 100 + i), 0
            t = (100 + i) * 10**9
            writer.write(
                img_c, t, serialize_message(rgb_to_image(skimage.data.astronaut(), header))
            )
            if with_info:
                info = camera_info(512, 512, 650.0, header)
                writer.write(info_c, t + 1, serialize_message(info))


@pytest.mark.parametrize("with_info", [True, False])
def test_bag(model_dir: Path, tmp_path: Path, with_info: bool) -> None:
    bag = tmp_path / "bag"
    write_bag(bag, with_info)
    out = tmp_path / "out"
    done = demo(
        "--bag", str(bag), "--data-dir", str(model_dir), "--out", str(out), "--device", "cpu"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    if with_info:  # the first image comes before any CameraInfo and still gets it
        assert "intrinsics from the bag's CameraInfo: fx=650.0" in done.stdout
        assert "guess" not in done.stdout + done.stderr
    else:
        assert "intrinsics from a guess" in done.stdout
    assert [float(r["stamp"]) for r in rows(out)] == [100.0, 101.0, 102.0]


def test_missing_weights_says_what_to_do(tmp_path: Path) -> None:
    done = demo("--model", "trg", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"))
    assert done.returncode == 3
    assert "trg-ros assets fetch" in done.stderr and "--weights" in done.stderr


def test_missing_facemesh_files_say_what_to_do(tmp_path: Path) -> None:
    done = demo("--data-dir", str(tmp_path), "--out", str(tmp_path / "o"))
    assert done.returncode == 3
    assert "trg-ros assets fetch --only facemesh" in done.stderr, done.stderr[-2000:]


def test_a_bag_whose_frames_share_one_stamp_gives_one_row_per_frame(
    model_dir: Path, tmp_path: Path
) -> None:
    """Answers are told apart by stamp: frames of one stamp go one after the other."""
    bag = tmp_path / "bag"
    write_bag(bag, with_info=True, same_stamp=True)
    out = tmp_path / "out"
    done = demo(
        "--bag", str(bag), "--data-dir", str(model_dir), "--out", str(out), "--device", "cpu"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert [int(r["frame"]) for r in rows(out)] == [0, 1, 2]
    assert "sent again" not in done.stderr and "given up" not in done.stderr


def test_video_with_signals_writes_their_columns_and_a_timeline(
    facemesh_model_dir: Path, tmp_path: Path
) -> None:
    """A clip of the astronaut, eyes open, then shut for 4 frames (test/unit/face_warps.py),
    then open: the CSV says when the eyes were closed and counts one blink, the JSON carries
    the same columns and a timeline PNG lies beside the video."""
    sys.path.insert(0, str(REPO / "test" / "unit"))
    from face_warps import close_eyes

    from trg_ros.core.camera import CameraModel
    from trg_ros.core.detect.blazeface import BlazeFace
    from trg_ros.core.facemesh.estimator import FaceMeshEstimator
    from trg_ros.core.pipeline import HeadPosePipeline

    rgb = skimage.data.astronaut()
    camera = CameraModel.from_fov(512, 512, 60.0)
    detector = BlazeFace(facemesh_model_dir / "face_detection_full_range.npz")
    pipeline = HeadPosePipeline(FaceMeshEstimator.from_dir(facemesh_model_dir), detector)
    shut = close_eyes(rgb, pipeline.process(rgb, camera, 0.0).heads[0].face_landmarks + 0.5)
    video = tmp_path / "blink.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (512, 512))
    for frame in [rgb] * 10 + [shut] * 4 + [rgb] * 6:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    out = tmp_path / "out"
    done = demo(
        "--video", str(video), "--data-dir", str(facemesh_model_dir), "--out", str(out),
        "--model", "facemesh", "--fov", "60", "--device", "cpu",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    table = rows(out)
    assert len(table) == 20
    assert [r["eyes_closed"] for r in table] == ["0"] * 10 + ["1"] * 4 + ["0"] * 6
    assert table[-1]["blink_count"] == "1" and table[14]["blink"] == "1"
    assert table[12]["gaze_x"] == "" and table[5]["gaze_x"] != ""  # no iris on a shut eye
    first = json.loads((out / "poses.json").read_text())["poses"][0]
    assert first["eyes_closed"] == 0 and float(first["ear_r"]) > 0.15
    timeline = cv2.imread(str(out / "timeline.png"))
    assert timeline is not None and timeline.shape[1] == 1100
