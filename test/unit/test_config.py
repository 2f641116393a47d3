"""config/head_pose.yaml, the parameter dataclass and the launch file agree."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from trg_ros.ros.params import NodeParams

REPO = Path(__file__).resolve().parents[2]


def test_yaml_matches_dataclass_defaults() -> None:
    data = yaml.safe_load((REPO / "config/head_pose.yaml").read_text())
    params = data["/**"]["ros__parameters"]
    defaults = dataclasses.asdict(NodeParams())  # YAML has lists where the dataclass tuples
    assert params == {k: list(v) if isinstance(v, tuple) else v for k, v in defaults.items()}


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("max_faces", 0, "max_faces"),
        ("principal_point", "centre", "allowed"),
        ("tflite_runtime", "onnxruntime", "allowed"),
        ("device", "tpu", "device"),
        ("face_frame_prefix", "1_", "letter"),
        ("id_prefix", "1cam_", "letter"),
        ("id_prefix", "cam-1", "only letters, digits and '_'"),
        ("id_prefix", "cam 1", "only letters, digits and '_'"),
        ("id_prefix", "cam/1", "only letters, digits and '_'"),
        ("detection_threshold", 1.5, "outside"),
        ("gaze_from", "nose", "allowed"),
        ("attention_forward", [0.0, 0.0, 0.0], "attention_forward"),
        ("attention_forward", [1.0, 0.0], "attention_forward"),
        ("attention_frame", "/base_link", "no leading '/'"),
        ("perclos_window", 0.1, "outside"),
    ],
)
def test_bad_values_are_rejected_with_the_key(key: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        NodeParams(**{key: value})


def test_id_prefixes_that_make_valid_topic_names_are_accepted() -> None:
    from rclpy.validate_full_topic_name import validate_full_topic_name

    for prefix in ("", "auto", "cam1_", "Robot_Left_"):
        NodeParams(id_prefix=prefix)
        validate_full_topic_name(f"/humans/faces/{prefix}a/roi")


def test_every_parameter_is_documented() -> None:
    for name, meta in NodeParams.field_docs().items():
        assert len(meta["doc"]) > 10, name


def test_facemesh_config_names_a_bad_runtime() -> None:
    from trg_ros.core.facemesh.config import FaceMeshConfig

    with pytest.raises(ValueError, match="tflite_runtime must be one of"):
        FaceMeshConfig("cpu", "onnxruntime")


@pytest.mark.parametrize(
    ("model", "changed", "unused"),
    [
        ("facemesh", {"precision": "bf16", "runtime": "torch"}, ["precision", "runtime"]),
        ("facemesh", {"half": True, "weights": "/w.bin"}, ["half", "weights"]),
        ("facemesh", {"max_faces": 2, "device": "cpu", "tflite_runtime": "torch"}, []),
        ("trg", {"precision": "bf16", "max_faces": 2, "tflite_runtime": "torch"}, []),
    ],
)
def test_unused_parameters_are_those_only_the_other_model_reads(
    model: str, changed: dict, unused: list[str]
) -> None:
    from trg_ros.ros.factory import unused_parameters

    assert unused_parameters(model, NodeParams(**changed)) == unused
