"""The TRG paper's evaluation metrics (SPEC §4, §6.1), per sample; means are taken by callers.

Rotations are column-vector head -> camera matrices, translations in metres.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

GE_CLIP = 1.0 - 1e-7  # as the official code, so every geodesic error is >= ~0.026 deg


def euler_yxz(rotations: np.ndarray) -> np.ndarray:
    """(N, 3, 3) -> (N, 3) yaw, pitch, roll in degrees: scipy ``as_euler('yxz')`` (extrinsic).

    scipy replaces a slightly non-orthonormal matrix by the nearest rotation first.
    """
    return Rotation.from_matrix(np.asarray(rotations, np.float64)).as_euler("yxz", degrees=True)


def euler_errors(r_pred: np.ndarray, r_gt: np.ndarray) -> np.ndarray:
    """(N, 3) |yaw|, |pitch|, |roll| differences in degrees, not wrapped (as the paper)."""
    return np.abs(euler_yxz(r_pred) - euler_yxz(r_gt))


def geodesic_error(r_pred: np.ndarray, r_gt: np.ndarray) -> np.ndarray:
    """(N,) angle of R_pred R_gt^T in degrees, from the raw matrices."""
    rel = np.asarray(r_pred, np.float64) @ np.swapaxes(np.asarray(r_gt, np.float64), 1, 2)
    cos = (np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -GE_CLIP, GE_CLIP)))


def translation_errors(t_pred: np.ndarray, t_gt: np.ndarray) -> np.ndarray:
    """(N, 3) per-axis absolute error in metres."""
    return np.abs(np.asarray(t_pred, np.float64) - np.asarray(t_gt, np.float64))


def add(r_pred, t_pred, r_gt, t_gt, vertices: np.ndarray) -> np.ndarray:
    """(N,) mean distance (m) between the given head-frame vertices moved by both poses.

    ``vertices`` is (V, 3) shared by all samples or (N, V, 3) per sample.
    """
    v = np.asarray(vertices, np.float64)
    v = np.broadcast_to(v, (len(r_pred), *v.shape[-2:]))
    pred = v @ np.swapaxes(r_pred, 1, 2) + np.asarray(t_pred)[:, None]
    gt = v @ np.swapaxes(r_gt, 1, 2) + np.asarray(t_gt)[:, None]
    return np.linalg.norm(pred - gt, axis=-1).mean(-1)


def reconstruction_error(pred_head: np.ndarray, gt_head: np.ndarray) -> np.ndarray:
    """(N,) mean per-vertex distance (m) in the head frame, no alignment."""
    return np.linalg.norm(np.asarray(pred_head) - np.asarray(gt_head), axis=-1).mean(-1)


def summarise(per_sample: dict[str, np.ndarray]) -> dict[str, float]:
    """Plain means over samples (SPEC §6.1), angles in degrees and lengths in mm."""
    e, t = per_sample["euler"], per_sample["translation"] * 1000.0
    out = {
        "samples": len(e),
        "yaw_deg": float(e[:, 0].mean()),
        "pitch_deg": float(e[:, 1].mean()),
        "roll_deg": float(e[:, 2].mean()),
        "mae_r_deg": float(e.mean()),
        "ge_deg": float(per_sample["geodesic"].mean()),
        "tx_mm": float(t[:, 0].mean()),
        "ty_mm": float(t[:, 1].mean()),
        "tz_mm": float(t[:, 2].mean()),
        "mae_t_mm": float(t.mean()),
        "add_mm": float(per_sample["add"].mean() * 1000.0),
    }
    if "recon" in per_sample:
        out["recon_median_mm"] = float(np.median(per_sample["recon"]) * 1000.0)
        out["recon_mean_mm"] = float(per_sample["recon"].mean() * 1000.0)
    return out
