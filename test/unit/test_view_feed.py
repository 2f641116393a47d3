"""The browser view without a browser: what reaches the scene (newest frame only, at most
``max_rate`` a second, nothing while no browser is connected), the side panel, the meshes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from trg_ros.core.camera import CameraModel
from trg_ros.tools.annotate import FaceRow
from trg_ros.tools.demo.output import Output
from trg_ros.tools.view.command import meshes_in
from trg_ros.tools.view.live import LiveView
from trg_ros.tools.view.scene import ViewFrame, panel_text, vertical_fov

CAMERA = CameraModel(np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]]), 640, 480)
FACING = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])


class Recorder:
    """Stands in for the viser scene: counts browsers and keeps what it was shown."""

    def __init__(self, clients: int, seconds_per_show: float = 0.0) -> None:
        self.browsers = clients
        self.shown: list[int] = []
        self.frames: list[ViewFrame] = []
        self._seconds = seconds_per_show
        self.lock = threading.Lock()

    def clients(self) -> int:
        return self.browsers

    def show(self, frame: ViewFrame) -> None:
        time.sleep(self._seconds)
        with self.lock:
            self.shown.append(frame.faces[0].frame)
            self.frames.append(frame)

    def close(self) -> None:
        pass


def frame(index: int, yaw_deg: float = 0.0) -> ViewFrame:
    r = Rotation.from_euler("y", yaw_deg, degrees=True).as_matrix() @ FACING
    face = FaceRow(
        0.0, index, "a", "trg", 0.9, np.array([0.0, 0.0, 0.5]),
        Rotation.from_matrix(r).as_quat(), np.zeros(4), np.zeros((68, 2)), None,
    )  # fmt: skip
    return ViewFrame(np.zeros((480, 640, 3), np.uint8), CAMERA, [face])


def wait_until(predicate, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not predicate() and time.monotonic() < end:
        time.sleep(0.01)


def test_a_slow_browser_sees_the_newest_frames_in_order_and_never_holds_up_the_source() -> None:
    scene = Recorder(clients=1, seconds_per_show=0.05)
    view = LiveView(scene, max_rate=1000.0)  # type: ignore[arg-type]
    start = time.monotonic()
    for i in range(100):
        view.offer(frame(i))
        time.sleep(0.002)
    offering = time.monotonic() - start
    wait_until(lambda: scene.shown and scene.shown[-1] == 99)
    view.close()
    assert offering < 1.0  # never waited for the 50 ms shows
    assert scene.shown[-1] == 99 and scene.shown == sorted(set(scene.shown))
    assert len(scene.shown) < 30 and view.dropped + view.shown == 100


def test_at_most_max_rate_updates_a_second() -> None:
    scene = Recorder(clients=1)
    view = LiveView(scene, max_rate=10.0)  # type: ignore[arg-type]
    end = time.monotonic() + 1.0
    i = 0
    while time.monotonic() < end:
        view.offer(frame(i))
        i += 1
        time.sleep(0.005)
    view.close()
    assert i > 100 and 5 <= len(scene.shown) <= 12, len(scene.shown)


def test_nothing_is_shown_until_a_browser_connects_then_the_newest_frame() -> None:
    scene = Recorder(clients=0)
    view = LiveView(scene)  # type: ignore[arg-type]
    for i in range(5):
        view.offer(frame(i))
    time.sleep(0.3)
    assert scene.shown == []
    scene.browsers = 1
    wait_until(lambda: scene.shown)
    view.close()
    assert scene.shown == [4]


def test_panel_gives_distance_and_angles_per_face() -> None:
    text = panel_text(frame(0, yaw_deg=20.0))
    assert "| a | trg | 0.50 m | 20° | 0° | 0° |" in text
    assert "no face" in panel_text(ViewFrame(np.zeros((4, 4, 3), np.uint8), CAMERA, []))
    assert abs(vertical_fov(CAMERA) - 2 * np.arctan(240 / 500)) < 1e-12


def test_meshes_come_from_the_asset_folder(tmp_path: Path) -> None:
    assert meshes_in(tmp_path) == {}
    np.save(tmp_path / "facemesh_canonical_triangles.npy", np.array([[0, 1, 2]]))
    assert set(meshes_in(tmp_path)) == {"facemesh"}


def test_the_demo_gives_the_view_its_latency_and_keeps_no_dense_points_it_does_not_draw(
    tmp_path: Path,
) -> None:
    """Without --mesh the dense points go to the view's frame only, not into every row."""
    from trg_ros.msg import HeadPose, HeadPoseArray

    head = HeadPose(id="a", model="facemesh", score=0.9, dense_points=[0.0, 0.0, 0.5] * 468)
    o = head.pose.orientation
    o.x, o.y, o.z, o.w = Rotation.from_matrix(FACING).as_quat()
    head.pose.position.z = 0.5
    scene = Recorder(clients=1)
    view = LiveView(scene)  # type: ignore[arg-type]
    output = Output(tmp_path, video=False, triangles=None, mesh=False, show=False, view=view)
    output.add(0, np.zeros((480, 640, 3), np.uint8), CAMERA, 1.0, HeadPoseArray(heads=[head]),
               latency=0.03)  # fmt: skip
    output.finish()
    wait_until(lambda: scene.frames)
    view.close()
    (shown,) = scene.frames
    assert shown.latency == 0.03 and shown.faces[0].vertices.shape == (468, 3)
    assert "latency 30 ms" in panel_text(shown)
    assert [r.vertices for r in output.rows] == [None]


def test_a_frame_offered_as_a_function_is_made_only_when_shown() -> None:
    """``view --ros`` offers its frames undecoded: with no browser nothing is decoded, and
    then only the newest frame."""
    made: list[int] = []

    def maker(i: int):
        def make() -> ViewFrame:
            made.append(i)
            return frame(i)

        return make

    scene = Recorder(clients=0)
    view = LiveView(scene)  # type: ignore[arg-type]
    for i in range(5):
        view.offer(maker(i))
    time.sleep(0.3)
    assert made == []
    scene.browsers = 1
    wait_until(lambda: scene.shown)
    view.close()
    assert made == [4] and scene.shown == [4]
