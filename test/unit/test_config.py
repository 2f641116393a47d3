"""config/head_pose.yaml, the parameter dataclass and the launch file agree."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest
import yaml

from trg_ros.ros.params import NodeParams

REPO = Path(__file__).resolve().parents[2]


def test_yaml_matches_dataclass_defaults() -> None:
    data = yaml.safe_load((REPO / "config/head_pose.yaml").read_text())
    params = data["/**"]["ros__parameters"]
    assert params == dataclasses.asdict(NodeParams())


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("max_faces", 0, "max_faces"),
        ("principal_point", "centre", "allowed"),
        ("device", "tpu", "device"),
        ("face_frame_prefix", "1_", "letter"),
        ("detection_threshold", 1.5, "outside"),
    ],
)
def test_bad_values_are_rejected_with_the_key(key: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        NodeParams(**{key: value})


def test_every_parameter_is_documented() -> None:
    for name, meta in NodeParams.field_docs().items():
        assert len(meta["doc"]) > 10, name


def test_launch_file_describes_the_lifecycle_node() -> None:
    pytest.importorskip("launch_ros", reason="launch_ros is not installed (no ROS 2 install)")
    spec = importlib.util.spec_from_file_location(
        "launch_file", REPO / "launch/head_pose.launch.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from launch_ros.actions import LifecycleNode

    desc = module.generate_launch_description()
    nodes = [e for e in desc.entities if isinstance(e, LifecycleNode)]
    assert len(nodes) == 1
    names = {a.name for a in desc.get_launch_arguments()}
    assert {"image", "camera_info", "weights", "device", "params_file", "rviz"} <= names
