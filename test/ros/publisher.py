"""A camera stand-in in its own process: publishes Image + CameraInfo at a fixed rate.

Usage: publisher.py IMAGE.npy FX RATE_HZ SECONDS [FRAME_ID]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import rclpy
from rclpy.qos import qos_profile_sensor_data
from rosmsgs import camera_info
from std_msgs.msg import Header

from trg_ros.ros.convert import rgb_to_image


def main() -> None:
    image = np.load(sys.argv[1])
    fx, rate, seconds = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    frame_id = sys.argv[5] if len(sys.argv) > 5 else "camera_optical_frame"
    rclpy.init()
    node = rclpy.create_node("fake_camera")
    pub_img = node.create_publisher(
        type(rgb_to_image(image[:1, :1], Header())), "image", qos_profile_sensor_data
    )
    pub_info = node.create_publisher(
        type(camera_info(1, 1, 1.0)), "camera_info", qos_profile_sensor_data
    )
    h, w = image.shape[:2]
    info = camera_info(w, h, fx)
    end = time.monotonic() + seconds
    while time.monotonic() < end and rclpy.ok():
        header = Header(stamp=node.get_clock().now().to_msg(), frame_id=frame_id)
        info.header = header
        pub_info.publish(info)
        pub_img.publish(rgb_to_image(image, header))
        time.sleep(1.0 / rate)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
