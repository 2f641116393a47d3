"""The node's parameters: one frozen dataclass is the single source of truth.

Each field carries its description and allowed range; the node declares its ROS parameters
from it, validates every change against it and rejects bad values with a reason.
``config/head_pose.yaml`` repeats the defaults (a test keeps the two in step). What the
parameters build (the estimators' and the pipeline's configurations) is :mod:`.factory`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from rclpy.parameter import Parameter

from trg_ros.core.errors import TRGError
from trg_ros.core.estimate import MODELS
from trg_ros.core.model.config import PRECISIONS, PRINCIPAL_POINT_MODES, TRG_RUNTIMES
from trg_ros.core.model.files import CHECKPOINTS
from trg_ros.core.signals.stage import GAZE_FROM
from trg_ros.core.tflite.runtime import TFLITE_RUNTIMES

ID_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # a topic name token
DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


class ParameterError(TRGError, ValueError):
    """A parameter given at start-up is invalid; the message names it, its value and what is
    allowed."""


def _p(
    default: Any,
    doc: str,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[str, ...] = (),
    live: bool = True,
) -> Any:
    meta = {"doc": doc, "lo": lo, "hi": hi, "choices": choices, "live": live}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class NodeParams:
    """Parameters of ``trg_head_pose``; ``live`` ones may change while the node runs."""

    model: str = _p(
        "auto",
        "head-pose estimator: auto (trg when its checkpoint is there, else facemesh), trg, or "
        "facemesh (MediaPipe's FaceMesh posed with the camera intrinsics; no download by hand)",
        choices=MODELS,
        live=False,
    )
    weights: str = _p(
        "", "TRG state_dict.bin; empty = the asset cache ($TRG_ROS_HOME)", live=False
    )
    checkpoint: str = _p(
        "trg-star",
        "official checkpoint used when weights is empty: trg-star (ARKitFace+300W-LP) or trg "
        "(ARKitFace only)",
        choices=tuple(CHECKPOINTS),
        live=False,
    )
    data_dir: str = _p(
        "", "folder with the TRG data files and detector; empty = asset cache", live=False
    )
    device: str = _p("auto", "auto, cpu, cuda or cuda:N", live=False)
    half: bool = _p(False, "fp16 inference on CUDA", live=False)
    precision: str = _p(
        "fp32",
        "fp32, bf16 (CPU with AVX-512 BF16/AMX) or fp16 (CUDA)",
        choices=PRECISIONS,
        live=False,
    )
    runtime: str = _p(
        "auto",
        "how TRG runs: auto (on the CPU in fp32, the faster of onnxruntime and PyTorch, "
        "measured once and kept in $TRG_ROS_HOME/trg_runtime; else PyTorch), torch or "
        "onnxruntime",
        choices=TRG_RUNTIMES,
        live=False,
    )
    tflite_runtime: str = _p(
        "auto",
        "how BlazeFace and FaceMesh run: auto (ai-edge-litert with XNNPACK on the CPU; their "
        "PyTorch conversion on CUDA or where litert is missing), litert or torch",
        choices=TFLITE_RUNTIMES,
        live=False,
    )
    principal_point: str = _p(
        "camera",
        "camera: use CameraInfo's (cx, cy); image_centre: the official (W/2, H/2) assumption",
        choices=PRINCIPAL_POINT_MODES,
        live=False,
    )
    max_faces: int = _p(8, "most faces per frame, largest first", 1, 64)
    min_face_size: float = _p(24.0, "ignore faces smaller than this (px)", 0.0, 4096.0)
    detection_threshold: float = _p(0.6, "face detector score threshold", 0.05, 0.99)
    detect_every: int = _p(1, "run the detector every N frames (TRG tracks in between)", 1, 30)
    refine_passes: int = _p(1, "2 = re-crop from TRG's landmarks and run TRG again", 1, 2)
    min_hits: int = _p(1, "detections before a face is reported", 1, 30)
    max_age: int = _p(5, "frames a face survives without detection", 0, 300)
    smoothing: bool = _p(True, "One-Euro filter the published pose (heads stay raw)")
    smoothing_min_cutoff: float = _p(1.0, "One-Euro cutoff at rest (Hz)", 0.01, 100.0)
    smoothing_beta: float = _p(0.5, "One-Euro speed coefficient", 0.0, 100.0)
    smoothing_d_cutoff: float = _p(1.0, "One-Euro derivative cutoff (Hz)", 0.01, 100.0)
    external_detections: bool = _p(
        False,
        "take face boxes from the detections topic "
        "(vision_msgs/Detection2DArray, same stamps as the images) "
        "instead of the built-in detector",
        live=False,
    )
    rectified: bool = _p(False, "image is rectified: use CameraInfo P, ignore D")
    compressed: bool = _p(False, "subscribe to image/compressed instead of image", live=False)
    every_frame: bool = _p(
        False,
        "process every received frame, in order (an offline source - a bag or video player "
        "that waits for answers - with reliable input QoS); false: only the newest, a live "
        "camera's frames that arrive while one is processed are dropped and counted",
        live=False,
    )
    camera_info_timeout: float = _p(
        2.0, "seconds to wait for CameraInfo before reporting it", 0.1, 600.0
    )
    allow_guessed_intrinsics: bool = _p(
        False, "after the timeout, guess f = w + h (translation is then only relative)"
    )
    publish_tf: bool = _p(True, "broadcast face_<id> and gaze_<id> on /tf")
    publish_markers: bool = _p(True, "publish head_markers for RViz")
    publish_dense_points: bool = _p(
        True, "fill dense_points in heads (TRG 1220 points, FaceMesh 468)"
    )
    marker_mesh: bool = _p(False, "add the face mesh (TRIANGLE_LIST) to the markers")
    face_frame_prefix: str = _p("face_", "TF frame and marker namespace prefix")
    id_prefix: str = _p(
        "auto",
        "prefix of every face id (and so of face_<id>/gaze_<id>); auto = the node's namespace "
        "('cam1_' in /cam1, nothing at the root), so two cameras never share a TF frame",
        live=False,
    )
    image_bit_depth: int = _p(
        0,
        "significant bits of 16-bit images (mono16, rgb16, bayer_*16), e.g. 10 or 12; "
        "0 = the deepest seen in the stream so far (from the brightest pixels)",
        0,
        16,
    )
    # Camera conventions and the primary face (README "Camera conventions", core.primary).
    frame_id: str = _p(
        "",
        "the camera's optical frame, for drivers that leave the image's frame_id empty or "
        "wrong; set, it replaces the frame_id of images and CameraInfo (the latest CameraInfo "
        "on camera_info is used whatever its frame_id) and is every output's header frame "
        "and the parent of face_<id> on /tf; empty = the image's own",
    )
    primary_switch_ratio: float = _p(
        1.2,
        "head_pose: another face takes over from the primary one only at this many times "
        "its box area (for primary_switch_frames frames in a row)",
        1.0,
        10.0,
    )
    primary_switch_frames: int = _p(
        5,
        "head_pose: frames in a row a larger face must stay primary_switch_ratio times the "
        "primary's area to take over (the primary's track ending hands over at once)",
        1,
        300,
    )
    # ROS4HRI (REP-155) face topics (README "ROS4HRI", ros/hri.py).
    ros4hri: bool = _p(
        True,
        "publish the ROS4HRI face topics: humans/faces/tracked and per face /humans/faces/"
        "<id>/roi, landmarks, cropped and aligned (needs hri_msgs)",
        live=False,
    )
    ros4hri_face_width: int = _p(
        128, "width of the cropped and aligned face images (ROS4HRI /humans/faces/width)", 16, 1024
    )
    ros4hri_face_height: int = _p(
        128,
        "height of the cropped and aligned face images (ROS4HRI /humans/faces/height)",
        16,
        1024,
    )

    # Driver-monitoring signals (README "Driver-monitoring signals", core/signals).
    face_signals: bool = _p(
        True,
        "publish face_signals (eyes, blinks, PERCLOS, gaze, yawns, attention); with TRG this "
        "runs the FaceMesh landmarker on the same faces too",
        live=False,
    )
    gaze_from: str = _p(
        "head",
        "what attention and the gaze_<id> frame follow: head (the face's forward axis) or eyes "
        "(the eyes' gaze where the iris is found, else the head)",
        choices=GAZE_FROM,
    )
    attention_forward: tuple = _p(
        (0.0, 0.0, -1.0),
        "the attentive direction as a vector in the camera optical frame (default: parallel to "
        "the optical axis, towards the camera); attention is the angle from it",
    )
    attention_frame: str = _p(
        "",
        "a TF frame whose +x axis (REP-103 forward) is the attentive direction, e.g. base_link "
        "in a vehicle; its latest transform to the image's frame is used (needs tf2_ros); "
        "empty: attention_forward",
        live=False,
    )
    attention_threshold_deg: float = _p(
        30.0, "away when the attention angle exceeds this (deg)", 1.0, 180.0
    )
    perclos_window: float = _p(60.0, "PERCLOS window (s)", 1.0, 3600.0)
    publish_blendshapes: bool = _p(True, "fill the 52 blendshape scores in face_signals")

    def __post_init__(self) -> None:
        # ROS hands a double array over as a list or array: keep it as a (hashable) tuple
        if isinstance(self.attention_forward, list | tuple) or hasattr(
            self.attention_forward, "typecode"
        ):
            forward = tuple(float(v) for v in self.attention_forward)
            object.__setattr__(self, "attention_forward", forward)
        for f in dataclasses.fields(self):
            value, meta = getattr(self, f.name), f.metadata
            _check_type(f.name, value, f.default)
            if meta["lo"] is not None and not meta["lo"] <= value <= meta["hi"]:
                raise ValueError(f"{f.name}={value!r} is outside [{meta['lo']}, {meta['hi']}]")
            if meta["choices"] and value not in meta["choices"]:
                raise ValueError(f"{f.name}={value!r}: allowed values are {meta['choices']}")
        if not self.face_frame_prefix or not self.face_frame_prefix[0].isalpha():
            raise ValueError(
                f"face_frame_prefix={self.face_frame_prefix!r} must start with a letter"
            )
        if not DEVICE.fullmatch(self.device):
            raise ValueError(
                f"device={self.device!r}: use auto, cpu, cuda or cuda:N (N a device index, "
                "e.g. cuda:0)"
            )
        if self.half and self.precision not in ("fp32", "fp16"):
            raise ValueError(
                f"half=true asks for fp16 but precision={self.precision!r}: set precision "
                "alone (half is its fp16 shorthand)"
            )
        if 0 < self.image_bit_depth < 8:
            raise ValueError(f"image_bit_depth={self.image_bit_depth}: use 0 (auto) or 8..16")
        if self.id_prefix not in ("", "auto") and not ID_PREFIX.fullmatch(self.id_prefix):
            raise ValueError(
                f"id_prefix={self.id_prefix!r} must start with a letter and hold only letters, "
                "digits and '_' (ids name the ROS4HRI topics /humans/faces/<id>/...), e.g. cam1_"
            )
        if len(self.attention_forward) != 3 or not any(self.attention_forward):
            raise ValueError(
                f"attention_forward={list(self.attention_forward)}: give a non-zero vector "
                "x, y, z in the camera optical frame"
            )
        for name in ("frame_id", "attention_frame"):
            frame = getattr(self, name)
            if frame.startswith("/") or any(c.isspace() for c in frame):
                raise ValueError(
                    f"{name}={frame!r}: a tf2 frame id has no leading '/' and no spaces"
                )

    @classmethod
    def field_docs(cls) -> dict[str, dict[str, Any]]:
        return {f.name: dict(f.metadata) for f in dataclasses.fields(cls)}

    def defaults(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# What each Python type is called where ROS users meet it (``ros2 param describe``).
_KINDS = {
    bool: "a bool",
    int: "an integer",
    float: "a double",
    str: "a string",
    tuple: "a double array",
}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), f"a {type(value).__name__}")


def _check_type(name: str, value: Any, default: Any) -> None:
    """Reject a value of the wrong type with the parameter's name (ints pass for floats)."""
    want = type(default)
    ok = isinstance(value, want) and (want is bool or not isinstance(value, bool))
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if want is tuple:  # a double array: ROS gives a list or an array.array
        ok = isinstance(value, list | tuple) or hasattr(value, "typecode")
    if not ok:
        expected = _KINDS[want]
        raise ValueError(f"{name}={value!r}: wrong type, expected {expected}, got {_kind(value)}")


def as_double(param: Parameter) -> Parameter:
    """A whole number given for a double parameter, as the double it means: params files and
    ``ros2 param set`` write ``30`` where the parameter is ``30.0``; anything else unchanged."""
    fields = NodeParams.field_docs()
    if param.name in fields and isinstance(getattr(NodeParams(), param.name), float):
        return whole_as_double(param)
    return param


def whole_as_double(param: Parameter) -> Parameter:
    """``param`` as a double when it is an integer (the caller knows it is a double one)."""
    if param.type_ == Parameter.Type.INTEGER:
        return Parameter(param.name, Parameter.Type.DOUBLE, float(param.value))
    return param


def descriptor(meta: dict[str, Any], default: Any) -> ParameterDescriptor:
    """Description and range from the NodeParams field, so rclpy rejects out-of-range values."""
    desc = ParameterDescriptor(description=meta["doc"])
    if meta["choices"]:
        desc.additional_constraints = "one of: " + ", ".join(meta["choices"])
    if not meta["live"]:
        desc.additional_constraints += (
            " (not live: takes effect at the next configure; compressed and "
            "external_detections at the next activate)"
        )
    if meta["lo"] is not None and isinstance(default, int) and not isinstance(default, bool):
        desc.integer_range = [
            IntegerRange(from_value=int(meta["lo"]), to_value=int(meta["hi"]), step=1)
        ]
    elif meta["lo"] is not None:
        desc.floating_point_range = [
            FloatingPointRange(from_value=float(meta["lo"]), to_value=float(meta["hi"]), step=0.0)
        ]
    return desc


def allowed(meta: dict[str, Any]) -> str:
    """What a parameter accepts, for error messages."""
    if meta["choices"]:
        return "one of " + ", ".join(meta["choices"])
    if meta["lo"] is not None:
        return f"a value in [{meta['lo']:g}, {meta['hi']:g}]"
    return ""


# Parameters of earlier versions, honoured under their new name (with a warning) for a while.
RENAMED = {"publish_landmarks_3d": "publish_dense_points"}


def overrides_of(node: Node) -> dict[str, Parameter]:
    """The parameters given to the node at start-up (params files, ``-p``): rclpy keeps them
    in ``_parameter_overrides``, for which it has no public accessor."""
    overrides = getattr(node, "_parameter_overrides", None)
    if not isinstance(overrides, dict):
        raise RuntimeError(
            "this rclpy keeps no _parameter_overrides: the node cannot check the parameters "
            "it is given; please report the rclpy version"
        )
    return overrides


def start_up_warnings(node: Node) -> list[str]:
    """Old names are moved to their new ones (unless those are given too) and every given
    parameter the node does not have is named: a typo would otherwise be ignored silently.
    Call after :func:`declare_all`."""
    overrides = overrides_of(node)
    out = []
    for name in sorted(overrides):
        if node.has_parameter(name) or name.startswith("qos_overrides."):
            continue
        if name in RENAMED:
            out.append(
                f"parameter {name!r} is now called {RENAMED[name]!r}: its value is used "
                "for that; rename it where you set it"
            )
        else:
            out.append(f"parameter {name!r} is given but {node.get_name()} does not have it")
    return out


def declare_all(node: Node) -> NodeParams:
    """Declare every parameter with its descriptor and return the validated values.

    Raises:
        ValueError: one line naming the parameter, the value given and what is allowed.
    """
    defaults = NodeParams()
    overrides = overrides_of(node)
    for old, new in RENAMED.items():
        if old in overrides and new not in overrides:
            overrides[new] = Parameter(new, overrides[old].type_, overrides[old].value)
    for name, meta in NodeParams.field_docs().items():
        default = getattr(defaults, name)
        given = overrides.get(name)
        if given is not None:
            given = overrides[name] = as_double(given)
            try:
                _check_type(name, given.value, default)
            except ValueError as e:
                raise ValueError(f"invalid parameter {e}") from None
        try:
            node.declare_parameter(name, default, descriptor(meta, default))
        except ParameterException as e:
            value = given.value if given is not None else "?"
            want = allowed(meta) or _KINDS[type(default)]
            raise ValueError(f"invalid parameter {name}={value!r}: expected {want}") from e
    values = {n: node.get_parameter(n).value for n in NodeParams.field_docs()}
    try:
        return NodeParams(**values)
    except ValueError as e:
        raise ValueError(f"invalid parameter {e}") from e
