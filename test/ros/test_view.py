"""``trg-ros view --ros`` seen in a real browser (headless Chromium, WebGL in software): the
head axes are drawn where the pose projects them and follow the head; the server listens on
localhost only and the page asks nothing of any other host."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
import skimage.data
from scipy.spatial.transform import Rotation

pytestmark = [pytest.mark.ros, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
FOCAL = 600.0
# A face frame looking back at the camera, turned 20 degrees, where the astronaut's face is.
FACING = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
ROTATION = Rotation.from_euler("y", 20, degrees=True).as_matrix() @ FACING
POSITION = np.array([-0.02, -0.19, 0.9])
# what each axis's colour must be at its tip: the channel that dominates, and by how much
DOMINANT = ((0, 60), (1, 60), (2, 60))
AXIS_LENGTH = 0.08


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the TCP sockets listening on ``port`` (from /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def tips_on_screen(position: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(3, 2) px where the axis tips fall in a browser looking through the camera: a pinhole
    with the camera's vertical field of view, centred in the page of ``size`` (w, h)."""
    w, h = size
    f = (h / 2) / (256 / FOCAL)  # 512 px high image: tan(fov/2) = 256 / focal
    tips = position + AXIS_LENGTH * ROTATION.T
    return np.c_[w / 2 + f * tips[:, 0] / tips[:, 2], h / 2 + f * tips[:, 1] / tips[:, 2]]


def colour_near(image: np.ndarray, uv: np.ndarray, axis: int, radius: int = 10) -> bool:
    """Whether a pixel within ``radius`` px of ``uv`` has the axis's colour."""
    u, v = np.round(uv).astype(int)
    patch = image[max(0, v - radius) : v + radius + 1, max(0, u - radius) : u + radius + 1]
    patch = patch.reshape(-1, 3).astype(int)
    channel, margin = DOMINANT[axis]
    others = np.delete(patch, channel, axis=1).max(axis=1)
    return bool(np.any(patch[:, channel] - others > margin))


class Camera:
    """Publishes the astronaut, its CameraInfo (as camera/image_raw, camera/camera_info) and
    one head at 10 Hz in namespace ``ns``."""

    def __init__(self, ns: str) -> None:
        import rclpy
        from rclpy.qos import QoSProfile, qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, Image
        from trg_ros.msg import HeadPoseArray

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("test_camera", namespace=ns, context=self.context)
        self.pubs = (
            self.node.create_publisher(Image, "camera/image_raw", qos_profile_sensor_data),
            self.node.create_publisher(CameraInfo, "camera/camera_info", qos_profile_sensor_data),
            self.node.create_publisher(HeadPoseArray, "heads", QoSProfile(depth=5)),
        )
        self.position = POSITION.copy()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from geometry_msgs.msg import Pose
        from rosmsgs import camera_info
        from std_msgs.msg import Header
        from trg_ros.msg import HeadPose, HeadPoseArray

        from trg_ros.ros.convert import rgb_to_image

        rgb = skimage.data.astronaut()
        while not self._stop.wait(0.1):
            header = Header(frame_id="cam", stamp=self.node.get_clock().now().to_msg())
            pose = Pose()
            pose.position.x, pose.position.y, pose.position.z = self.position
            q = Rotation.from_matrix(ROTATION).as_quat()
            o = pose.orientation
            o.x, o.y, o.z, o.w = q
            head = HeadPose(header=header, id="a", model="trg", score=0.9, pose=pose)
            image, info, heads = self.pubs
            image.publish(rgb_to_image(rgb, header))
            info.publish(camera_info(512, 512, FOCAL, header))
            heads.publish(HeadPoseArray(header=header, heads=[head]))

    def close(self) -> None:
        import rclpy

        self._stop.set()
        self._thread.join()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        self.context.destroy()


def read_until(proc: subprocess.Popen, marker: str, timeout: float) -> list[str]:
    """``proc``'s output lines up to the first with ``marker`` (or all it wrote in
    ``timeout`` s: a thread reads, so a silent process cannot hang the test)."""
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if marker in line:
                found.set()
                return

    threading.Thread(target=read, daemon=True).start()
    found.wait(timeout)
    return list(lines)


def test_a_browser_that_fails_to_start_leaves_no_chromium_or_profile() -> None:
    from trg_ros.core.errors import TRGError
    from trg_ros.tools.view.browser import Browser

    def profiles() -> set[Path]:
        return set(Path(tempfile.gettempdir()).glob("trg_chromium_*"))

    before = profiles()
    with pytest.raises(TRGError, match=r"Page\.navigate"):
        Browser("not a url", network=False)
    assert profiles() == before


def wait_for_axes(browser, position: np.ndarray, timeout: float = 40.0) -> np.ndarray:
    """A screenshot with every axis tip of the head at ``position`` drawn in its colour."""
    end = time.monotonic() + timeout
    while True:
        shot = browser.screenshot()
        size = (shot.shape[1], shot.shape[0])
        tips = tips_on_screen(position, size)
        if all(colour_near(shot, tips[i], i) for i in range(3)):
            return shot
        if time.monotonic() > end:
            found = [colour_near(shot, tips[i], i) for i in range(3)]
            pytest.fail(f"axis tips {tips.round().tolist()} not drawn (x, y, z: {found})")
        time.sleep(0.5)


def test_view_draws_the_axes_where_the_pose_projects_them(tmp_path: Path) -> None:
    from trg_ros.tools.view.browser import Browser

    port = free_port()
    log = (tmp_path / "view.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "trg_ros.cli", "view", "--ros", "--namespace", "/viewed",
         "--port", str(port), "--image", "camera/image_raw", "--camera-info",
         "camera/camera_info"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    camera = None
    try:
        camera = Camera("/viewed")
        end = time.monotonic() + 30
        while not listening_addresses(port):
            assert time.monotonic() < end and proc.poll() is None, "the view never listened"
            time.sleep(0.1)
        assert listening_addresses(port) == {"0100007F"}, "listens beyond 127.0.0.1"
        with Browser(f"http://127.0.0.1:{port}") as browser:
            before = wait_for_axes(browser, POSITION)
            camera.position = POSITION + np.array([0.10, 0.0, 0.0])  # 10 cm to the right
            after = wait_for_axes(browser, camera.position)
            size = (after.shape[1], after.shape[0])
            old, new = tips_on_screen(POSITION, size), tips_on_screen(camera.position, size)
            assert np.all(new[:, 0] - old[:, 0] > 50)
            # each tip left its old place (drawn over nothing of its colour now)
            for i in range(3):
                assert colour_near(before, old[i], i, 3), i
                assert not colour_near(after, old[i], i, 3), i
            requests = list(browser.requests)
        assert requests, "the network log is empty"
        outside = [
            r for r in requests
            if urlparse(r).scheme not in ("data", "blob") and urlparse(r).hostname != "127.0.0.1"
        ]  # fmt: skip
        assert not outside, outside
    finally:
        if camera is not None:
            camera.close()
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    text = (tmp_path / "view.log").read_text()
    assert re.search(rf"view of /viewed at http://127.0.0.1:{port}", text), text[-2000:]


def test_demo_view_shows_the_demos_own_answer(facemesh_model_dir: Path, tmp_path: Path) -> None:
    """``demo --view``: the browser's side panel gives the face the demo wrote, and the view
    stays up after the input until the user quits."""
    import csv

    from trg_ros.tools.view.browser import Browser

    port = free_port()
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "trg_ros.cli", "demo", "--model", "facemesh",
         "--data-dir", str(facemesh_model_dir), "--out", str(out), "--focal", "600",
         "--view", "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        lines = read_until(proc, "the view stays at", timeout=60)
        assert "the view stays at" in lines[-1], "".join(lines)[-3000:]
        with (out / "poses.csv").open() as f:
            (row,) = csv.DictReader(ln for ln in f if not ln.startswith("#"))
        distance = np.linalg.norm([float(row[k]) for k in "xyz"])
        with Browser(f"http://127.0.0.1:{port}") as browser:
            end = time.monotonic() + 40
            while True:
                text = browser.call("Runtime.evaluate", expression="document.body.innerText")
                panel = text["result"].get("value", "")
                if f"facemesh\t{distance:.2f} m" in panel or time.monotonic() > end:
                    break
                time.sleep(0.5)
            assert f"facemesh\t{distance:.2f} m" in panel, panel
            assert re.search(r"latency \d+ ms", panel), panel
            while True:  # the image is drawn (its texture may come a moment after the panel)
                shown = (browser.screenshot().astype(int).sum(axis=2) < 600).mean()
                if shown > 0.3 or time.monotonic() > end:
                    break
                time.sleep(0.5)
            assert shown > 0.3, f"{shown:.2f} of the page is not white"
    finally:
        proc.terminate()
        rest = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0 and "Traceback" not in rest, rest[-3000:]
