"""An RViz configuration made for one launch of the node: its real topics in its namespace,
the camera image it reads and the fixed frame the user names.

A launch file cannot know a driver's frame names before it starts, so the fixed frame is a
launch argument; everything else follows from the node's topic names, resolved the way ROS
resolves them.
"""

from __future__ import annotations

from typing import Any

import yaml

SENSOR = {
    "Reliability Policy": "Best Effort",
    "Durability Policy": "Volatile",
    "History Policy": "Keep Last",
    "Depth": 5,
}
RELIABLE = {**SENSOR, "Reliability Policy": "Reliable", "Depth": 10}


NODE_NAME = "trg_head_pose"  # the node's name (ros.node uses this one)


def resolve(name: str, namespace: str) -> str:
    """A topic name as the node ``trg_head_pose`` in ``namespace`` resolves it: rcl's own
    expansion (``~``, ``{node}``, ``{ns}``), so RViz shows what the node uses; an invalid name
    raises ValueError with rcl's reason."""
    from rclpy.expand_topic_name import expand_topic_name

    return expand_topic_name(name, NODE_NAME, "/" + namespace.strip("/"))


def displays(topics: dict[str, str]) -> list[dict[str, Any]]:
    """The display list for the resolved ``image``, ``head_markers`` and ``head_pose``."""
    return [
        {
            "Class": "rviz_default_plugins/Grid",
            "Name": "Grid",
            "Enabled": True,
            "Reference Frame": "<Fixed Frame>",
            "Plane": "XZ",
            "Cell Size": 0.1,
            "Plane Cell Count": 20,
        },
        {
            "Class": "rviz_default_plugins/Image",
            "Name": "Camera image",
            "Enabled": True,
            "Topic": {"Value": topics["image"], **SENSOR},
        },
        {
            "Class": "rviz_default_plugins/MarkerArray",
            "Name": "Faces: dense points, axes, ids",
            "Enabled": True,
            "Topic": {"Value": topics["head_markers"], **RELIABLE},
        },
        {
            "Class": "rviz_default_plugins/TF",
            "Name": "Face and gaze frames",
            "Enabled": True,
            "Show Names": True,
            "Show Axes": True,
            "Marker Scale": 0.3,
        },
        {
            "Class": "rviz_default_plugins/Pose",
            "Name": "Primary head pose",
            "Enabled": True,
            "Shape": "Axes",
            "Axes Length": 0.1,
            "Axes Radius": 0.01,
            "Topic": {"Value": topics["head_pose"], **RELIABLE},
        },
    ]


def rviz_config(namespace: str, image: str, fixed_frame: str) -> str:
    """The RViz 2 configuration (YAML text) for the node in ``namespace`` reading ``image``.

    Args:
        namespace: the node's namespace (empty: the root).
        image: the image topic the node subscribes to, as given to the launch (relative
            names resolve in ``namespace``).
        fixed_frame: RViz's fixed frame: the camera's optical frame (the images' frame_id),
            or any frame connected to it by TF.
    """
    topics = {
        "image": resolve(image, namespace),
        "head_markers": resolve("head_markers", namespace),
        "head_pose": resolve("head_pose", namespace),
    }
    config = {
        "Panels": [{"Class": "rviz_common/Displays", "Name": "Displays"}],
        "Visualization Manager": {
            "Class": "",
            "Displays": displays(topics),
            "Global Options": {
                "Fixed Frame": fixed_frame,
                "Background Color": "48; 48; 48",
                "Frame Rate": 30,
            },
            "Tools": [{"Class": "rviz_default_plugins/MoveCamera"}],
            "Views": {
                "Current": {
                    "Class": "rviz_default_plugins/Orbit",
                    "Distance": 1.5,
                    "Focal Point": {"X": 0, "Y": 0, "Z": 0.8},
                    "Pitch": -1.4,
                    "Yaw": 4.71,
                }
            },
        },
        "Window Geometry": {"Height": 900, "Width": 1400},
    }
    return yaml.safe_dump(config, sort_keys=False)


def topics_of(config_text: str) -> dict[str, str]:
    """Display name -> topic of an RViz configuration (for checks and tests)."""
    config = yaml.safe_load(config_text)
    return {
        d["Name"]: d["Topic"]["Value"]
        for d in config["Visualization Manager"]["Displays"]
        if "Topic" in d
    }
