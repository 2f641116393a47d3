"""Pure conversions of the node's outputs: heads -> poses, TF transforms, markers.

Dense points never become one Python object each: ``heads`` carries them as a flat float32
array, and the markers are serialised by :mod:`trg_ros.ros.cdr` with their point lists
written straight from numpy.
"""

from __future__ import annotations

import array

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point, Pose, PoseStamped, Quaternion, TransformStamped, Vector3
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from trg_ros.core.frames import GAZE_IN_FACE, face_pose, rotation_to_quaternion
from trg_ros.core.types import Head
from trg_ros.msg import HeadPose, HeadPoseArray
from trg_ros.ros import cdr

MARKER_POINTS, MARKER_MESH, MARKER_AXES, MARKER_TEXT, MARKER_GAZE = range(5)
GAZE_ARROW_LENGTH = 0.25  # m
_LIFETIME = Duration(sec=1)
AXIS_LENGTH = 0.08  # m
_AXIS_COLOURS = [ColorRGBA(r=r, g=g, b=b, a=1.0) for r, g, b in np.repeat(np.eye(3), 2, axis=0)]


def float32s(values: np.ndarray) -> array.array:
    """A flat ``array('f')``: what rclpy stores for a float32[] field, filled in one copy."""
    out = array.array("f")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float32).tobytes())
    return out


def _pose(rotation: np.ndarray, origin: np.ndarray) -> Pose:
    x, y, z, w = rotation_to_quaternion(rotation)
    return Pose(
        position=Point(x=float(origin[0]), y=float(origin[1]), z=float(origin[2])),
        orientation=Quaternion(x=x, y=y, z=z, w=w),
    )


def face_pose_msg(head: Head, smoothed: bool = True) -> Pose:
    """The ``face_<id>`` frame in the camera optical frame."""
    return _pose(*face_pose(head, smoothed))


def head_msg(head: Head, header: Header, with_3d: bool) -> HeadPose:
    """Raw (unsmoothed) per-face message for ``heads``."""
    msg = HeadPose(
        header=header,
        id=head.id,
        model=head.model,
        score=float(head.score),
        pose=face_pose_msg(head, smoothed=False),
    )
    msg.box = np.asarray(head.box, dtype=np.float32)
    if with_3d:
        msg.dense_points = float32s(head.vertices)
    msg.landmarks_2d = float32s(head.landmarks_2d)
    return msg


def heads_msg(heads: list[Head], header: Header, with_3d: bool) -> HeadPoseArray:
    return HeadPoseArray(header=header, heads=[head_msg(h, header, with_3d) for h in heads])


def pose_stamped(head: Head, header: Header) -> PoseStamped:
    return PoseStamped(header=header, pose=face_pose_msg(head))


def transforms(
    head: Head, header: Header, prefix: str, gaze: np.ndarray | None = None
) -> list[TransformStamped]:
    """camera -> ``<prefix><id>`` -> ``gaze_<id>`` (REP-155); ``gaze``: (3, 3) the gaze
    frame -> camera rotation where the eyes give it, else the gaze frame follows the head."""
    rotation, origin = face_pose(head)
    face_frame = f"{prefix}{head.id}"
    qx, qy, qz, qw = rotation_to_quaternion(rotation)
    face = TransformStamped(header=header, child_frame_id=face_frame)
    face.transform.translation = Vector3(
        x=float(origin[0]), y=float(origin[1]), z=float(origin[2])
    )
    face.transform.rotation = Quaternion(x=qx, y=qy, z=qz, w=qw)
    in_face = GAZE_IN_FACE if gaze is None else rotation.T @ gaze
    gx, gy, gz, gw = rotation_to_quaternion(in_face)
    gaze = TransformStamped(child_frame_id=f"gaze_{head.id}")
    gaze.header.stamp, gaze.header.frame_id = header.stamp, face_frame
    gaze.transform.rotation = Quaternion(x=gx, y=gy, z=gz, w=gw)
    return [face, gaze]


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
    triangles: np.ndarray | None,
    gaze: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[MarkerArray, cdr.Points]:
    """Per face (namespace ``<prefix><id>``): dense points, optional mesh (``triangles`` of
    ``Head.vertices``), axes, id text, and a gaze arrow where ``gaze`` has the face's (origin,
    unit direction), a DELETE of that arrow where it has none (``gaze`` None: no signals run,
    no arrows); DELETE for every marker of a face that was lost.

    Returns:
        The markers with their point lists left empty, and those points as arrays for
        :func:`trg_ros.ros.cdr.serialize` (see :func:`markers_cdr`).
    """
    out = MarkerArray()
    points: cdr.Points = {}
    for head in heads:
        ns = f"{prefix}{head.id}"
        m = _marker(header, ns, MARKER_POINTS, Marker.POINTS, (0.1, 0.9, 0.3, 1.0))
        m.scale = Vector3(x=0.002, y=0.002, z=0.0)
        points[(id(m), "points")] = head.vertices
        out.markers.append(m)
        if triangles is not None and len(triangles):
            m = _marker(header, ns, MARKER_MESH, Marker.TRIANGLE_LIST, (0.8, 0.7, 0.6, 0.6))
            m.scale = Vector3(x=1.0, y=1.0, z=1.0)
            points[(id(m), "points")] = head.vertices[triangles.ravel()]
            out.markers.append(m)
        rotation, origin = face_pose(head)
        m = _marker(header, ns, MARKER_AXES, Marker.LINE_LIST, (1.0, 1.0, 1.0, 1.0))
        m.scale.x = 0.004
        tips = origin + AXIS_LENGTH * rotation.T  # one row per axis: x, y, z
        points[(id(m), "points")] = np.stack([np.tile(origin, (3, 1)), tips], 1).reshape(6, 3)
        m.colors = _AXIS_COLOURS
        out.markers.append(m)
        m = _marker(header, ns, MARKER_TEXT, Marker.TEXT_VIEW_FACING, (1.0, 1.0, 1.0, 1.0))
        m.pose.position = Point(x=float(origin[0]), y=float(origin[1]) - 0.12, z=float(origin[2]))
        m.scale.z = 0.04
        m.text = head.id
        out.markers.append(m)
        if gaze is not None and head.id in gaze:
            start, direction = gaze[head.id]
            m = _marker(header, ns, MARKER_GAZE, Marker.ARROW, (1.0, 0.8, 0.1, 1.0))
            m.scale = Vector3(x=0.006, y=0.012, z=0.02)  # shaft, head diameters; head length
            points[(id(m), "points")] = np.stack([start, start + GAZE_ARROW_LENGTH * direction])
            out.markers.append(m)
        elif gaze is not None:  # the eyes gave no gaze this frame: no stale arrow stays up
            out.markers.append(Marker(header=header, ns=ns, id=MARKER_GAZE, action=Marker.DELETE))
    for lost in lost_ids:
        for mid in range(MARKER_GAZE + 1):
            out.markers.append(
                Marker(header=header, ns=f"{prefix}{lost}", id=mid, action=Marker.DELETE)
            )
    return out, points


def markers_cdr(
    heads: list[Head],
    lost_ids: list[str],
    header: Header,
    prefix: str,
    triangles: np.ndarray | None,
    gaze: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> bytes:
    """:func:`markers`, serialised for ``publisher.publish(bytes)``."""
    return cdr.serialize(*markers(heads, lost_ids, header, prefix, triangles, gaze))
