"""``trg-ros check``: TRG against the bundled FaceMesh on the same real faces.

The comparison is tested on constructed heads with known differences; the verdict on the
random parity-fixture weights (a wrong checkpoint: it must fail, through the CLI as a user runs
it); the pass branch on FaceMesh against itself seeded from other boxes (a second correct
opinion), since the official TRG weights are not reachable here.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from trg_ros import cli
from trg_ros.core.camera import CameraModel
from trg_ros.core.detect.blazeface import BlazeFace
from trg_ros.core.estimate import Estimate, FaceQuery
from trg_ros.core.facemesh.estimator import FaceMeshEstimator
from trg_ros.core.types import Head
from trg_ros.tools import check, sources

REPO = Path(__file__).resolve().parents[2]
PORTRAITS = ("obama.jpg", "biden.jpg")


def head(rotation: np.ndarray, translation, sellion, landmarks: np.ndarray) -> Head:
    return Head(
        id="a",
        score=1.0,
        box=np.array([0.0, 0.0, 100.0, 100.0]),
        rotation=rotation,
        translation=np.asarray(translation, float),
        vertices=np.zeros((3, 3)),
        landmarks_2d=landmarks,
        sellion=np.asarray(sellion, float),
        model="test",
    )


def grid_landmarks() -> np.ndarray:
    """(68, 2) points spanning a 120 x 75 px box (sqrt(w * h) = 94.87 px)."""
    u = np.linspace(200.0, 320.0, 68)
    v = 100.0 + 75.0 * (np.arange(68) % 2)
    return np.stack([u, v], 1)


def test_agreement_compares_face_frames_at_each_models_sellion() -> None:
    r_ref = Rotation.from_euler("yxz", [20.0, -10.0, 5.0], degrees=True).as_matrix()
    turn = Rotation.from_rotvec(np.radians(12.0) * np.array([0.6, 0.8, 0.0])).as_matrix()
    lmk = grid_landmarks()
    sellion = np.array([0.05, -0.02, 0.60])
    ref = head(r_ref, [0.05, 0.0, 0.70], sellion, lmk)
    # The other model's head-frame origin sits 60 mm elsewhere but its sellion is the same
    # point: the face origins agree although the translations do not.
    tested = head(r_ref @ turn, [0.05, 0.0, 0.64], sellion, lmk + np.array([3.0, 4.0]))
    got = check.agreement("img", tested, ref)
    assert got.rotation_deg == pytest.approx(12.0, abs=1e-9), got
    assert got.origin_mm == pytest.approx(0.0, abs=1e-9), got
    assert got.origin_pct == pytest.approx(0.0, abs=1e-9), got
    assert got.landmark_pct == pytest.approx(100 * 5.0 / np.sqrt(120 * 75), rel=1e-9), got
    assert np.allclose(got.euler_reference, [20.0, -10.0, 5.0]), got.euler_reference
    assert got.distance_reference == pytest.approx(np.linalg.norm(sellion)), got
    assert (got.image, got.face) == ("img", "a")


def test_agreement_measures_the_gap_between_the_sellions_and_ignores_smoothing() -> None:
    r = np.eye(3)
    lmk = grid_landmarks()
    ref = head(r, [0.0, 0.0, 0.6], [0.0, 0.0, 0.6], lmk)
    tested = head(r, [0.0, 0.0, 0.6], [0.03, 0.0, 0.6], lmk)
    # A filtered pose far away must not enter: the check compares raw per-image estimates.
    tested = dataclasses.replace(
        tested,
        smoothed_rotation=Rotation.from_euler("x", 90, degrees=True).as_matrix(),
        smoothed_translation=np.array([1.0, 1.0, 1.0]),
    )
    got = check.agreement("img", tested, ref)
    mean_distance = (np.hypot(0.03, 0.6) + 0.6) / 2
    assert got.origin_mm == pytest.approx(30.0, rel=1e-9), got
    assert got.origin_pct == pytest.approx(100 * 0.03 / mean_distance, rel=1e-9), got
    assert got.rotation_deg == pytest.approx(0.0, abs=1e-9), got
    assert got.landmark_pct == 0.0


def row(rotation: float, origin: float, landmarks: float) -> check.Agreement:
    return check.Agreement(
        "img", "a", rotation, 10 * origin, origin, landmarks, (0, 0, 0), (0, 0, 0), 0.5, 0.5
    )


def test_the_verdict_takes_medians_and_names_what_is_beyond_its_bound() -> None:
    ok = check.judge(check.Comparison([row(5, 10, 5), row(40, 50, 60), row(8, 12, 7)]))
    assert ok.exit_code == 0 and ok.reasons == [], ok  # one outlier out of three
    assert ok.medians == {"rotation_deg": 8, "origin_pct": 12, "landmark_pct": 7}, ok.medians
    bad = check.judge(check.Comparison([row(30, 10, 5), row(40, 50, 20), row(8, 12, 16)]))
    assert bad.exit_code == check.EXIT_DISAGREE, bad
    assert [r.split()[0] for r in bad.reasons] == ["rotation", "landmarks"], bad.reasons
    assert "30.0 deg (bound 25)" in bad.reasons[0], bad.reasons


def test_faces_without_a_finite_pose_fail_and_nothing_compared_is_its_own_outcome() -> None:
    broken = check.judge(check.Comparison([row(5, 10, 5)], unposed=[("img", "b")]))
    assert broken.exit_code == check.EXIT_DISAGREE, broken
    assert broken.reasons == ["no pose for 1 of 2 faces (not finite or off the face)"], (
        broken.reasons
    )
    empty = check.judge(check.Comparison(unseen=[("img", "a")]))
    assert empty.exit_code == check.EXIT_NOTHING_COMPARED and empty.medians == {}, empty


# --- real images ----------------------------------------------------------------------------
class Seeded:
    """FaceMesh seeded from detector boxes scaled by ``scale``: the same correct model looking
    at other crops, a second correct opinion (or a broken one with ``nan=True``)."""

    name = "facemesh"

    def __init__(self, inner: FaceMeshEstimator, scale: float, nan: bool = False) -> None:
        self.inner, self.scale, self.nan = inner, scale, nan
        self.device, self.triangles = inner.device, inner.triangles

    def estimate(
        self, image: np.ndarray, faces: Sequence[FaceQuery], camera: CameraModel, passes: int = 1
    ) -> list[Estimate]:
        grown = []
        for q in faces:
            box = np.asarray(q.box, float)
            centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2 * self.scale
            grown.append(
                dataclasses.replace(q, box=np.concatenate([centre - half, centre + half]))
            )
        out = self.inner.estimate(image, grown, camera, passes)
        if self.nan:
            nan = np.full((3, 3), np.nan)
            out = [
                dataclasses.replace(e, head=dataclasses.replace(e.head, rotation=nan)) for e in out
            ]
        return out


@pytest.fixture(scope="module")
def pictures(portraits: dict[str, np.ndarray]) -> list[check.Picture]:
    named = [("astronaut", sources.sample_image())] + [(n, portraits[n]) for n in PORTRAITS]
    return [
        check.Picture(n, rgb, CameraModel.from_fov(rgb.shape[1], rgb.shape[0], 60))
        for n, rgb in named
    ]


@pytest.fixture(scope="module")
def facemesh(facemesh_dir: Path) -> FaceMeshEstimator:
    return FaceMeshEstimator.from_dir(facemesh_dir)


def test_facemesh_against_itself_from_other_crops_passes(
    pictures, facemesh: FaceMeshEstimator, detector_weights: Path
) -> None:
    got = check.compare(pictures, Seeded(facemesh, 1.3), facemesh, BlazeFace(detector_weights))
    verdict = check.judge(got)
    assert len(got.rows) == 3 and not got.unposed and not got.unseen, got
    assert verdict.exit_code == 0 and verdict.reasons == [], verdict
    m = verdict.medians
    assert m["rotation_deg"] < 5 and m["origin_pct"] < 5 and m["landmark_pct"] < 5, m
    # Different crops give different numbers: the pass is measured, not an identity.
    assert m["rotation_deg"] > 0.05 and m["landmark_pct"] > 0.05, m


def test_an_estimator_without_finite_poses_fails(
    pictures, facemesh: FaceMeshEstimator, detector_weights: Path
) -> None:
    broken = Seeded(facemesh, 1.0, nan=True)
    got = check.compare(pictures[:1], broken, facemesh, BlazeFace(detector_weights))
    assert got.rows == [] and got.unposed == [("astronaut", "a")], got
    verdict = check.judge(got)
    assert verdict.exit_code == check.EXIT_DISAGREE, verdict
    assert verdict.reasons == ["no pose for 1 of 1 faces (not finite or off the face)"], verdict


def run_check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trg_ros.cli", "check", "--device", "cpu", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_random_weights_are_caught_as_a_wrong_checkpoint(
    facemesh_model_dir: Path, portraits: dict[str, np.ndarray], tmp_path: Path
) -> None:
    images = []
    for name in PORTRAITS:
        images.append(tmp_path / name)
        cv2.imwrite(str(images[-1]), cv2.cvtColor(portraits[name], cv2.COLOR_RGB2BGR))
    out = tmp_path / "check.json"
    done = run_check(
        "--data-dir", str(facemesh_model_dir), "--image", *map(str, images), "--json", str(out)
    )
    assert done.returncode == check.EXIT_DISAGREE, done.stdout + done.stderr[-3000:]
    assert "FAIL: TRG and FaceMesh disagree by" in done.stdout, done.stdout
    assert "probably not the official TRG* one" in done.stdout, done.stdout
    report = json.loads(out.read_text())
    assert [f["image"] for f in report["faces"]] == [check.SAMPLE_NAME, *PORTRAITS]
    lmk = report["medians"]["landmark_pct"]
    assert lmk > check.MAX_LANDMARK_PCT, report["medians"]
    assert not report["passed"] and report["reasons"], report


def test_missing_files_exit_3_with_how_to_get_them(
    facemesh_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_trg = tmp_path / "no_trg"
    shutil.copytree(facemesh_model_dir, no_trg, ignore=shutil.ignore_patterns("state_dict.bin"))
    assert cli.main(["check", "--data-dir", str(no_trg), "--device", "cpu"]) == 3
    err = capsys.readouterr().err
    assert "TRG weights" in err and "trg-ros assets fetch --only weights" in err, err
    assert "FaceMesh" not in err, err  # only what is missing is reported
    assert cli.main(["check", "--data-dir", str(tmp_path / "empty"), "--device", "cpu"]) == 3
    err = capsys.readouterr().err
    assert "run `trg-ros assets fetch`" in err, err
    assert "`trg-ros assets fetch --only facemesh`" in err, err


def test_a_file_that_is_not_a_trg_checkpoint_fails(
    facemesh_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = tmp_path / "state_dict.bin"
    weights.write_bytes(b"not a checkpoint" * 64)
    argv = ["check", "--data-dir", str(facemesh_model_dir), "--weights", str(weights)]
    assert cli.main([*argv, "--device", "cpu"]) == check.EXIT_DISAGREE
    err = capsys.readouterr().err
    assert "not a TRG checkpoint" in err and str(weights) in err, err
