"""Launch trg_head_pose (lifecycle: configured and activated here) and, optionally, RViz.

ros2 launch trg_ros head_pose.launch.py image:=/camera/image_raw camera_info:=/camera/camera_info
"""

from __future__ import annotations

import lifecycle_msgs.msg
from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, EmitEvent, RegisterEventHandler
from launch.conditions import IfCondition
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("trg_ros")
    args = [
        DeclareLaunchArgument(
            "image", default_value="/camera/image_raw", description="sensor_msgs/Image topic"
        ),
        DeclareLaunchArgument(
            "camera_info",
            default_value="/camera/camera_info",
            description="sensor_msgs/CameraInfo topic",
        ),
        DeclareLaunchArgument(
            "weights", default_value="", description="TRG state_dict.bin (empty: the asset cache)"
        ),
        DeclareLaunchArgument("device", default_value="auto", description="auto|cpu|cuda|cuda:N"),
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([share, "config", "head_pose.yaml"]),
            description="parameters YAML",
        ),
        DeclareLaunchArgument("rviz", default_value="false", description="open RViz"),
    ]
    node = LifecycleNode(
        package="trg_ros",
        executable="trg_head_pose",
        name="trg_head_pose",
        namespace="",
        output="screen",
        parameters=[
            LaunchConfiguration("params_file"),
            {"weights": LaunchConfiguration("weights"), "device": LaunchConfiguration("device")},
        ],
        remappings=[
            ("image", LaunchConfiguration("image")),
            ("camera_info", LaunchConfiguration("camera_info")),
        ],
        # trg-ros node brings itself up by default; here launch drives the transitions.
        arguments=["--no-autostart"],
    )
    configure = EmitEvent(
        event=ChangeState(
            lifecycle_node_matcher=matches_action(node),
            transition_id=lifecycle_msgs.msg.Transition.TRANSITION_CONFIGURE,
        )
    )
    activate = RegisterEventHandler(
        OnStateTransition(
            target_lifecycle_node=node,
            goal_state="inactive",
            entities=[
                EmitEvent(
                    event=ChangeState(
                        lifecycle_node_matcher=matches_action(node),
                        transition_id=lifecycle_msgs.msg.Transition.TRANSITION_ACTIVATE,
                    )
                )
            ],
        )
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        name="rviz2",
        arguments=["-d", PathJoinSubstitution([share, "config", "head_pose.rviz"])],
        condition=IfCondition(LaunchConfiguration("rviz")),
    )
    return LaunchDescription([*args, node, activate, configure, rviz])
