"""Resumable plain-HTTP download into a ``.part`` file (pinned data files and wheels).

Google Drive files go through gdown instead (:mod:`trg_ros.core.assets.drive`).
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from trg_ros.core.errors import AssetError

CHUNK = 1 << 20
TIMEOUT = 30.0  # s without data before a transfer counts as interrupted

# Called with (bytes done, bytes total or None when unknown) while a file is fetched.
Progress = Callable[[int, int | None], None]


def download(
    url: str,
    part: Path,
    size: int,
    name: str,
    remedy: str,
    progress: Progress | None = None,
) -> None:
    """Fetch ``url`` into ``part``, resuming from what ``part`` already holds.

    Raises:
        AssetError: naming the file and URL; an interrupted transfer keeps ``part``.
    """
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    request = urllib.request.Request(url, headers={"User-Agent": "trg-ros"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            if have and response.status != 206:
                have = 0  # the server ignored the range: start over
            with part.open("ab" if have else "wb") as f:
                done = have
                for block in iter(lambda: response.read(CHUNK), b""):
                    f.write(block)
                    done += len(block)
                    if progress:
                        progress(done, size)
    except urllib.error.HTTPError as e:
        e.close()  # the error holds the response's socket
        if e.code == 416 and have == size:
            return None  # already complete
        raise AssetError(f"{name}: {url} answered HTTP {e.code}; {remedy}") from e
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = str(getattr(e, "reason", e)) or type(e).__name__
        raise _interrupted(name, size, url, part, reason) from e
    if part.stat().st_size < size:
        raise _interrupted(name, size, url, part, "the connection closed early")
    return None


def _interrupted(name: str, size: int, url: str, part: Path, reason: str) -> AssetError:
    have = part.stat().st_size if part.exists() else 0
    return AssetError(
        f"{name}: could not download {url} ({reason}); are you offline? {have} of "
        f"{size} bytes kept in {part}: run the same command again to resume, or download "
        "the file by hand and run `trg-ros assets fetch --from <its folder>`"
    )
