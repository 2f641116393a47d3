"""A fixed mount in its own process, as ``ros2 run tf2_ros static_transform_publisher`` would
publish it (that one is C++, absent here): one transform on /tf_static, kept until SIGINT.

Usage: static_tf.py PARENT CHILD QX QY QZ QW
"""

from __future__ import annotations

import sys

import rclpy
from geometry_msgs.msg import TransformStamped
from rclpy.executors import ExternalShutdownException
from tf2_ros import StaticTransformBroadcaster


def main() -> None:
    parent, child, *q = sys.argv[1:7]
    rclpy.init()
    node = rclpy.create_node("static_tf")
    t = TransformStamped()
    t.header.stamp = node.get_clock().now().to_msg()
    t.header.frame_id, t.child_frame_id = parent, child
    r = t.transform.rotation
    r.x, r.y, r.z, r.w = (float(v) for v in q)
    broadcaster = StaticTransformBroadcaster(node)
    broadcaster.sendTransform(t)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
