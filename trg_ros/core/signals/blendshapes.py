"""MediaPipe's blendshape network: 146 FaceMesh points (x, y px) -> 52 ARKit scores.

The landmark subset and the names are MediaPipe's (``face_blendshapes_graph.cc``:
``kLandmarksSubsetIdxs`` and ``kBlendshapeNames``). Scores are learned, in [0, 1], not
calibrated probabilities. "Left"/"Right" are the subject's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trg_ros.core.facemesh.files import BLENDSHAPES
from trg_ros.core.tflite.files import converted_path
from trg_ros.core.tflite.runtime import TFLiteNetwork

# fmt: off
LANDMARK_SUBSET = np.array([
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63,
    65, 66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133,
    136, 144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163,
    168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270,
    276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317,
    318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379,
    380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454,
    466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
])
BLENDSHAPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)
# fmt: on
EYE_BLINK_LEFT, EYE_BLINK_RIGHT, JAW_OPEN = 9, 10, 25


def network_input(face_landmarks: np.ndarray) -> np.ndarray:
    """(478, 3) ``Head.face_landmarks`` (pixel centres on integers) -> (146, 2) float32 in
    MediaPipe's px (normalised x times width: pixel centres on halves)."""
    return (np.asarray(face_landmarks)[LANDMARK_SUBSET, :2] + 0.5).astype(np.float32)


class BlendshapeNet:
    """``face_blendshapes.tflite`` run by :class:`~trg_ros.core.tflite.runtime.TFLiteNetwork`
    on the CPU, beside a CUDA pose model too: about 0.5 ms a face with litert, while its ~180
    small ops would cost as many kernel launches on a GPU. Where litert is missing (or
    ``runtime`` is ``torch``) its PyTorch conversion runs (:mod:`trg_ros.core.tflite.sequence`).

    Args:
        tflite: ``face_blendshapes.tflite`` from the Face Landmarker bundle.
        runtime: ``auto``, ``litert`` or ``torch``.
    """

    def __init__(self, tflite: Path, runtime: str = "auto") -> None:
        self.net = TFLiteNetwork(tflite, converted_path(tflite), "cpu", runtime)

    @classmethod
    def from_dir(cls, data_dir: str | Path, runtime: str = "auto") -> BlendshapeNet:
        return cls(Path(data_dir).expanduser() / BLENDSHAPES, runtime)

    def scores(self, face_landmarks: list[np.ndarray]) -> np.ndarray:
        """(F, 52) scores for F faces' (478, 3) landmarks in raw image px."""
        if not face_landmarks:
            return np.zeros((0, len(BLENDSHAPE_NAMES)), np.float32)
        x = np.stack([network_input(p) for p in face_landmarks])
        out = self.net.run(x)[0]
        return out.reshape(len(face_landmarks), len(BLENDSHAPE_NAMES))
