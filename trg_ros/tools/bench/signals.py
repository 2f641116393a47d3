"""``trg-ros bench --signals``: what the driver-monitoring signals cost per face on the CPU.

Measured on one real face, in one run beside their baseline, the FaceMesh estimator's own
per-face time: the signals on top of FaceMesh's landmarks (metric mesh, blendshape network,
eyes, gaze, per-track state), and with TRG the extra FaceMesh landmarker on the same face.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from typing import Any

import numpy as np

from trg_ros.core.camera import CameraModel
from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.detect.blazeface import BlazeFace
from trg_ros.core.estimate import FaceQuery
from trg_ros.core.facemesh.config import FaceMeshConfig
from trg_ros.core.facemesh.estimator import FaceMeshEstimator
from trg_ros.core.signals.stage import SignalStage
from trg_ros.tools.bench.measure import print_table
from trg_ros.tools.sources import sample_image

# Goals: the signals within 1 ms per face on top of FaceMesh's landmarks; with TRG the extra
# landmarker no dearer than the FaceMesh estimator's own per-face time (ratio <= 1).
SIGNALS_MS_GOAL = 1.0
TRG_EXTRA_RATIO_GOAL = 1.0


def signals(files: ModelFiles, repeats: int, device: str = "cpu") -> dict[str, Any]:
    """p50 ms per face of the estimator, the signals on its landmarks, and the TRG path's
    extra landmarker (alone: the goal's ratio; and with its signals)."""
    image = sample_image()
    h, w = image.shape[:2]
    camera = CameraModel(np.array([[600.0, 0, w / 2], [0, 600, h / 2], [0, 0, 1]]), w, h)
    found = BlazeFace(files.detector).detect(image)[0]
    config = FaceMeshConfig(device)
    estimator = FaceMeshEstimator.from_dir(files.data_dir, config)
    query = [FaceQuery(found.box, found.score, True, found.keypoints)]
    runs = max(repeats * 5, 100)
    head = dataclasses.replace(estimator.estimate(image, query, camera)[0].head, id="a")
    bare = dataclasses.replace(head, face_landmarks=None)  # as TRG gives it
    stage = SignalStage.from_dir(files.data_dir, config)
    stamps = itertools.count()
    calls = {
        "estimator_ms": lambda: estimator.estimate(image, query, camera),
        "signals_ms": lambda: stage.process(image, [head], camera, next(stamps) / 30),
        "landmarker_ms": lambda: stage.add_landmarks(image, [bare]),
        "trg_extra_ms": lambda: stage.process(image, [bare], camera, next(stamps) / 30),
    }
    if stage.blendshapes is not None:
        net = stage.blendshapes
        calls["blendshapes_ms"] = lambda: net.scores([head.face_landmarks])
    # Round-robin, so that the load of a shared machine weighs on every figure alike.
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(2):
        for fn in calls.values():
            fn()
    for _ in range(runs):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    out: dict[str, Any] = {name: float(np.median(t) * 1e3) for name, t in times.items()}
    out.setdefault("blendshapes_ms", float("nan"))
    out["blendshapes_runtime"] = net.net.runtime if stage.blendshapes is not None else "none"
    out["trg_extra_ratio"] = out["landmarker_ms"] / out["estimator_ms"]
    print_table(
        "Driver-monitoring signals, one face, p50 ms (CPU)",
        ["FaceMesh estimator", "signals on its landmarks", "of which blendshapes",
         "TRG: landmarker", "TRG: landmarker + signals", "landmarker / estimator"],
        [[f"{out['estimator_ms']:.2f}", f"{out['signals_ms']:.2f}",
          f"{out['blendshapes_ms']:.2f} ({out['blendshapes_runtime']})",
          f"{out['landmarker_ms']:.2f}", f"{out['trg_extra_ms']:.2f}",
          f"{out['trg_extra_ratio']:.2f}"]],
    )  # fmt: skip
    return out
