"""One-Euro smoothing: less noise, no bias, a step is followed quickly."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from trg_ros.core.smoothing import OneEuroConfig, PoseFilter

RATE = 30.0  # Hz
# Documented in README: with the defaults a 5 cm step is within 5 mm after this many frames.
STEP_SETTLE_FRAMES = 12


def run(rotations: np.ndarray, translations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = PoseFilter(OneEuroConfig())
    out = [f(r, t, i / RATE) for i, (r, t) in enumerate(zip(rotations, translations, strict=True))]
    return np.stack([o[0] for o in out]), np.stack([o[1] for o in out])


def test_constant_pose_plus_noise() -> None:
    rng = np.random.default_rng(0)
    n = 300
    true_r = Rotation.from_euler("yxz", [20, -10, 5], degrees=True)
    true_t = np.array([0.05, -0.02, 0.8])
    noise_r = Rotation.from_rotvec(rng.normal(0, np.radians(1.0), (n, 3)))
    rots = (noise_r * true_r).as_matrix()
    trans = true_t + rng.normal(0, 0.005, (n, 3))
    fr, ft = run(rots, trans)
    settled = slice(30, None)
    assert ft[settled].std(0).max() < 0.4 * trans[settled].std(0).min()
    assert np.abs(ft[settled].mean(0) - true_t).max() < 0.001  # no bias (1 mm)
    err_raw = (Rotation.from_matrix(rots[settled]) * true_r.inv()).magnitude()
    err_f = (Rotation.from_matrix(fr[settled]) * true_r.inv()).magnitude()
    assert err_f.std() < 0.5 * err_raw.std()
    mean_rot = Rotation.from_matrix(fr[settled]).mean()
    assert np.degrees((mean_rot * true_r.inv()).magnitude()) < 0.2


def test_step_is_followed() -> None:
    n = 60
    trans = np.tile([0.0, 0.0, 0.8], (n, 1))
    trans[20:, 0] = 0.05
    rots = np.tile(np.eye(3), (n, 1, 1))
    _, ft = run(rots, trans)
    settle = next(i for i in range(20, n) if np.all(np.abs(ft[i:, 0] - 0.05) < 0.005))
    assert settle - 20 <= STEP_SETTLE_FRAMES


def test_quaternion_sign_flip_is_harmless() -> None:
    r = Rotation.from_euler("z", 179.9, degrees=True).as_matrix()
    r2 = Rotation.from_euler("z", -179.9, degrees=True).as_matrix()
    fr, _ = run(np.stack([r, r2] * 10), np.zeros((20, 3)))
    angles = Rotation.from_matrix(fr).as_euler("xyz", degrees=True)[:, 2]
    assert np.all(np.abs(np.abs(angles) - 180) < 0.5)


def test_non_increasing_stamps_restart_the_filter_instead_of_freezing_it() -> None:
    f = PoseFilter(OneEuroConfig())
    eye = np.eye(3)
    for i in range(10):
        f(eye, np.array([0.0, 0.0, 0.8]), i / RATE)
    # A driver that leaves every stamp at zero, or a bag that loops: time goes back.
    for x in (0.05, 0.10, 0.15):
        _, t = f(eye, np.array([x, 0.0, 0.8]), 0.0)
        assert t[0] == x, f"filter stuck at {t[0]} while the pose moved to {x}"


def test_live_config_change_reaches_an_existing_filter() -> None:
    f = PoseFilter(OneEuroConfig())
    eye = np.eye(3)
    f(eye, np.zeros(3), 0.0)
    lagging = f(eye, np.array([0.1, 0.0, 0.0]), 1 / RATE)[1][0]
    f = PoseFilter(OneEuroConfig())
    f(eye, np.zeros(3), 0.0)
    f.config = OneEuroConfig(min_cutoff=100.0, beta=100.0)
    following = f(eye, np.array([0.1, 0.0, 0.0]), 1 / RATE)[1][0]
    assert lagging < 0.05 and following > 0.09, (lagging, following)
