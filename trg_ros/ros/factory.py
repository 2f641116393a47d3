"""What the node's parameters build: each estimator's configuration, the detector's, the
pipeline's, and the pipeline itself. The schema they are read from is :mod:`.params`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.detect.blazeface import BlazeFace, BlazeFaceConfig
from trg_ros.core.errors import TRGError
from trg_ros.core.estimators import load_estimator
from trg_ros.core.facemesh.config import FaceMeshConfig
from trg_ros.core.model.config import TRGConfig
from trg_ros.core.pipeline import HeadPosePipeline, PipelineConfig
from trg_ros.core.primary import PrimaryConfig
from trg_ros.core.signals.stage import SignalConfig, SignalStage
from trg_ros.core.smoothing import OneEuroConfig
from trg_ros.core.track import TrackerConfig
from trg_ros.ros.params import NodeParams


def trg_config(p: NodeParams) -> TRGConfig:
    precision = "fp16" if p.half else p.precision
    return TRGConfig(p.device, p.principal_point, precision, runtime=p.runtime)


def facemesh_config(p: NodeParams) -> FaceMeshConfig:
    return FaceMeshConfig(p.device, p.tflite_runtime)


def detector_config(p: NodeParams) -> BlazeFaceConfig:
    return BlazeFaceConfig(p.detection_threshold)


def signal_config(p: NodeParams) -> SignalConfig:
    return SignalConfig(
        p.perclos_window, p.attention_forward, p.attention_threshold_deg, p.gaze_from
    )


def id_prefix_for(setting: str, namespace: str) -> str:
    """The face-id prefix: ``auto`` derives it from the node's namespace (``/a/b`` -> ``a_b_``)."""
    if setting != "auto":
        return setting
    ns = namespace.strip("/").replace("/", "_")
    return f"{ns}_" if ns else ""


def pipeline_config(p: NodeParams, namespace: str = "/") -> PipelineConfig:
    return PipelineConfig(
        max_faces=p.max_faces,
        min_face_size=p.min_face_size,
        detect_every=p.detect_every,
        refine_passes=p.refine_passes,
        smoothing=p.smoothing,
        one_euro=OneEuroConfig(p.smoothing_min_cutoff, p.smoothing_beta, p.smoothing_d_cutoff),
        tracker=TrackerConfig(
            min_hits=p.min_hits, max_age=p.max_age, id_prefix=id_prefix_for(p.id_prefix, namespace)
        ),
        primary=PrimaryConfig(p.primary_switch_ratio, p.primary_switch_frames),
        signals=signal_config(p),
    )


def _detector_inputs(p: NodeParams) -> tuple:
    return detector_config(p), p.tflite_runtime, p.data_dir


# What the pipeline is built from with each estimator (build_pipeline's inputs but the
# pipeline's own settings, which every model shares).
MODEL_INPUTS = {
    "trg": lambda p: (trg_config(p), p.weights, p.checkpoint, *_detector_inputs(p)),
    "facemesh": lambda p: (facemesh_config(p), *_detector_inputs(p)),
}


def unused_parameters(model: str, p: NodeParams) -> list[str]:
    """Parameters set away from their defaults that only another estimator reads: setting
    one back changes another model's inputs, not ``model``'s (derived from the builders, so
    a parameter added to one of them is covered)."""
    own = MODEL_INPUTS[model]
    others = [inputs for name, inputs in MODEL_INPUTS.items() if name != model]
    unused = []
    for name, default in NodeParams().defaults().items():
        if getattr(p, name) == default:
            continue
        try:
            reset = replace(p, **{name: default})
        except ValueError:  # the default contradicts another setting (half with precision)
            continue
        if own(p) == own(reset) and any(inputs(p) != inputs(reset) for inputs in others):
            unused.append(name)
    return sorted(unused)


@dataclass(frozen=True)
class Built:
    """A configured pipeline and what the node reports about it.

    Attributes:
        pipeline: detector, estimator and tracker.
        summary: a log line saying which estimator runs, where, why, and how faces are found.
        unused: parameters given that the chosen estimator does not read.
        signals_error: why the signals stage asked for (``face_signals``) could not be
            built (the node warns and reports it in its diagnostics); None when it was, or
            when none was asked for.
    """

    pipeline: HeadPosePipeline
    summary: str
    unused: list[str]
    signals_error: str | None = None


def build_pipeline(p: NodeParams, namespace: str, ids: Iterator[int] | None = None) -> Built:
    """The configured pipeline: the estimator ``model`` picks, the detector, the tracker
    (numbering new faces from ``ids``, so ids stay unique over reconfigures).

    Raises:
        TRGError, ValueError: missing or broken model files, bad device (the message says).
    """
    files = ModelFiles.in_dir(p.data_dir, p.weights, p.checkpoint)
    estimator, why = load_estimator(
        p.model, files, trg_config(p), facemesh_config(p), weights_given=bool(p.weights)
    )
    detector = BlazeFace(
        files.detector, detector_config(p), estimator.device, runtime=p.tflite_runtime
    )
    summary = (
        f"head pose by {estimator.name} on {estimator.device} ({why}); "
        f"faces by BlazeFace ({detector.net.runtime})"
    )
    signals, signals_error = None, None
    if p.face_signals:
        try:
            signals = SignalStage.from_dir(files.data_dir, facemesh_config(p), signal_config(p))
            summary += "; face signals on"
        except (TRGError, OSError) as e:
            signals_error = str(e)
            summary += "; no face signals"
    pipeline = HeadPosePipeline(estimator, detector, pipeline_config(p, namespace), ids, signals)
    return Built(pipeline, summary, unused_parameters(estimator.name, p), signals_error)
