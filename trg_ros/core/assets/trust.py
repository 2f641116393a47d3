"""What an asset file must be: its size and SHA-256, from the cache's record or the manifest.

Some upstream files have no trustworthy record: the default checkpoint's size and hash come
from a third party, the other Drive files have none. The first copy installed that passes its
content check is recorded in ``recorded_hashes.json`` in the cache (trust on first use); from
then on the record wins over the manifest, so later downloads and ``assets verify`` must match
the file that was checked.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Protocol

from trg_ros.core.assets.download import CHUNK
from trg_ros.core.errors import AssetError

RECORD_FILE = "recorded_hashes.json"


class Recordable(Protocol):
    name: str
    size: int | None
    sha256: str | None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _records(cache: Path) -> dict[str, dict]:
    path = cache / RECORD_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise AssetError(f"{path} cannot be read ({e}): delete it and fetch again") from e
    if not isinstance(data, dict):
        raise AssetError(f"{path} is not a JSON object: delete it and fetch again")
    return data


def recorded(cache: Path, name: str) -> tuple[int, str] | None:
    """(size, SHA-256) recorded for ``name`` at its first install, or None."""
    entry = _records(cache).get(name)
    return (int(entry["size"]), str(entry["sha256"])) if entry else None


def expected(asset: Recordable, cache: Path) -> tuple[int, str] | None:
    """(size, SHA-256) a file must have: the cache's record, else the manifest's, else None."""
    seen = recorded(cache, asset.name)
    if seen is not None:
        return seen
    if asset.size is None or asset.sha256 is None:
        return None
    return asset.size, asset.sha256


def problem(path: Path, want: tuple[int, str] | None) -> str | None:
    """What is wrong with ``path`` measured against ``want`` (size, SHA-256), or None."""
    if not path.is_file():
        return f"{path} does not exist"
    if want is None:
        return f"{path} has no recorded size and SHA-256 to check against"
    size = path.stat().st_size
    if size != want[0]:
        return f"{path} is {size} bytes, expected {want[0]}{' (truncated?)' * (size < want[0])}"
    digest = sha256_of(path)
    if digest != want[1]:
        return f"{path} has SHA-256 {digest}, expected {want[1]}"
    return None


def record(cache: Path, asset: Recordable, path: Path, source: str) -> tuple[int, str]:
    """Record ``path``'s size and SHA-256 as the trusted ones for ``asset`` in ``cache``."""
    seen = path.stat().st_size, sha256_of(path)
    records = _records(cache)
    records[asset.name] = {
        "size": seen[0],
        "sha256": seen[1],
        "source": source,
        "manifest": {"size": asset.size, "sha256": asset.sha256},
    }
    tmp = cache / (RECORD_FILE + ".tmp")
    tmp.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, cache / RECORD_FILE)
    return seen
