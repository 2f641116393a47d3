"""What publishing costs per face: every message of one frame built and serialised, ours
against markers made of one geometry_msgs/Point per vertex (the usual way)."""

from __future__ import annotations

from trg_ros.tools.bench.measure import measure, summary


def messages_ms(heads: list, repeats: int) -> dict[str, float]:
    """Everything published for one frame (heads, pose, TF, markers), built and serialised:
    ours against markers made of one geometry_msgs/Point per vertex (the usual way)."""
    from geometry_msgs.msg import Point
    from rclpy.serialization import serialize_message
    from std_msgs.msg import Header
    from tf2_msgs.msg import TFMessage

    from trg_ros.ros import messages

    header = Header(frame_id="cam")

    def common() -> None:
        serialize_message(messages.heads_msg(heads, header, True))
        serialize_message(messages.pose_stamped(heads[0], header))
        tfs = [t for h in heads for t in messages.transforms(h, header, "face_")]
        serialize_message(TFMessage(transforms=tfs))

    def ours() -> None:
        common()
        messages.markers_cdr(heads, [], header, "face_", None)

    def per_point() -> None:
        common()
        markers, points = messages.markers(heads, [], header, "face_", None)
        for m in markers.markers:
            pts = points.get((id(m), "points"))
            if pts is not None:
                m.points = [Point(x=x, y=y, z=z) for x, y, z in pts.tolist()]
        serialize_message(markers)

    n = len(heads)
    return {
        "ours_ms_per_face": summary(measure(ours, repeats), 1)["p50_ms"] / n,
        "point_objects_ms_per_face": summary(measure(per_point, repeats), 1)["p50_ms"] / n,
    }
