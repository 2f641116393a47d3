"""The browser view's CPU cost: the serving process with one Chromium client against the
same process with none, while one face arrives at 15 Hz.

The process feeds the view as the demo does (a 640x480 image, a moving head with a dense
mesh the size of FaceMesh's, offered from a thread at the camera's rate); without a client
the view shows nothing, so the difference is what serving a browser costs. DevTools'
network events stay off, so the client's driver adds nothing to this process.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from trg_ros.core.camera import CameraModel
from trg_ros.tools.annotate import FaceRow
from trg_ros.tools.sources import sample_image

RATE_HZ = 15.0
GOAL_PERCENT = 10.0  # of one core
FACING = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _frame(t: float, rgb: np.ndarray, camera: CameraModel, points: np.ndarray) -> Any:
    from trg_ros.tools.view.scene import ViewFrame

    turn = Rotation.from_euler("y", 20 * np.sin(t), degrees=True).as_matrix() @ FACING
    position = np.array([0.05 * np.sin(t), -0.05, 0.8])
    face = FaceRow(
        t, 0, "a", "facemesh", 0.9, position, Rotation.from_matrix(turn).as_quat(),
        np.array([250.0, 150.0, 390.0, 330.0]), np.zeros((68, 2)), points + position,
    )  # fmt: skip
    return ViewFrame(rgb, camera, [face], 0.02)


def _cpu_share(seconds: float) -> float:
    """This process's CPU time over ``seconds`` of wall time, as a share of one core."""
    cpu, wall = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return (time.process_time() - cpu) / (time.monotonic() - wall)


def view_cost(seconds: float = 60.0, rate: float = RATE_HZ) -> dict[str, Any]:
    """CPU % of one core of this process serving the view, with one browser and without."""
    import cv2
    from scipy.spatial import Delaunay

    from trg_ros.tools.view.browser import Browser
    from trg_ros.tools.view.live import LiveView
    from trg_ros.tools.view.scene import Scene

    rgb = cv2.resize(sample_image(), (640, 480))
    camera = CameraModel.from_fov(640, 480, 60.0)
    points = np.random.default_rng(0).normal(0.0, 0.03, (468, 3))
    # a mesh as large as FaceMesh's (468 points, ~900 triangles), as the demo sends it
    triangles = Delaunay(points[:, :2]).simplices.astype(np.int64)
    port = _free_port()
    view = LiveView(Scene(port=port, meshes={"facemesh": triangles}), rate)
    stop = threading.Event()

    def feed() -> None:
        start = time.monotonic()
        while not stop.wait(1.0 / rate):
            view.offer(_frame(time.monotonic() - start, rgb, camera, points))

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        time.sleep(1.0)
        without = _cpu_share(seconds)
        with Browser(f"http://127.0.0.1:{port}", network=False):
            end = time.monotonic() + 30
            while view.shown < 5 and time.monotonic() < end:
                time.sleep(0.1)
            time.sleep(1.0)
            shown = view.shown
            with_client = _cpu_share(seconds)
            shown = view.shown - shown
    finally:
        stop.set()
        feeder.join()
        view.close()
    result = {
        "rate_hz": rate,
        "seconds": seconds,
        "cpu_without_percent": 100 * without,
        "cpu_with_percent": 100 * with_client,
        "cost_percent": 100 * (with_client - without),
        "shown_hz": shown / seconds,
    }
    print(
        f"view, one face at {rate:g} Hz: {result['cpu_without_percent']:.1f} % of a core "
        f"without a browser, {result['cpu_with_percent']:.1f} % with one "
        f"({result['shown_hz']:.1f} updates/s): the view costs {result['cost_percent']:.1f} %"
    )
    return result
