"""Files in public Google Drive folders, fetched with gdown: list, pick by path, download.

The official TRG checkpoints and evaluation extras are published only as Drive folders whose
file ids are not documented, so a file is found by its name and parent folder in the folder's
listing. gdown (MIT) lists folders and passes Drive's large-file confirmation page; it is
imported only when something is fetched, so the core imports without it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trg_ros.core.assets.download import TIMEOUT, Progress
from trg_ros.core.errors import AssetError

log = logging.getLogger(__name__)

RETRIES = 2  # further attempts of one transfer, each resuming where the last one stopped

# (file id, path inside the folder with "/" between parts): gdown's listing without local_path.
Entry = tuple[str, str]


@dataclass(frozen=True)
class DriveFile:
    """Where a file sits in a public Drive folder.

    Attributes:
        folder_url: the folder's share link.
        name: the file's name in the folder.
        parent: the folder that directly holds it (``checkpoint-30``); empty: any.
        prefer: a folder on the path that decides between several matches (the training
            run, ``trg_240717``); a file outside it is still taken when it is the only match.
    """

    folder_url: str
    name: str
    parent: str = ""
    prefer: str = ""

    def where(self) -> str:
        return f"{self.parent}/{self.name}" if self.parent else self.name


def _parts(path: str) -> list[str]:
    return [p for p in path.replace("\\", "/").split("/") if p]


def select(listing: Iterable[Sequence[str]], target: DriveFile, by_hand: str) -> Entry:
    """The one entry of ``listing`` that is ``target``.

    Args:
        listing: ``(id, path, ...)`` entries, as ``gdown.download_folder(skip_download=True)``
            returns them (its ``local_path`` is ignored).
        target: the file's name, parent folder and preferred run folder.
        by_hand: the manual route, appended to the error.

    Raises:
        AssetError: no entry or several match; the message holds the whole listing.
    """
    entries = [(str(e[0]), str(e[1])) for e in listing]
    matches = [
        e
        for e in entries
        if _parts(e[1])[-1:] == [target.name]
        and (not target.parent or _parts(e[1])[-2:-1] == [target.parent])
    ]
    preferred = [e for e in matches if target.prefer and target.prefer in _parts(e[1])[:-1]]
    if len(matches) > 1 and preferred:
        matches = preferred
    if len(matches) == 1:
        return matches[0]
    found = "is not" if not matches else f"is ambiguous ({len(matches)} matches)"
    shown = "\n".join(f"  {path}  (id {file_id})" for file_id, path in entries) or "  (empty)"
    raise AssetError(
        f"{target.where()} {found} in the listing of {target.folder_url}:\n{shown}\n"
        f"Get it by hand: {by_hand}"
    )


def _gdown() -> tuple[Any, Any]:
    try:
        import gdown
        import requests
    except ImportError as e:
        raise AssetError(f"fetching from Google Drive needs gdown ({e}): pip install gdown") from e
    return gdown, requests


def list_folder(target: DriveFile, by_hand: str) -> list[Entry]:
    """Every file in ``target``'s folder tree, as ``(id, path)``; nothing is downloaded.

    Raises:
        AssetError: offline, or Drive refused the listing (its reason is passed on).
    """
    gdown, requests = _gdown()
    log.info("listing %s", target.folder_url)
    try:
        files = gdown.download_folder(
            url=target.folder_url,
            skip_download=True,
            quiet=True,
            use_cookies=False,
            timeout=TIMEOUT,
        )
    except (requests.RequestException, gdown.exceptions.DownloadError) as e:
        raise _failed(e, f"listing {target.folder_url}", target.folder_url, None, by_hand) from e
    return [(f.id, f.path) for f in files]


def locate(target: DriveFile, by_hand: str) -> str:
    """The download URL of ``target``, found by listing its folder (see :func:`select`)."""
    file_id, path = select(list_folder(target, by_hand), target, by_hand)
    log.info("found %s in %s (id %s)", path, target.folder_url, file_id)
    return f"https://drive.google.com/uc?id={file_id}"


def download(url: str, output: Path, by_hand: str, progress: Progress | None) -> Path:
    """Fetch a Drive file or share link, or a plain http(s) URL, into ``output``.

    The transfer goes to ``<output><8 characters>.part`` beside ``output`` and is resumed from
    there by the next call; a finished ``output`` is not fetched again.

    Args:
        url: ``https://drive.google.com/uc?id=...``, a share link, or any URL.
        output: final path; its folder is created.
        by_hand: the manual route, appended to errors.
        progress: called with (bytes done, bytes total or None).

    Raises:
        AssetError: offline, quota exceeded or rate limited (gdown's reason passed on), HTTP
            errors, a transfer broken off after the retries; the partial file is kept.
    """
    gdown, requests = _gdown()
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        gdown.download(
            url=url,
            output=str(output),
            quiet=True,
            use_cookies=False,
            resume=True,
            progress=progress,
            timeout=TIMEOUT,
            retries=RETRIES,
        )
    except (requests.RequestException, gdown.exceptions.DownloadError) as e:
        raise _failed(e, f"downloading {url}", url, output, by_hand) from e
    return output


def partial_files(output: Path) -> list[Path]:
    """gdown's unfinished transfers of ``output``."""
    return sorted(output.parent.glob(f"{output.name}????????.part"))


def _failed(
    error: Exception, tried: str, url: str, output: Path | None, by_hand: str
) -> AssetError:
    """An error that says what was tried, gdown's reason, what was kept and what to do."""
    gdown, requests = _gdown()
    reason = " ".join(str(error).split())
    network = (requests.ConnectionError, requests.Timeout)
    kept = partial_files(output) if output else []
    resume = (
        f" {kept[0].stat().st_size} bytes are kept in {kept[0]}: run the same command again "
        "to resume."
        if kept
        else ""
    )
    if isinstance(error, network) or isinstance(error.__cause__, network):
        return AssetError(
            f"could not reach the server while {tried}: are you offline? ({reason}).{resume} "
            f"Otherwise {by_hand}"
        )
    then = (
        "Google Drive limits how often a file is downloaded: try again later, or"
        if gdown.parse_url.is_google_drive_url(url)
        else "Otherwise"
    )
    return AssetError(f"{tried} failed: {reason}.{resume} {then} {by_hand}")
