"""Metric code and dataset loading proven with a stand-in model of known error."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from trg_ros.core import metrics
from trg_ros.core.model.crop import Box
from trg_ros.tools.evaluate import (
    BATCH,
    Prediction,
    Sample,
    arkit_samples,
    evaluate,
    read_biwi_cal,
    slide_into,
)

YAW_ERR, TX_ERR, RECON_ERR = 2.0, 0.003, 0.001  # deg, m, m


def make_arkit(root: Path, n: int, rng: np.random.Generator) -> None:
    """A tiny ARKitFace-layout dataset with known poses (OpenGL-style R_t, row layout)."""
    (root / "ARKitFace_list/list").mkdir(parents=True)
    with (root / "ARKitFace_list/list/ARKitFace_test.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["subject_id", "facial_action", "img_id"])
        for i in range(n):
            w.writerow(["007", "01_Neutral", f"{i:013d}"])
    for i in range(n):
        rel = Path("007/01_Neutral")
        (root / "ARKitFace_image_test/image" / rel).mkdir(parents=True, exist_ok=True)
        (root / "ARKitFace_info_test/info" / rel).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(
            str(root / "ARKitFace_image_test/image" / rel / f"{i:013d}_ar.jpg"),
            np.full((200, 200, 3), 100, np.uint8),
        )
        r = Rotation.from_euler("yxz", rng.uniform(-30, 30, 3), degrees=True).as_matrix()
        t = np.array([rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), -rng.uniform(0.3, 0.6)])
        r_t = np.eye(4)
        r_t[:3, :3], r_t[3, :3] = r.T, t  # row layout, OpenGL camera (tz < 0)
        verts = rng.normal(0, 0.04, (1220, 3))
        np.savez(
            root / "ARKitFace_info_test/info" / rel / f"{i:013d}_info.npz", verts=verts, R_t=r_t
        )


def stand_in(batch: list[Sample]) -> list[Prediction]:
    """Ground truth plus a known error: yaw +2 deg, tx +3 mm, every vertex 1 mm deeper."""
    out = []
    for s in batch:
        yaw_gt = metrics.euler_yxz(s.r_gt[None])[0]
        r = Rotation.from_euler("yxz", yaw_gt + np.array([YAW_ERR, 0, 0]), degrees=True)
        out.append(
            Prediction(
                r.as_matrix(),
                s.t_gt + np.array([TX_ERR, 0, 0]),
                s.face_gt + np.array([0, 0, RECON_ERR]),
            )
        )
    return out


def test_arkit_protocol_with_known_errors(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    make_arkit(tmp_path, BATCH + 5, rng)
    kpt = np.arange(68) * 17
    samples = list(arkit_samples(tmp_path, kpt))
    # Ground truth went through D = diag(1, -1, -1): tz is positive in TRG's camera frame.
    assert all(s.t_gt[2] > 0 for s in samples)
    summary, rows = evaluate(samples, stand_in, progress=False)
    assert summary["samples"] == BATCH and summary["dropped_tail"] == 5
    assert summary["yaw_deg"] == pytest.approx(YAW_ERR, abs=1e-6)
    assert summary["pitch_deg"] == pytest.approx(0, abs=1e-6)
    assert summary["mae_r_deg"] == pytest.approx(YAW_ERR / 3, abs=1e-6)
    assert summary["tx_mm"] == pytest.approx(TX_ERR * 1000, abs=1e-6)
    assert summary["mae_t_mm"] == pytest.approx(TX_ERR * 1000 / 3, abs=1e-6)
    assert summary["recon_mean_mm"] == pytest.approx(RECON_ERR * 1000, abs=1e-6)
    assert len(rows) == BATCH
    full, _ = evaluate(samples, stand_in, keep_tail=True, progress=False)
    assert full["samples"] == BATCH + 5


def test_metrics_by_hand() -> None:
    # Case 1: a 90 deg yaw against identity, translation off by (1, 2, 2) mm.
    r_gt = np.eye(3)[None]
    r_p = Rotation.from_euler("y", 90, degrees=True).as_matrix()[None]
    assert metrics.euler_errors(r_p, r_gt)[0] == pytest.approx([90, 0, 0])
    assert metrics.geodesic_error(r_p, r_gt)[0] == pytest.approx(90)
    t_err = metrics.translation_errors(np.array([[0.001, 0.002, 1.002]]), np.array([[0, 0, 1.0]]))
    assert t_err[0] == pytest.approx([0.001, 0.002, 0.002])
    # ADD of a pure 3 mm shift is 3 mm whatever the vertices; of a 180 deg turn about z, it is
    # twice the mean distance of the vertices from the z axis.
    v = np.array([[0.1, 0, 0], [0, 0.2, 0]])
    assert metrics.add(r_gt, np.array([[0.003, 0, 0]]), r_gt, np.zeros((1, 3)), v)[
        0
    ] == pytest.approx(0.003)
    rz = Rotation.from_euler("z", 180, degrees=True).as_matrix()[None]
    assert metrics.add(rz, np.zeros((1, 3)), r_gt, np.zeros((1, 3)), v)[0] == pytest.approx(0.3)
    # Case 2: identical rotations still give the clip floor of the official code.
    assert metrics.geodesic_error(r_gt, r_gt)[0] == pytest.approx(np.degrees(np.arccos(1 - 1e-7)))


def test_biwi_helpers(tmp_path: Path) -> None:
    assert slide_into(Box(-10, 5, 90, 105), 640, 480) == Box(0, 5, 100, 105)
    assert slide_into(Box(600, 400, 700, 500), 640, 480) == Box(539, 379, 639, 479)
    cal = tmp_path / "rgb.cal"
    cal.write_text(
        "517 0 320\n0 517 240\n0 0 1\n\n0 0 0 0\n\n1 0 0\n0 1 0\n0 0 1\n\n-20 1 3\n\n640 480\n"
    )
    k, r, t = read_biwi_cal(cal)
    assert k[0, 0] == 517 and np.allclose(r, np.eye(3)) and np.allclose(t, [-20, 1, 3])


def test_biwi_layout_ground_truth_and_box(tmp_path: Path) -> None:
    import pickle

    from trg_ros.tools.evaluate import biwi_samples

    hpdb = tmp_path / "hpdb"
    (hpdb / "03").mkdir(parents=True)
    r_ext = Rotation.from_euler("y", 5, degrees=True).as_matrix()
    (hpdb / "03/rgb.cal").write_text(
        "517 0 320\n0 517 240\n0 0 1\n\n0 0 0 0\n\n"
        + "\n".join(" ".join(f"{v:.12f}" for v in row) for row in r_ext)
        + "\n\n-20 1 3\n\n640 480\n"
    )
    r_head = Rotation.from_euler("x", 10, degrees=True).as_matrix()
    (hpdb / "03/frame_00004_pose.txt").write_text(
        "\n".join(" ".join(f"{v:.12f}" for v in row) for row in r_head) + "\n\n10 20 900\n"
    )
    cv2.imwrite(str(hpdb / "03/frame_00004_rgb.png"), np.zeros((480, 640, 3), np.uint8))
    kpt = np.zeros((68, 3), np.float32)
    kpt[:, 0] = np.linspace(580, 660, 68)  # runs off the right edge: the box is slid back in
    kpt[:, 1] = np.linspace(100, 180, 68)
    ann = {
        "img_path": ["03/frame_00004_rgb.png"],
        "pred_kpt": {"03/frame_00004_rgb.png": kpt},
        "mesh": {"03": {"vertices": np.ones((10, 3)) * 50.0, "faces": np.zeros((4, 3))}},
    }
    (hpdb / "annot_mtcnn_fan.pkl").write_bytes(pickle.dumps(ann))
    (sample,) = list(biwi_samples(hpdb))
    np.testing.assert_allclose(sample.r_gt, r_ext @ r_head, atol=1e-9)
    np.testing.assert_allclose(sample.t_gt, (r_ext @ [10, 20, 900] + [-20, 1, 3]) / 1000)
    assert sample.box.right == 639 and sample.box.width == 120  # slid, size kept
    np.testing.assert_allclose(sample.add_vertices, 0.05)
    assert sample.camera.fx == 517
