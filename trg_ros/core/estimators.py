"""Which estimator runs: TRG when its checkpoint is there, the bundled FaceMesh otherwise.

TRG is imported only when it runs: it brings PyTorch, which the FaceMesh path on the CPU never
loads (about a second of start-up).
"""

from __future__ import annotations

from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.estimate import MODELS, Estimator
from trg_ros.core.facemesh.config import FaceMeshConfig
from trg_ros.core.facemesh.estimator import FaceMeshEstimator
from trg_ros.core.model.config import TRGConfig


def load_estimator(
    model: str,
    files: ModelFiles,
    trg: TRGConfig,
    facemesh: FaceMeshConfig,
    weights_given: bool = False,
) -> tuple[Estimator, str]:
    """Load the estimator ``model`` asks for and say why it is that one.

    Args:
        model: ``auto`` (TRG when ``files.weights`` exists, else FaceMesh), ``trg`` or
            ``facemesh``.
        files: the asset folder and TRG checkpoint.
        trg: TRG's settings, used when TRG runs.
        facemesh: FaceMesh's settings, used when FaceMesh runs.
        weights_given: the user named a checkpoint: ``auto`` then means TRG, so a mistyped
            path fails loudly instead of quietly running FaceMesh.

    Returns:
        The estimator and a sentence for the log (which one, and why).

    Raises:
        ValueError: unknown model name or device.
        TRGError: missing or broken files (the message says how to get them).
    """
    if model not in MODELS:
        raise ValueError(f"model={model!r}: allowed values are {MODELS}")
    if model == "auto":
        if weights_given:
            model, why = "trg", f"auto: weights {files.weights} given"
        elif files.weights.is_file():
            model, why = "trg", f"auto: TRG checkpoint found at {files.weights}"
        else:
            model = "facemesh"
            why = (
                f"auto: no TRG checkpoint at {files.weights} (`trg-ros assets fetch --only "
                "weights` gets it), so the bundled FaceMesh estimator runs"
            )
    else:
        why = f"model={model} asked for"
    if model == "trg":
        from trg_ros.core.model.estimator import TRGEstimator

        return TRGEstimator.from_files(files, trg), why
    return FaceMeshEstimator.from_dir(files.data_dir, facemesh), why
