"""Driver-monitoring signals through the node: a camera process plays a clip of a real face
with its eyes open, then shut (test/unit/face_warps.py), and this test reads face_signals,
the gaze arrows in head_markers, the gaze_<id> frame and the diagnostics counts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from trg_ros.msg import FaceSignalsArray
from visualization_msgs.msg import Marker, MarkerArray

pytestmark = [pytest.mark.ros, pytest.mark.slow]
sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from face_warps import close_eyes  # noqa: E402

from trg_ros.core.camera import CameraModel  # noqa: E402
from trg_ros.core.detect.blazeface import BlazeFace  # noqa: E402
from trg_ros.core.facemesh.estimator import FaceMeshEstimator  # noqa: E402
from trg_ros.core.pipeline import HeadPosePipeline  # noqa: E402
from trg_ros.core.signals.geometry import angle_deg  # noqa: E402

RATE = 5.0  # Hz: a closure of 3 frames lasts 0.6 s


def clip(model_dir: Path) -> np.ndarray:
    """8 open frames, then 3 shut ones, of the astronaut."""
    rgb = skimage.data.astronaut()
    camera = CameraModel.from_fov(rgb.shape[1], rgb.shape[0], 60.0)
    estimator = FaceMeshEstimator.from_dir(model_dir)
    head = HeadPosePipeline(estimator, BlazeFace(model_dir / "face_detection_full_range.npz"))
    shut = close_eyes(rgb, head.process(rgb, camera, 0.0).heads[0].face_landmarks + 0.5)
    return np.stack([rgb] * 8 + [shut] * 3)


def test_blinks_and_gaze_through_the_node(
    node_process, collector_factory, facemesh_model_dir: Path, tmp_path: Path
) -> None:
    np.save(tmp_path / "clip.npy", clip(facemesh_model_dir))
    node_process("model:=facemesh", "gaze_from:=eyes", "max_age:=0")
    col = collector_factory(
        {
            "image": (Image, qos_profile_sensor_data),
            "face_signals": FaceSignalsArray,
            "head_markers": MarkerArray,
            "/diagnostics": DiagnosticArray,
        }
    )
    camera = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "publisher.py"), str(tmp_path / "clip.npy"),
         "500", str(RATE), "20"]
    )  # fmt: skip
    faces = lambda: [f for m in col.get("face_signals") for f in m.faces]  # noqa: E731
    try:
        assert col.wait_for(lambda: any(f.blink_count >= 2 for f in faces()), timeout=45), (
            "fewer than two blinks seen"
        )
    finally:
        camera.terminate()
        camera.wait(timeout=10)
    seen = faces()
    assert {f.id for f in seen} == {"a"}
    closed = [f for f in seen if f.eyes_closed]
    opened = [f for f in seen if not f.eyes_closed]
    assert closed and opened
    blinked = next(f for f in seen if f.blink_count >= 1)
    # 3 shut frames at 5 Hz: 0.6 s from the first shut frame to the first open one, unless the
    # node dropped a frame at either end
    assert blinked.last_blink_duration == pytest.approx(0.6, abs=0.21)
    assert all(f.long_closure_count == 0 for f in seen)
    for f in opened[-3:]:
        assert all(f.eye_valid) and all(f.gaze_valid) and len(f.blendshapes) == 52
        assert f.attention_source == "eyes" and np.isfinite(f.attention_angle)
        assert f.mouth_valid and np.isfinite(f.mouth_aspect_ratio)
        assert f.blendshapes[9] < 0.5 and f.eye_openness[1] > 0.5
    for f in closed:
        assert not any(f.gaze_valid) and np.isnan(f.gaze.x)
    arrows = [
        m
        for msg in col.get("head_markers")
        for m in msg.markers
        if m.type == Marker.ARROW and m.action == Marker.ADD
    ]
    assert arrows and arrows[0].ns == "face_a"
    assert col.wait_for(
        lambda: any(
            kv.key == "signal_blinks" and int(kv.value) >= 1
            for d in col.get("/diagnostics")
            for s in d.status
            for kv in s.values
        ),
        timeout=10,
    )


def test_signals_that_cannot_run_warn_on_the_diagnostics(
    node_process, collector_factory, model_dir: Path, tmp_path: Path
) -> None:
    """TRG without the Face Landmarker files: the head pose runs, and the signals stage that
    face_signals asks for but cannot be built is a warning on /diagnostics, not only a word
    in the start-up summary."""
    from trg_ros.core.facemesh.files import FACE_LANDMARKER

    bare = tmp_path / "no_facemesh"
    bare.mkdir()
    skip = set(FACE_LANDMARKER.derived_names())
    for f in model_dir.iterdir():
        if f.name not in skip:
            (bare / f.name).symlink_to(f)
    node_process(f"data_dir:={bare}", "model:=trg")
    col = collector_factory({"/diagnostics": DiagnosticArray})
    warned = lambda: [  # noqa: E731
        s for d in col.get("/diagnostics") for s in d.status
        if "signals_unavailable" in s.message
    ]  # fmt: skip
    assert col.wait_for(lambda: bool(warned()), timeout=60), "no signals warning on /diagnostics"
    assert warned()[-1].level == DiagnosticStatus.WARN


def attention_warnings(col) -> list[DiagnosticStatus]:
    return [
        s for d in col.get("/diagnostics") for s in d.status
        if "attention_frame_missing" in s.message
    ]  # fmt: skip


def test_attention_follows_a_tf_frame(
    node_process, collector_factory, facemesh_model_dir: Path, tmp_path: Path, ros2_cli: None
) -> None:
    """``attention_frame:=vehicle``: until the mount is known, attention is not measured (NaN)
    and /diagnostics says why; once a static transform vehicle -> camera is published (from
    another process, as a robot's description would), the attention angle is the face's
    forward axis (``head_pose``, the primary face's frame) against vehicle's +x seen from the
    camera, frame after frame."""
    from geometry_msgs.msg import PoseStamped
    from scipy.spatial.transform import Rotation

    np.save(tmp_path / "face.npy", skimage.data.astronaut())
    node_process("model:=facemesh", "attention_frame:=vehicle")
    col = collector_factory(
        {
            "face_signals": FaceSignalsArray,
            "head_pose": PoseStamped,
            "/diagnostics": DiagnosticArray,
        }
    )
    here = Path(__file__).parent
    camera = subprocess.Popen(
        [sys.executable, str(here / "publisher.py"), str(tmp_path / "face.npy"), "500", "5", "60"]
    )
    mount = None
    road = np.array([0.5, 0.3, -0.8]) / np.linalg.norm([0.5, 0.3, -0.8])  # in the camera frame
    camera_in_vehicle, _ = Rotation.align_vectors([[1.0, 0.0, 0.0]], [road])

    def attention_against(direction: np.ndarray, since: int) -> list[tuple[float, float]]:
        """(published angle, the face's x axis against ``direction``) per frame since."""
        stamp = lambda m: (m.header.stamp.sec, m.header.stamp.nanosec)  # noqa: E731
        poses = {stamp(m): m.pose for m in col.get("head_pose")}
        pairs = []
        for m in col.get("face_signals")[since:]:
            pose = poses.get(stamp(m))
            if pose is None or len(m.faces) != 1:
                continue
            q = pose.orientation
            forward = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()[:, 0]
            pairs.append((m.faces[0].attention_angle, angle_deg(forward, direction)))
        return pairs

    try:
        assert col.wait_for(lambda: len(attention_against(road, 0)) >= 3, 60)
        assert col.wait_for(lambda: bool(attention_warnings(col)), 10), "no attention warning"
        said = attention_warnings(col)[-1].message
        assert "no transform from vehicle to camera_optical_frame" in said, said
        assert all(np.isnan(got) for got, _ in attention_against(road, 0))  # not measured
        mount = subprocess.Popen(
            [sys.executable, str(here / "static_tf.py"), "vehicle", "camera_optical_frame",
             *map(str, camera_in_vehicle.as_quat())]
        )  # fmt: skip
        since = len(col.get("face_signals"))
        followed = lambda: [p for p in attention_against(road, since) if np.isfinite(p[0])]  # noqa: E731
        assert col.wait_for(lambda: len(followed()) >= 5, 30), (
            mount.poll(),
            attention_against(road, since),
        )
        for got, want in followed():
            assert got == pytest.approx(want, abs=1.0)
        later = attention_against(road, since)
        first = later.index(followed()[0])
        assert all(np.isfinite(got) for got, _ in later[first:])  # every frame once known
        assert 20 < followed()[-1][0] < 60  # the face looks into the lens, ~37 deg off the road
        n = len(col.get("/diagnostics"))
        assert col.wait_for(lambda: len(col.get("/diagnostics")) >= n + 2, 10)
        assert not any(
            "attention_frame_missing" in s.message
            for d in col.get("/diagnostics")[n + 1 :]
            for s in d.status
        ), "the warning stays after the transform came"
    finally:
        for proc in (camera, mount):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)


def test_attention_frame_without_tf2_ros(
    node_process, collector_factory, facemesh_model_dir: Path, tmp_path: Path
) -> None:
    """Where tf2_ros cannot be imported, ``attention_frame`` costs the attention angle only
    (NaN, the reason on /diagnostics); the pose and the other signals go on."""
    import os

    hidden = tmp_path / "no_tf2_ros" / "tf2_ros"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('tf2_ros hidden by the test')\n")
    path = f"{hidden.parent}:{os.environ.get('PYTHONPATH', '')}"
    np.save(tmp_path / "face.npy", skimage.data.astronaut())
    node_process("model:=facemesh", "attention_frame:=vehicle", env={"PYTHONPATH": path})
    col = collector_factory({"face_signals": FaceSignalsArray, "/diagnostics": DiagnosticArray})
    camera = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "publisher.py"), str(tmp_path / "face.npy"),
         "500", "5", "30"]
    )  # fmt: skip
    faces = lambda: [f for m in col.get("face_signals") for f in m.faces]  # noqa: E731
    try:
        assert col.wait_for(lambda: len(faces()) >= 3, 60), "no face_signals"
        assert col.wait_for(lambda: bool(attention_warnings(col)), 10), "no attention warning"
    finally:
        camera.terminate()
        camera.wait(timeout=10)
    warning = attention_warnings(col)[-1]
    assert warning.level == DiagnosticStatus.WARN
    assert "tf2_ros is not importable" in warning.message, warning.message
    for f in faces():
        assert (
            np.isnan(f.attention_angle)
            and all(f.eye_valid)
            and np.isfinite(f.eye_aspect_ratio).all()
        )
