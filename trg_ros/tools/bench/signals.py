"""``trg-ros bench --signals``: what the driver-monitoring signals cost per face on the CPU.

Measured on one real face, in one run beside their baseline, the FaceMesh estimator's own
per-face time: the signals on top of FaceMesh's landmarks (metric mesh, blendshape network,
eyes, gaze, per-track state), and with TRG the extra FaceMesh landmarker on the same face.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.detect.blazeface import BlazeFace
from trg_ros.core.estimate import FaceQuery
from trg_ros.core.facemesh.config import FaceMeshConfig
from trg_ros.core.facemesh.estimator import FaceMeshEstimator
from trg_ros.core.signals.stage import SignalStage
from trg_ros.tools.bench.measure import measure, print_table, summary
from trg_ros.tools.sources import sample_image

# Goals: the signals within 1 ms per face on top of FaceMesh's landmarks; with TRG the extra
# landmarker no dearer than the FaceMesh estimator's own per-face time (ratio <= 1).
SIGNALS_MS_GOAL = 1.0
TRG_EXTRA_RATIO_GOAL = 1.0


def signals(files: ModelFiles, repeats: int, device: str = "cpu") -> dict[str, Any]:
    """p50 ms per face of the estimator, the signals on its landmarks, and the TRG path's
    extra landmarker (plus its signals)."""
    image = sample_image()
    h, w = image.shape[:2]
    camera = CameraModel(np.array([[600.0, 0, w / 2], [0, 600, h / 2], [0, 0, 1]]), w, h)
    found = BlazeFace(files.detector).detect(image)[0]
    config = FaceMeshConfig(device)
    estimator = FaceMeshEstimator.from_dir(files.data_dir, config)
    query = [FaceQuery(found.box, found.score, True, found.keypoints)]
    runs = max(repeats * 5, 100)

    def p50(fn: Any) -> float:
        return summary(measure(fn, runs), 1)["p50_ms"]

    head = dataclasses.replace(estimator.estimate(image, query, camera)[0].head, id="a")
    bare = dataclasses.replace(head, face_landmarks=None)  # as TRG gives it
    stage = SignalStage.from_dir(files.data_dir, config)
    stamps = itertools.count()
    out = {
        "estimator_ms": p50(lambda: estimator.estimate(image, query, camera)),
        "signals_ms": p50(lambda: stage.process(image, [head], camera, next(stamps) / 30)),
        "landmarker_ms": p50(lambda: stage.add_landmarks(image, [bare])),
        "trg_extra_ms": p50(lambda: stage.process(image, [bare], camera, next(stamps) / 30)),
        "blendshapes_ms": (
            p50(lambda: stage.blendshapes.scores([head.face_landmarks]))
            if stage.blendshapes is not None
            else float("nan")
        ),
        "blendshapes_runtime": stage.blendshapes.net.runtime if stage.blendshapes else "none",
    }
    out["trg_extra_ratio"] = out["trg_extra_ms"] / out["estimator_ms"]
    print_table(
        "Driver-monitoring signals, one face, p50 ms (CPU)",
        ["FaceMesh estimator", "signals on its landmarks", "of which blendshapes",
         "TRG: landmarker", "TRG: landmarker + signals", "TRG extra / estimator"],
        [[f"{out['estimator_ms']:.2f}", f"{out['signals_ms']:.2f}",
          f"{out['blendshapes_ms']:.2f} ({out['blendshapes_runtime']})",
          f"{out['landmarker_ms']:.2f}", f"{out['trg_extra_ms']:.2f}",
          f"{out['trg_extra_ratio']:.2f}"]],
    )  # fmt: skip
    return out
