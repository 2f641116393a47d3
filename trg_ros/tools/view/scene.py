"""The browser view's 3-D scene (viser): the camera frustum with the latest image, each
head's axes and the ray it faces along, dense points (a mesh where the model has
triangles), ids, and a side panel of per-face figures.

The scene's world is the camera optical frame (x right, y down, z forward, metres), so
poses go in as the node publishes them; "up" is -y. A browser opens looking through the
camera (the frustum's origin, its vertical field of view), where the 3-D axes fall on the
face in the image.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.tools.annotate import AXIS_LENGTH, FaceRow
from trg_ros.tools.view.guard import guard

IMAGE_WIDTH = 640  # px; the frustum's image is sent at most this wide (JPEG)
AXIS_THICKNESS = 5.0  # px on screen
FRUSTUM_THICKNESS = 2.0  # px on screen
# Where each head points: a ray along the face frame's x (out of the face: the gaze_<id>
# frame's z), in a colour no axis has.
RAY_LENGTH = 0.5  # m
RAY_COLOUR = (255, 215, 0)
AXIS_COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))  # RGB for x, y, z
POINT_SIZE = 0.002  # m
POINT_COLOUR = (235, 235, 235)
MESH_COLOUR = (150, 190, 230)
LOOK_DEPTH = 1.0  # m in front of the camera: where a new browser orbits around


@dataclass
class ViewFrame:
    """What one update shows: the image (annotated or raw, RGB), its camera, its faces."""

    rgb: np.ndarray
    camera: CameraModel
    faces: list[FaceRow]
    latency: float | None = None  # s from the image's stamp to its answer, when known


def vertical_fov(camera: CameraModel) -> float:
    """The camera's vertical field of view in radians (the frustum's and the browser's)."""
    return 2.0 * math.atan(camera.height / (2.0 * camera.k[1, 1]))


def wxyz(quaternion_xyzw: np.ndarray) -> np.ndarray:
    x, y, z, w = quaternion_xyzw
    return np.array([w, x, y, z])


def axis_segments() -> tuple[np.ndarray, np.ndarray]:
    """The three axes of a face frame in that frame: (3, 2, 3) points, (3, 2, 3) colours."""
    points = np.zeros((3, 2, 3))
    points[:, 1] = np.eye(3) * AXIS_LENGTH
    colours = np.repeat(np.array(AXIS_COLOURS, np.uint8)[:, None], 2, axis=1)
    return points, colours


def panel_text(frame: ViewFrame) -> str:
    """The side panel: one row per face."""
    if not frame.faces:
        return "no face"
    latency = "—" if frame.latency is None else f"{frame.latency * 1000:.0f} ms"
    lines = [
        f"latency {latency}",
        "",
        "| id | model | distance | yaw | pitch | roll |",
        "|---|---|---|---|---|---|",
    ]
    for f in frame.faces:
        yaw, pitch, roll = (round(float(a)) for a in f.euler())  # whole degrees, no "-0"
        lines.append(
            f"| {f.id} | {f.model} | {np.linalg.norm(f.position):.2f} m "
            f"| {yaw}° | {pitch}° | {roll}° |"
        )
    return "\n".join(lines)


class Scene:
    """A viser server and what it shows; :meth:`show` replaces the content with a frame.

    ``meshes``: per estimator name (``FaceRow.model``), the (T, 3) triangles of its dense
    points; a face of another model is shown as points.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        meshes: dict[str, np.ndarray] | None = None,
    ) -> None:
        import viser

        self.server = viser.ViserServer(host=host, port=port, label="trg_ros", verbose=False)
        guard(self.server, host)
        self.server.scene.set_up_direction("-y")
        self.server.gui.configure_theme(control_layout="floating", show_share_button=False)
        self._meshes = meshes or {}
        self._panel = self.server.gui.add_markdown("waiting for the first frame")
        self._frustum = None
        self._frustum_scale = 0.0
        self._camera: CameraModel | None = None
        self._heads: dict[str, dict] = {}  # id -> its scene handles
        self._lock = threading.Lock()
        self.server.on_client_connect(self._look_through_camera)
        self._axes_points, self._axes_colours = axis_segments()

    @property
    def port(self) -> int:
        return self.server.get_port()

    def clients(self) -> int:
        return len(self.server.get_clients())

    def _look_through_camera(self, client: Any) -> None:
        """A browser's camera at the frustum's origin with the camera's vertical field of
        view: the 3-D heads then fall on the faces in the image."""
        with self._lock:
            camera = self._camera
        if camera is None:
            return
        with client.atomic():
            client.camera.fov = vertical_fov(camera)
            client.camera.up_direction = (0.0, -1.0, 0.0)
            client.camera.position = (0.0, 0.0, 0.0)
            client.camera.look_at = (0.0, 0.0, LOOK_DEPTH)

    def show(self, frame: ViewFrame) -> None:
        """Put ``frame`` on the scene: one atomic update for every client."""
        with self.server.atomic():
            self._show_camera(frame)
            seen = set()
            for face in frame.faces:
                seen.add(face.id)
                self._show_head(face)
            for gone in set(self._heads) - seen:
                for handle in self._heads.pop(gone).values():
                    handle.remove()
            self._panel.content = panel_text(frame)

    def _show_camera(self, frame: ViewFrame) -> None:
        camera = frame.camera
        h, w = frame.rgb.shape[:2]
        image = frame.rgb
        if w > IMAGE_WIDTH:
            size = (IMAGE_WIDTH, round(h * IMAGE_WIDTH / w))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        depth = max((f.position[2] for f in frame.faces), default=LOOK_DEPTH)
        scale = 0.5 * math.ceil(2.0 * max(1.0, 1.3 * depth))  # behind every head, 0.5 m steps
        new_camera = self._camera is None or (
            (camera.width, camera.height) != (self._camera.width, self._camera.height)
            or not np.array_equal(camera.k, self._camera.k)
        )
        if new_camera or self._frustum is None or self._frustum_scale != scale:
            self._frustum = self.server.scene.add_camera_frustum(
                "/camera",
                fov=vertical_fov(camera),
                aspect=camera.width / camera.height,
                scale=scale,
                image=image,
                format="jpeg",
                jpeg_quality=80,
                thickness=FRUSTUM_THICKNESS,
                thickness_units="screen",
                variant="wireframe",
            )
            self._frustum_scale = scale
        else:
            self._frustum.image = image
        if new_camera:
            with self._lock:
                self._camera = camera
            initial = self.server.initial_camera
            initial.fov = vertical_fov(camera)
            initial.up = (0.0, -1.0, 0.0)
            initial.position = (0.0, 0.0, 0.0)
            initial.look_at = (0.0, 0.0, LOOK_DEPTH)
            for client in self.server.get_clients().values():
                self._look_through_camera(client)

    def _show_head(self, face: FaceRow) -> None:
        scene = self.server.scene
        name = f"/heads/{face.id}"
        handles = self._heads.get(face.id)
        q = wxyz(face.quaternion)
        if handles is None:
            handles = self._heads[face.id] = {
                "frame": scene.add_frame(name, show_axes=False, wxyz=q, position=face.position),
                "axes": scene.add_line_segments(
                    f"{name}/axes",
                    self._axes_points,
                    self._axes_colours,
                    thickness=AXIS_THICKNESS,
                    thickness_units="screen",
                ),
                "ray": scene.add_line_segments(
                    f"{name}/ray",
                    np.array([[[0.0, 0.0, 0.0], [RAY_LENGTH, 0.0, 0.0]]]),
                    RAY_COLOUR,
                    thickness=FRUSTUM_THICKNESS,
                    thickness_units="screen",
                ),
                "id": scene.add_label(f"{name}/id", face.id, position=(0.0, 0.0, 0.1)),
            }
        else:
            handles["frame"].wxyz, handles["frame"].position = q, face.position
        if face.vertices is None or not len(face.vertices):
            return
        # Dense points are in the camera frame, so they hang off the world, not the head; a
        # node added under a name in use replaces it.
        points = face.vertices.astype(np.float32)
        triangles = self._meshes.get(face.model)
        if triangles is not None and len(triangles) and triangles.max() < len(points):
            handles["dense"] = scene.add_mesh_simple(
                f"/dense/{face.id}",
                points,
                triangles,
                color=MESH_COLOUR,
                opacity=0.6,
                side="double",
            )
        else:
            handles["dense"] = scene.add_point_cloud(
                f"/dense/{face.id}", points, POINT_COLOUR, point_size=POINT_SIZE
            )

    def close(self) -> None:
        self.server.stop()
