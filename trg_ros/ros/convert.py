"""Pure conversions between ROS messages and the core's values (message in, value out)."""

from __future__ import annotations

import cv2
import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point, Pose, PoseStamped, Quaternion, TransformStamped, Vector3
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from trg_ros.core.camera import CameraModel
from trg_ros.core.errors import CameraError
from trg_ros.core.frames import GAZE_IN_FACE, face_pose, rotation_to_quaternion
from trg_ros.core.types import Head
from trg_ros.msg import HeadPose, HeadPoseArray


class ImageError(ValueError):
    """An image message that cannot be turned into an RGB array."""


# encoding -> (channels, dtype, cv2 conversion to RGB or None)
_PLAIN = {
    "rgb8": (3, np.uint8, None),
    "bgr8": (3, np.uint8, cv2.COLOR_BGR2RGB),
    "rgba8": (4, np.uint8, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, np.uint8, cv2.COLOR_BGRA2RGB),
    "mono8": (1, np.uint8, cv2.COLOR_GRAY2RGB),
    "8uc1": (1, np.uint8, cv2.COLOR_GRAY2RGB),
    "8uc3": (3, np.uint8, cv2.COLOR_BGR2RGB),
    "mono16": (1, np.uint16, cv2.COLOR_GRAY2RGB),
    "16uc1": (1, np.uint16, cv2.COLOR_GRAY2RGB),
    "rgb16": (3, np.uint16, None),
    "bgr16": (3, np.uint16, cv2.COLOR_BGR2RGB),
    # Packed 4:2:2. In ROS "yuv422" is UYVY; "yuv422_yuy2" / "yuyv" are YUYV.
    "yuv422": (2, np.uint8, cv2.COLOR_YUV2RGB_UYVY),
    "uyvy": (2, np.uint8, cv2.COLOR_YUV2RGB_UYVY),
    "yuv422_yuy2": (2, np.uint8, cv2.COLOR_YUV2RGB_YUYV),
    "yuyv": (2, np.uint8, cv2.COLOR_YUV2RGB_YUYV),
    # Bayer: OpenCV names the pattern by its second row, hence the apparent swap.
    "bayer_rggb8": (1, np.uint8, cv2.COLOR_BayerBG2RGB),
    "bayer_bggr8": (1, np.uint8, cv2.COLOR_BayerRG2RGB),
    "bayer_gbrg8": (1, np.uint8, cv2.COLOR_BayerGR2RGB),
    "bayer_grbg8": (1, np.uint8, cv2.COLOR_BayerGB2RGB),
    "bayer_rggb16": (1, np.uint16, cv2.COLOR_BayerBG2RGB),
    "bayer_bggr16": (1, np.uint16, cv2.COLOR_BayerRG2RGB),
    "bayer_gbrg16": (1, np.uint16, cv2.COLOR_BayerGR2RGB),
    "bayer_grbg16": (1, np.uint16, cv2.COLOR_BayerGB2RGB),
}
SUPPORTED_ENCODINGS = tuple(sorted(_PLAIN))


def to_8bit(arr: np.ndarray, bit_depth: int = 0) -> np.ndarray:
    """16-bit pixels -> uint8 by their significant bits (10- and 12-bit cameras store values
    below 1024 / 4096 in 16-bit words); ``bit_depth`` 0 takes them from the brightest pixel."""
    bits = bit_depth or max(8, int(arr.max(initial=0)).bit_length())
    shifted = arr >> np.uint16(bits - 8)
    return np.minimum(shifted, 255).astype(np.uint8)


def image_to_rgb(msg: Image, bit_depth: int = 0) -> np.ndarray:
    """sensor_msgs/Image -> (H, W, 3) uint8 RGB; no copy for rgb8 without row padding.

    ``bit_depth``: significant bits of 16-bit encodings (0 = from the data, see :func:`to_8bit`).
    """
    enc = msg.encoding.lower()
    if enc not in _PLAIN:
        raise ImageError(
            f"unsupported encoding {msg.encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}"
        )
    channels, dtype, code = _PLAIN[enc]
    h, w, step = msg.height, msg.width, msg.step
    if h < 1 or w < 1:
        raise ImageError(f"empty image {w}x{h}")
    row = w * channels * np.dtype(dtype).itemsize
    if step < row:
        raise ImageError(f"step {step} is shorter than a {enc} row of width {w} ({row} bytes)")
    if len(msg.data) != step * h:
        raise ImageError(f"data has {len(msg.data)} bytes, expected step x height = {step * h}")
    buf = np.frombuffer(msg.data, np.uint8).reshape(h, step)[:, :row]
    arr = buf.view(np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<"))
    arr = arr.reshape(h, w, channels) if channels > 1 else arr.reshape(h, w)
    if dtype == np.uint16:
        arr = to_8bit(arr.astype(np.uint16), bit_depth)
    if code is not None:
        arr = cv2.cvtColor(np.ascontiguousarray(arr), code)
    return arr


def compressed_to_rgb(msg: CompressedImage) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> (H, W, 3) uint8 RGB."""
    bgr = cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageError(f"cannot decode compressed image (format {msg.format!r})")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def rgb_to_image(rgb: np.ndarray, header: Header) -> Image:
    """(H, W, 3) uint8 RGB -> sensor_msgs/Image rgb8."""
    msg = Image(
        header=header,
        height=rgb.shape[0],
        width=rgb.shape[1],
        encoding="rgb8",
        is_bigendian=0,
        step=rgb.shape[1] * 3,
    )
    msg.data = np.ascontiguousarray(rgb, np.uint8).tobytes()
    return msg


def camera_from_info(msg: CameraInfo, rectified: bool = False) -> CameraModel:
    """CameraInfo -> CameraModel: K and D, or P and no distortion when ``rectified``.

    Raises:
        CameraError: zero/non-finite intrinsics or a distortion model we cannot apply.
    """
    if rectified:
        p = np.asarray(msg.p, dtype=np.float64).reshape(3, 4)
        return CameraModel(p[:, :3], msg.width, msg.height)
    d = np.asarray(msg.d, dtype=np.float64)
    if d.any() and msg.distortion_model not in ("plumb_bob", "rational_polynomial"):
        raise CameraError(
            f"distortion model {msg.distortion_model!r} is not supported "
            "(plumb_bob, rational_polynomial); set rectified:=true on a rectified "
            "image"
        )
    return CameraModel(np.asarray(msg.k, dtype=np.float64), msg.width, msg.height, d)


def _pose(rotation: np.ndarray, origin: np.ndarray) -> Pose:
    x, y, z, w = rotation_to_quaternion(rotation)
    return Pose(
        position=Point(x=float(origin[0]), y=float(origin[1]), z=float(origin[2])),
        orientation=Quaternion(x=x, y=y, z=z, w=w),
    )


def face_pose_msg(head: Head, sellion_vertex: int, smoothed: bool = True) -> Pose:
    """The ``face_<id>`` frame in the camera optical frame."""
    return _pose(*face_pose(head, sellion_vertex, smoothed))


def head_msg(head: Head, header: Header, sellion_vertex: int, with_3d: bool) -> HeadPose:
    """Raw (unsmoothed) per-face message for ``heads``."""
    msg = HeadPose(
        header=header,
        id=head.id,
        score=float(head.score),
        pose=face_pose_msg(head, sellion_vertex, smoothed=False),
    )
    msg.box = [float(v) for v in head.box]
    if with_3d:
        msg.landmarks_3d = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in head.vertices]
    msg.landmarks_2d = head.landmarks_2d.astype(np.float32).ravel().tolist()
    return msg


def heads_msg(
    heads: list[Head], header: Header, sellion_vertex: int, with_3d: bool
) -> HeadPoseArray:
    return HeadPoseArray(
        header=header, heads=[head_msg(h, header, sellion_vertex, with_3d) for h in heads]
    )


def primary_head(heads: list[Head]) -> Head | None:
    """The largest face box; ties go to the higher score."""
    if not heads:
        return None
    return max(heads, key=lambda h: ((h.box[2] - h.box[0]) * (h.box[3] - h.box[1]), h.score))


def pose_stamped(head: Head, header: Header, sellion_vertex: int) -> PoseStamped:
    return PoseStamped(header=header, pose=face_pose_msg(head, sellion_vertex))


def transforms(
    head: Head, header: Header, sellion_vertex: int, prefix: str
) -> list[TransformStamped]:
    """camera -> ``<prefix><id>`` -> ``gaze_<id>`` (REP-155)."""
    rotation, origin = face_pose(head, sellion_vertex)
    face_frame = f"{prefix}{head.id}"
    qx, qy, qz, qw = rotation_to_quaternion(rotation)
    face = TransformStamped(header=header, child_frame_id=face_frame)
    face.transform.translation = Vector3(
        x=float(origin[0]), y=float(origin[1]), z=float(origin[2])
    )
    face.transform.rotation = Quaternion(x=qx, y=qy, z=qz, w=qw)
    gx, gy, gz, gw = rotation_to_quaternion(GAZE_IN_FACE)
    gaze = TransformStamped(child_frame_id=f"gaze_{head.id}")
    gaze.header.stamp, gaze.header.frame_id = header.stamp, face_frame
    gaze.transform.rotation = Quaternion(x=gx, y=gy, z=gz, w=gw)
    return [face, gaze]


MARKER_POINTS, MARKER_MESH, MARKER_AXES, MARKER_TEXT = range(4)
_LIFETIME = Duration(sec=1)


def _marker(header: Header, ns: str, mid: int, kind: int, color: tuple[float, ...]) -> Marker:
    m = Marker(header=header, ns=ns, id=mid, type=kind, action=Marker.ADD, lifetime=_LIFETIME)
    m.pose.orientation.w = 1.0
    m.color = ColorRGBA(r=color[0], g=color[1], b=color[2], a=color[3])
    return m


def markers(
    heads: list[Head],
    lost_ids: list[str],
    header: Header,
    prefix: str,
    sellion_vertex: int,
    triangles: np.ndarray | None,
) -> MarkerArray:
    """Per face (namespace ``<prefix><id>``): landmark points, optional mesh, axes, id text;
    DELETE for every marker of a face that was lost."""
    out = MarkerArray()
    for head in heads:
        ns = f"{prefix}{head.id}"
        pts = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in head.vertices]
        m = _marker(header, ns, MARKER_POINTS, Marker.POINTS, (0.1, 0.9, 0.3, 1.0))
        m.scale = Vector3(x=0.002, y=0.002, z=0.0)
        m.points = pts
        out.markers.append(m)
        if triangles is not None:
            m = _marker(header, ns, MARKER_MESH, Marker.TRIANGLE_LIST, (0.8, 0.7, 0.6, 0.6))
            m.scale = Vector3(x=1.0, y=1.0, z=1.0)
            m.points = [pts[i] for i in triangles.ravel()]
            out.markers.append(m)
        rotation, origin = face_pose(head, sellion_vertex)
        m = _marker(header, ns, MARKER_AXES, Marker.LINE_LIST, (1.0, 1.0, 1.0, 1.0))
        m.scale.x = 0.004
        for axis, rgb in enumerate(((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))):
            tip = origin + 0.08 * rotation[:, axis]
            m.points += [
                Point(x=float(origin[0]), y=float(origin[1]), z=float(origin[2])),
                Point(x=float(tip[0]), y=float(tip[1]), z=float(tip[2])),
            ]
            m.colors += [ColorRGBA(r=rgb[0], g=rgb[1], b=rgb[2], a=1.0)] * 2
        out.markers.append(m)
        m = _marker(header, ns, MARKER_TEXT, Marker.TEXT_VIEW_FACING, (1.0, 1.0, 1.0, 1.0))
        m.pose.position = Point(x=float(origin[0]), y=float(origin[1]) - 0.12, z=float(origin[2]))
        m.scale.z = 0.04
        m.text = head.id
        out.markers.append(m)
    for lost in lost_ids:
        for mid in range(4):
            out.markers.append(
                Marker(header=header, ns=f"{prefix}{lost}", id=mid, action=Marker.DELETE)
            )
    return out
