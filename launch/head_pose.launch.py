"""Launch trg_head_pose (a lifecycle node: configured and activated once here) and RViz.

ros2 launch trg_ros head_pose.launch.py image:=/camera/image_raw camera_info:=/camera/camera_info

After start-up every transition is the user's: ``ros2 lifecycle set /trg_head_pose deactivate``
sticks. Two cameras: one launch each, with ``namespace:=cam1`` / ``namespace:=cam2``; face ids
(and so the face_<id> / gaze_<id> TF frames) then start with the namespace, each node's
ROS4HRI list goes to <namespace>/humans/faces/tracked, and ``hri_merge.launch.py
namespaces:=cam1,cam2`` joins them on /humans/faces/tracked. Relative topic
names (the defaults) resolve in the namespace. Each launch writes an RViz configuration for
its own topics to ``$ROS_HOME/trg_ros/`` (``rviz:=true`` opens it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lifecycle_msgs.msg
from ament_index_python.packages import get_package_share_directory
from launch.actions import (
    DeclareLaunchArgument,
    EmitEvent,
    LogInfo,
    OpaqueFunction,
    RegisterEventHandler,
    Shutdown,
)
from launch.event_handlers import OnProcessExit
from launch.events import matches_action
from launch.launch_context import LaunchContext
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState

from launch import LaunchDescription

ARGUMENTS = {  # name: (default, description)
    "image": (
        "image_raw",
        "sensor_msgs/Image topic, relative names resolve in the namespace "
        "(compressed: <image>/compressed)",
    ),
    "camera_info": ("camera_info", "sensor_msgs/CameraInfo topic (relative: in the namespace)"),
    "namespace": ("", "namespace of the node and its output topics, e.g. cam1"),
    "model": ("", "auto|trg|facemesh (empty: params_file, else auto)"),
    "weights": ("", "TRG state_dict.bin (empty: params_file, else the asset cache)"),
    "device": ("", "auto|cpu|cuda|cuda:N (empty: params_file, else auto)"),
    "compressed": ("false", "subscribe to <image>/compressed (sensor_msgs/CompressedImage)"),
    "ros4hri": (
        "",
        "true|false: the ROS4HRI face topics (humans/faces/...; empty: params_file, else true)",
    ),
    "external_detections": ("false", "take face boxes from the detections topic"),
    "detections": ("detections", "vision_msgs/Detection2DArray topic for external_detections"),
    "use_sim_time": ("false", "use /clock (bag replay, simulation)"),
    "log_level": ("info", "debug|info|warn|error|fatal"),
    "rviz": ("false", "open RViz with a configuration made for this launch's topics"),
    "fixed_frame": (
        "camera_color_optical_frame",
        "RViz's fixed frame: your camera's optical frame (the images' frame_id, e.g. "
        "camera_color_optical_frame for RealSense/Orbbec drivers) or a frame TF connects to it",
    ),
}
BOOL_PARAMETERS = ("compressed", "external_detections", "use_sim_time")


def _truthy(value: str) -> bool:
    if value.lower() not in ("true", "false", "1", "0"):
        raise ValueError(f"expected true or false, got {value!r}")
    return value.lower() in ("true", "1")


def _activate_after_first_configure(context: LaunchContext) -> list[Any]:
    """Activate only when the configure this file started succeeded; later transitions
    (a user's deactivate, cleanup, configure) are left alone."""
    event = context.locals.event
    if event.goal_state != "inactive":
        return []
    return [
        EmitEvent(
            event=ChangeState(
                lifecycle_node_matcher=matches_action(event.action),
                transition_id=lifecycle_msgs.msg.Transition.TRANSITION_ACTIVATE,
            )
        )
    ]


def _node(context: LaunchContext) -> list[Any]:
    arg = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    overrides: dict[str, Any] = {name: _truthy(arg[name]) for name in BOOL_PARAMETERS}
    overrides |= {name: arg[name] for name in ("model", "weights", "device") if arg[name]}
    if arg["ros4hri"]:
        overrides["ros4hri"] = _truthy(arg["ros4hri"])
    image = arg["image"]
    node = LifecycleNode(
        package="trg_ros",
        executable="trg_head_pose",
        name="trg_head_pose",
        namespace=arg["namespace"],
        output="screen",
        parameters=[LaunchConfiguration("params_file"), overrides],
        remappings=[
            ("image", image),
            ("image/compressed", f"{image.rstrip('/')}/compressed"),
            ("camera_info", arg["camera_info"]),
            ("detections", arg["detections"]),
        ],
        ros_arguments=["--log-level", arg["log_level"]],
        # trg-ros node brings itself up by default; here launch drives the transitions.
        arguments=["--no-autostart"],
    )
    activate = RegisterEventHandler(
        OnStateTransition(
            target_lifecycle_node=node,
            start_state="configuring",
            entities=[OpaqueFunction(function=_activate_after_first_configure)],
            handle_once=True,
        )
    )
    # Without the node (e.g. it refused a bad parameter) there is nothing left to run; a
    # second shutdown during Ctrl-C would make launch fail, hence the check.
    stop = RegisterEventHandler(
        OnProcessExit(
            target_action=node,
            on_exit=lambda event, context: (
                [] if context.is_shutdown else [Shutdown(reason="trg_head_pose exited")]
            ),
        )
    )
    configure = EmitEvent(
        event=ChangeState(
            lifecycle_node_matcher=matches_action(node),
            transition_id=lifecycle_msgs.msg.Transition.TRANSITION_CONFIGURE,
        )
    )
    return [node, activate, stop, configure, *_rviz(arg)]


def _rviz(arg: dict[str, str]) -> list[Any]:
    """Write the RViz configuration of this launch's topics; start RViz on it if asked."""
    from trg_ros.ros.rviz import rviz_config

    ns = arg["namespace"].strip("/")
    home = Path(os.environ.get("ROS_HOME", Path.home() / ".ros")) / "trg_ros"
    path = home / f"head_pose{'_' + ns.replace('/', '_') if ns else ''}.rviz"
    try:
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(rviz_config(ns, arg["image"], arg["fixed_frame"]))
    except OSError as e:  # a read-only home must not stop the node
        asked = " and RViz not started" if _truthy(arg["rviz"]) else ""
        why = f"no RViz configuration written{asked} ({e}): set ROS_HOME to a writable folder"
        return [LogInfo(msg=why)]
    actions: list[Any] = [LogInfo(msg=f"RViz configuration for this launch: {path}")]
    if _truthy(arg["rviz"]):
        actions.append(
            Node(
                package="rviz2",
                executable="rviz2",
                name=f"rviz_{ns.replace('/', '_')}" if ns else "rviz",
                arguments=["-d", str(path)],
                parameters=[{"use_sim_time": _truthy(arg["use_sim_time"])}],
            )
        )
    return actions


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("trg_ros")
    args = [
        DeclareLaunchArgument(name, default_value=default, description=doc)
        for name, (default, doc) in ARGUMENTS.items()
    ]
    args.append(
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([share, "config", "head_pose.yaml"]),
            description="parameters YAML (keyed by /**: so it applies in any namespace)",
        )
    )
    return LaunchDescription([*args, OpaqueFunction(function=_node)])
