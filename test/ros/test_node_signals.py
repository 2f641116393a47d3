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
