"""What installing an asset derives from its checked file: ``.npy`` arrays from a pickle, and
the files of a zip archive (a wheel, a MediaPipe ``.task`` bundle) with what their
declarations derive from them (:class:`~trg_ros.core.assets.spec.Derivation`).

Every function here runs only after the asset's own size and SHA-256 passed, and writes its
outputs atomically (temporary name, then rename), so a crash never leaves half a file.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from trg_ros.core.assets.spec import Member
from trg_ros.core.errors import AssetError


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


def pickle_to_npy(label: str, path: Path, keys: Sequence[str], outs: Sequence[Path]) -> None:
    """Save ``pickle[key]`` as ``.npy`` for each key (``label`` names the asset in errors)."""
    try:
        data = NumpyOnlyUnpickler.loads(path.read_bytes())
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
        raise AssetError(f"{label}: cannot convert to .npy: {e}") from e
    for key, out in zip(keys, outs, strict=True):
        if not isinstance(data, dict) or key not in data:
            raise AssetError(f"{label}: key {key!r} not found in the pickle")
        tmp = out.with_name(out.name + ".tmp.npy")
        np.save(tmp, np.asarray(data[key]), allow_pickle=False)
        tmp.replace(out)


def read_member(archive: Path, member: str, sha256: str | None, label: str) -> bytes:
    """The bytes of ``member`` in the zip ``archive``, checked against ``sha256`` if given."""
    try:
        with zipfile.ZipFile(archive) as z:
            data = z.read(member)
    except (KeyError, zipfile.BadZipFile) as e:
        raise AssetError(f"{label}: cannot read {member} from {archive.name} ({e})") from e
    found = hashlib.sha256(data).hexdigest()
    if sha256 is not None and found != sha256:
        raise AssetError(f"{label}: {member} has SHA-256 {found}, expected {sha256}")
    return data


def write_atomic(data: bytes, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def install_members(archive: Path, members: Sequence[Member], dest: Path, label: str) -> None:
    """Extract each member into ``dest`` and write what its declaration derives from it."""
    for member in members:
        out = dest / member.name
        write_atomic(read_member(archive, member.path, member.sha256, label), out)
        for derivation in member.derived:
            derivation.make(out)
