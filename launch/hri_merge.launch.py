"""One ROS4HRI face list for several cameras: start beside one head_pose.launch.py per camera.

ros2 launch trg_ros head_pose.launch.py namespace:=cam1 image:=/cam1/image_raw ...
ros2 launch trg_ros head_pose.launch.py namespace:=cam2 image:=/cam2/image_raw ...
ros2 launch trg_ros hri_merge.launch.py namespaces:=cam1,cam2

Each camera's node lists its faces on /<ns>/humans/faces/tracked; trg_hri_merge publishes
their union on /humans/faces/tracked, where libhri/pyhri look (the per-face topics
/humans/faces/<id>/... are global already).
"""

from __future__ import annotations

from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "namespaces", description="the cameras' namespaces, comma-separated: cam1,cam2"
            ),
            DeclareLaunchArgument(
                "timeout",
                default_value="2.0",
                description="s after which a silent camera's faces leave the joined list",
            ),
            Node(
                package="trg_ros",
                executable="trg_hri_merge",
                name="trg_hri_merge",
                output="screen",
                parameters=[
                    {
                        "namespaces": LaunchConfiguration("namespaces"),
                        "timeout": LaunchConfiguration("timeout"),
                    }
                ],
            ),
        ]
    )
