"""A camera stand-in in its own process: publishes Image + CameraInfo at a fixed rate.

Usage: publisher.py IMAGE.npy FX RATE_HZ SECONDS [FRAME_ID] [--jitter PX] [--compressed]
                    [--ros-args ...]

IMAGE.npy holds one (H, W, 3) image or a clip (N, H, W, 3) played in a loop. FX is a focal
length in px, or a file holding one (re-read every frame, so a test can change
the intrinsics while the camera runs). ``--jitter PX`` shifts every other frame by PX pixels,
so that raw and smoothed poses differ.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import rclpy
from rclpy.qos import qos_profile_sensor_data
from rclpy.utilities import remove_ros_args
from rosmsgs import camera_info
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from trg_ros.ros.convert import rgb_to_image


def focal(spec: str) -> float:
    path = Path(spec)
    return float(path.read_text()) if path.is_file() else float(spec)


def jpeg(rgb: np.ndarray, header: Header) -> CompressedImage:
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95]
    )
    assert ok
    return CompressedImage(header=header, format="jpeg", data=data.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("image", "fx", "rate", "seconds"):
        parser.add_argument(name)
    parser.add_argument("frame_id", nargs="?", default="camera_optical_frame")
    parser.add_argument("--jitter", type=int, default=0)
    parser.add_argument("--compressed", action="store_true", help="JPEG on image/compressed")
    args = parser.parse_args(remove_ros_args()[1:])
    loaded = np.load(args.image)
    frames = list(loaded) if loaded.ndim == 4 else [loaded]
    if args.jitter:
        frames.append(np.roll(frames[0], args.jitter, axis=1))
    rate, seconds = float(args.rate), float(args.seconds)
    rclpy.init()
    node = rclpy.create_node("fake_camera")
    if args.compressed:
        pub_img = node.create_publisher(
            CompressedImage, "image/compressed", qos_profile_sensor_data
        )
    else:
        pub_img = node.create_publisher(Image, "image", qos_profile_sensor_data)
    pub_info = node.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
    h, w = frames[0].shape[:2]
    end = time.monotonic() + seconds
    i = 0
    try:
        while time.monotonic() < end and rclpy.ok():
            header = Header(stamp=node.get_clock().now().to_msg(), frame_id=args.frame_id)
            pub_info.publish(camera_info(w, h, focal(args.fx), header))
            rgb = frames[i % len(frames)]
            pub_img.publish(jpeg(rgb, header) if args.compressed else rgb_to_image(rgb, header))
            i += 1
            time.sleep(1.0 / rate)
    except KeyboardInterrupt:
        pass  # stopped by the test (SIGINT)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
