"""The ROS4HRI face data (trg_ros.core.hri), ROS-free: ROI, the 70 landmarks in the order of
hri_msgs/FacialLandmarks, the cropped and the aligned face images."""

from __future__ import annotations

import math
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from trg_ros.core import hri
from trg_ros.core.facemesh.ibug68 import FACEMESH_TO_IBUG68
from trg_ros.core.types import Head

REPO = Path(__file__).resolve().parents[2]
MSG = REPO / "ros_deps" / "hri_msgs" / "msg" / "FacialLandmarks.msg"


def constants() -> dict[str, int]:
    """The uint8 constants of the vendored FacialLandmarks.msg, read as text (no ROS here)."""
    found = re.findall(r"^uint8 ([A-Z_0-9]+)=(\d+)", MSG.read_text(), re.M)
    return {name: int(value) for name, value in found}


def head(landmarks: np.ndarray, box=(100, 80, 300, 320), dense=None, score=0.9) -> Head:
    return Head(
        id="a", score=score, box=np.asarray(box, float), rotation=np.eye(3),
        translation=np.array([0, 0, 1.0]), vertices=np.zeros((468, 3)),
        landmarks_2d=np.asarray(landmarks, float), sellion=np.zeros(3), model="facemesh",
        face_landmarks=dense,
    )  # fmt: skip


def canonical_image_points(canonical_face) -> np.ndarray:
    """(468, 2) the canonical face seen frontally: image u = its x (subject's left is the
    image's right), v = -y (image y is down)."""
    v = canonical_face.vertices
    return np.stack([v[:, 0], -v[:, 1]], axis=1)


def test_message_has_70_landmarks_and_constants_cover_0_to_69() -> None:
    c = constants()
    assert sorted(c.values()) == list(range(70))
    assert re.search(r"NormalizedPointOfInterest2D\[70\] landmarks", MSG.read_text())


def test_named_constants_are_ibug_indices_of_the_named_points(canonical_face) -> None:
    """The message numbers some runs backwards; with identity indices our iBUG points land
    on the named ones: checked on the canonical face through our 468 -> 68 mapping."""
    c = constants()
    anchors = {  # message constant -> FaceMesh vertex with that meaning
        "RIGHT_EYE_OUTSIDE": 33, "RIGHT_EYE_INSIDE": 133, "LEFT_EYE_INSIDE": 362,
        "LEFT_EYE_OUTSIDE": 263, "MENTON": 152, "SELLION": 168, "NOSE": 4,
        "MOUTH_OUTER_RIGHT": 61, "MOUTH_OUTER_LEFT": 291, "MOUTH_INNER_RIGHT": 78,
        "MOUTH_INNER_LEFT": 308, "RIGHT_EAR": 127, "LEFT_EAR": 356,
    }  # fmt: skip
    for name, vertex in anchors.items():
        assert FACEMESH_TO_IBUG68[c[name]] == vertex, name
    p = canonical_image_points(canonical_face)[FACEMESH_TO_IBUG68]
    for side, sign in (("RIGHT", -1), ("LEFT", 1)):  # subject's right is the image's left
        out, ins = p[c[f"{side}_EYE_OUTSIDE"]], p[c[f"{side}_EYE_INSIDE"]]
        assert sign * (out[0] - ins[0]) > 0, side
        for part in ("TOP", "BOTTOM"):  # _1 next to the outer corner, _2 to the inner one
            one, two = p[c[f"{side}_EYE_{part}_1"]], p[c[f"{side}_EYE_{part}_2"]]
            assert np.linalg.norm(one - out) < np.linalg.norm(two - out), (side, part)
            above = part == "TOP"
            assert (one[1] < out[1]) == above and (two[1] < out[1]) == above, (side, part)
        brow_out, brow_in = p[c[f"{side}_EYEBROW_OUTSIDE"]], p[c[f"{side}_EYEBROW_INSIDE"]]
        assert sign * (brow_out[0] - brow_in[0]) > 0, side
        ear, profile7 = p[c[f"{side}_EAR"]], p[c[f"{side}_PROFILE_7"]]
        assert ear[1] < profile7[1] < p[c["MENTON"]][1] + 1e-9, side  # ear high, 7 near chin
    assert p[c["MOUTH_OUTER_TOP_3"]][1] < p[c["MOUTH_OUTER_BOTTOM_3"]][1]
    assert p[c["MOUTH_OUTER_BOTTOM_1"]][0] < p[c["MOUTH_OUTER_BOTTOM_5"]][0]  # 59 right side


def test_trg_points_in_the_message_are_laid_out_as_ibug(model_dir) -> None:
    """TRG's 68 landmarks (the mesh vertices ``kpt_ind.npy`` names) are iBUG-68 in iBUG's
    order: checked on the template face every TRG checkpoint carries (``init_face``, the mesh
    the network deforms), seen frontally and put through the message's conversion."""
    import torch

    template = torch.load(model_dir / "state_dict.bin", map_location="cpu")
    face = template["regressor.0.init_face"].numpy().reshape(-1, 3)  # TRG head frame, m
    lmk3d = face[np.load(model_dir / "kpt_ind.npy")] + [0.0, 0.0, 0.6]  # 0.6 m ahead
    px = 600.0 * lmk3d[:, :2] / lmk3d[:, 2:] + [320.0, 240.0]  # facing the camera
    x, y = hri.landmarks70(head(px), 640, 480)[:68, :2].T
    c = constants()
    assert x[0] < x[8] < x[16], "jaw from the subject's right (image left) to the left ear"
    for right, left in ((36, 45), (39, 42), (31, 35), (48, 54), (17, 26)):
        assert x[right] < x[left], (right, left)  # subject's right on the image's left
    eyes = y[36:48].mean()
    assert y[19] < eyes < y[30] < y[51] < y[57] < y[8], "brows, eyes, nose, lips, chin"
    assert c["RIGHT_EYE_OUTSIDE"] == 36 and c["LEFT_EYE_OUTSIDE"] == 45 and c["MENTON"] == 8


def test_landmarks70_normalised_with_pupils_from_the_irises() -> None:
    rng = np.random.default_rng(0)
    lmk = rng.uniform([100, 80], [300, 320], (68, 2))
    dense = rng.uniform(50, 400, (478, 3))
    out = hri.landmarks70(head(lmk, dense=dense), 640, 480)
    assert out.shape == (70, 3)
    np.testing.assert_allclose(out[:68, :2], (lmk + 0.5) / [640, 480])
    np.testing.assert_allclose(out[68, :2], (dense[468, :2] + 0.5) / [640, 480])
    np.testing.assert_allclose(out[69, :2], (dense[473, :2] + 0.5) / [640, 480])
    assert (out[:, 2] == 1.0).all()


def test_landmarks70_without_irises_and_outside_the_image() -> None:
    lmk = np.full((68, 2), 200.0)
    lmk[0] = (-20.0, 100.0)  # left of the image
    lmk[16] = (700.0, 500.0)  # beyond the bottom-right corner
    lmk[17] = (-0.5, 479.5)  # the image's bottom-left corner itself: inside
    out = hri.landmarks70(head(lmk), 640, 480)
    assert (out[68:, 2] == 0).all(), "no iris points: pupils have confidence 0"
    assert out[0, 2] == 0 and out[16, 2] == 0 and (out[1:16, 2] == 1).all()
    assert (out[:, :2] >= 0).all() and (out[:, :2] <= 1).all()
    np.testing.assert_allclose(out[0, :2], [0.0, 100.5 / 480])
    np.testing.assert_allclose(out[16, :2], [1.0, 1.0])
    np.testing.assert_allclose(out[17], [0.0, 1.0, 1.0])


def test_normalized_roi_divides_by_the_image_size_and_clips() -> None:
    np.testing.assert_allclose(
        hri.normalized_roi(np.array([64, 48, 320, 240.0]), 640, 480), [0.1, 0.1, 0.5, 0.5]
    )
    np.testing.assert_allclose(
        hri.normalized_roi(np.array([-10, 10, 700, 480.0]), 640, 480), [0, 10 / 480, 1, 1]
    )


def test_crop_is_the_box_resized() -> None:
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), (9, 9), 3)
    box = np.array([100.2, 50.7, 356.1, 306.4])
    out = hri.crop_face(image, box, (128, 128))
    assert out.shape == (128, 128, 3) and out.dtype == np.uint8
    want = cv2.resize(image[51:306, 100:356], (128, 128), interpolation=cv2.INTER_AREA)
    assert np.abs(out.astype(int) - want).mean() < 1.0
    assert hri.crop_face(image, np.array([700, 0, 800, 100.0]), (64, 32)).shape == (32, 64, 3)


def test_crop_and_roi_agree_for_a_face_at_the_border() -> None:
    """A box that leaves the image: the cropped image is the region the ROI names (edges
    times the image size), no black padding, so a consumer mapping the crop back through the
    ROI lands on the same pixels."""
    rng = np.random.default_rng(2)
    image = cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), (9, 9), 3)
    box = np.array([-64.0, 400.0, 64.0, 528.0])  # off the left and bottom borders
    roi = hri.normalized_roi(box, 640, 480)
    np.testing.assert_allclose(roi, [0.0, 400 / 480, 0.1, 1.0])
    x0, y0, x1, y1 = (roi * [640, 480, 640, 480]).round().astype(int)
    want = cv2.resize(image[y0:y1, x0:x1], (128, 128), interpolation=cv2.INTER_LINEAR)
    out = hri.crop_face(image, box, (128, 128))
    assert out.min() > 0, "no black padding"
    assert np.abs(out.astype(int) - want).mean() < 1.0


def test_landmarks_and_roi_share_one_origin() -> None:
    """A landmark at the centre of the box's corner pixel is half a pixel inside the ROI."""
    lmk = np.full((68, 2), 100.0)
    out = hri.landmarks70(head(lmk, box=np.array([100.0, 100.0, 200.0, 200.0])), 400, 400)
    roi = hri.normalized_roi(np.array([100.0, 100.0, 200.0, 200.0]), 400, 400)
    np.testing.assert_allclose(out[0, :2] - roi[:2], [0.5 / 400, 0.5 / 400])


@pytest.mark.parametrize("degrees", [-25.0, 0.0, 17.0])
def test_aligned_face_has_level_eyes(degrees: float) -> None:
    """Eyes on a line tilted by ``degrees``: the aligned image maps both eye centres to one
    row, symmetric about the centre, and a marker drawn at each eye lands there."""
    a = math.radians(degrees)
    centre = np.array([320.0, 240.0])
    lmk = np.tile(centre, (68, 1))
    offset = 50 * np.array([math.cos(a), math.sin(a)])  # subject's right eye on image left
    lmk[hri.RIGHT_EYE] = centre - offset
    lmk[hri.LEFT_EYE] = centre + offset
    assert hri.roll(lmk) == pytest.approx(a)
    box = np.array([220.5, 140.5, 420.5, 340.5])  # edges: centred on the eyes' midpoint
    m = hri.alignment(box, hri.roll(lmk), (128, 128))
    right = m @ np.append(centre - offset, 1)
    left = m @ np.append(centre + offset, 1)
    assert right[1] == pytest.approx(left[1], abs=1e-9)
    assert right[0] < left[0]
    np.testing.assert_allclose((right + left) / 2, [63.5, 63.5], atol=1e-9)  # the middle
    image = np.zeros((480, 640), np.uint8)
    for eye in (centre - offset, centre + offset):
        centre16 = (round(float(eye[0]) * 16), round(float(eye[1]) * 16))  # 1/16 px
        cv2.circle(image, centre16, 6 * 16, 255, -1, lineType=cv2.LINE_AA, shift=4)
    out = hri.align_face(image, head(lmk, box=box), (128, 128))
    ys, xs = np.nonzero(out > 128)
    halves = [ys[xs < 64].mean(), ys[xs >= 64].mean()]
    assert abs(halves[0] - halves[1]) < 0.5 and abs(halves[0] - 63.5) < 0.5


def test_tracked_lists_join_cameras_without_flicker() -> None:
    lists = hri.TrackedLists(timeout=1.0)
    assert lists.update("cam1", ["cam1_a"], 0.0) == ["cam1_a"]
    assert lists.update("cam2", ["cam2_b", "cam2_a"], 0.1) == ["cam1_a", "cam2_a", "cam2_b"]
    # each camera's newer list replaces its own only
    assert lists.update("cam1", [], 0.2) == ["cam2_a", "cam2_b"]
    assert lists.update("cam1", ["cam1_c"], 0.3) == ["cam1_c", "cam2_a", "cam2_b"]
    # cam2 falls silent: its faces go after the timeout, and expire says so once
    assert not lists.expire(1.0)
    assert lists.expire(1.2) and lists.ids() == ["cam1_c"]
    assert not lists.expire(1.25)
    with pytest.raises(ValueError, match="timeout"):
        hri.TrackedLists(timeout=0)
