"""MediaPipe's canonical metric face, read from the Face Landmarker bundle's geometry metadata.

The bundle's ``geometry_pipeline_metadata_landmarks.binarypb`` is a proto2
``GeometryPipelineMetadata`` message. It is decoded here from the wire format by hand, so no
protobuf dependency is needed; repeated scalars are accepted packed or unpacked, as proto2
parsers must. The schema (field numbers):

- 1 ``canonical_mesh`` (Mesh3d): 1 vertex_type (0 = VERTEX_PT: x, y, z, u, v per vertex),
  2 primitive_type (0 = TRIANGLE), 3 vertex_buffer (float), 4 index_buffer (uint32).
- 2 ``procrustes_landmark_basis`` (repeated): 1 landmark_id (uint32), 2 landmark_weight (float).
- 3 ``input_source`` (enum, 1 = face landmarks; not needed here).

Canonical frame: x toward the subject's left, y up, z out of the face (toward a camera the face
looks at), origin inside the head; the file is in cm, :class:`CanonicalFace` holds metres.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from trg_ros.core.errors import CheckpointError

NUM_VERTICES = 468
# Deepest point of the nose bridge on the midline, the origin of the REP-155 face frame.
SELLION_VERTEX = 168
_VERTEX_PT = 0
_TRIANGLE = 0
_FLOATS_PER_VERTEX = 5
_CM = 0.01
# Wire types of the protobuf encoding.
_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5


class _Truncated(Exception):
    """Internal: the buffer ended inside a field."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode one base-128 varint at ``pos``; returns (value, next position)."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise _Truncated
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise CheckpointError(f"malformed varint ending at byte {pos}")


def _fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of each field of one message, in file order.

    Varints come as ints; fixed32/fixed64 and length-delimited fields as their raw bytes.
    """
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == _VARINT:
            value, pos = _varint(data, pos)
        elif wire in (_FIXED32, _FIXED64):
            size = 4 if wire == _FIXED32 else 8
            value, pos = data[pos : pos + size], pos + size
        elif wire == _LEN:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire} (field {number})")
        if pos > len(data):
            raise _Truncated
        yield number, wire, value


def _packed_varints(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        out.append(value)
    return out


def _expect(wire: int, allowed: tuple[int, ...], what: str) -> None:
    if wire not in allowed:
        raise CheckpointError(f"{what} has wire type {wire}, expected one of {allowed}")


def _float_bytes(wire: int, value: int | bytes, what: str) -> bytes:
    """Raw little-endian float32 bytes of one unpacked (fixed32) or packed repeated float."""
    _expect(wire, (_FIXED32, _LEN), what)
    assert isinstance(value, bytes)
    if len(value) % 4:
        raise CheckpointError(f"packed {what} holds {len(value)} bytes, not whole floats")
    return value


def _parse_mesh(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Mesh3d -> (V, 5) float vertex buffer (cm, uv) and (T, 3) triangle indices."""
    floats: list[bytes] = []
    indices: list[int] = []
    for number, wire, value in _fields(data):
        if number in (1, 2):
            _expect(wire, (_VARINT,), f"mesh field {number}")
            wanted = _VERTEX_PT if number == 1 else _TRIANGLE
            if value != wanted:
                kind = "vertex_type" if number == 1 else "primitive_type"
                raise CheckpointError(f"canonical mesh {kind} is {value}, expected {wanted}")
        elif number == 3:
            floats.append(_float_bytes(wire, value, "vertex_buffer"))
        elif number == 4:
            _expect(wire, (_VARINT, _LEN), "index_buffer")
            if isinstance(value, bytes):
                indices.extend(_packed_varints(value))
            else:
                indices.append(value)
    buffer = np.frombuffer(b"".join(floats), dtype="<f4").astype(np.float64)
    if buffer.size % _FLOATS_PER_VERTEX or len(indices) % 3:
        raise CheckpointError(
            f"canonical mesh has {buffer.size} vertex floats and {len(indices)} indices; "
            f"expected multiples of {_FLOATS_PER_VERTEX} and 3"
        )
    return buffer.reshape(-1, _FLOATS_PER_VERTEX), np.array(indices, np.int64).reshape(-1, 3)


def _parse_basis_entry(data: bytes) -> tuple[int, float]:
    landmark_id, weight = None, None
    for number, wire, value in _fields(data):
        if number == 1:
            _expect(wire, (_VARINT,), "landmark_id")
            landmark_id = value
        elif number == 2:
            _expect(wire, (_FIXED32,), "landmark_weight")
            (weight,) = struct.unpack("<f", value)
    if landmark_id is None or weight is None:
        raise CheckpointError("a procrustes_landmark_basis entry lacks its id or weight")
    return int(landmark_id), float(weight)


@dataclass(frozen=True)
class CanonicalFace:
    """The canonical face mesh and the landmark weights of the metric Procrustes fit.

    Attributes:
        vertices: (468, 3) canonical frame, m (x subject's left, y up, z out of the face).
        uv: (468, 2) texture coordinates in [0, 1].
        triangles: (T, 3) int vertex indices (T = 898 in MediaPipe's file).
        basis_ids: (B,) int vertex ids used by the Procrustes fit (B = 33).
        basis_weights: (B,) float weights of those vertices (they sum to about 1.055).
    """

    vertices: np.ndarray
    uv: np.ndarray
    triangles: np.ndarray
    basis_ids: np.ndarray
    basis_weights: np.ndarray

    def __post_init__(self) -> None:
        arrays = {
            "vertices": (np.float64, (NUM_VERTICES, 3)),
            "uv": (np.float64, (NUM_VERTICES, 2)),
            "triangles": (np.int64, (-1, 3)),
            "basis_ids": (np.int64, (-1,)),
            "basis_weights": (np.float64, (-1,)),
        }
        for name, (dtype, shape) in arrays.items():
            a = np.asarray(getattr(self, name))
            fits = a.ndim == len(shape) and all(
                w in (-1, n) for w, n in zip(shape, a.shape, strict=True)
            )
            if not fits:
                raise CheckpointError(f"canonical face {name} has shape {a.shape}, want {shape}")
            a = np.ascontiguousarray(a, dtype=dtype)
            a.flags.writeable = False
            object.__setattr__(self, name, a)
        if not (np.isfinite(self.vertices).all() and np.isfinite(self.basis_weights).all()):
            raise CheckpointError("canonical face holds NaN or infinite values")
        for name in ("triangles", "basis_ids"):
            a = getattr(self, name)
            if a.size and (a.min() < 0 or a.max() >= NUM_VERTICES):
                raise CheckpointError(f"canonical face {name} index outside 0..{NUM_VERTICES - 1}")
        if len(self.basis_ids) != len(self.basis_weights) or len(self.basis_ids) < 3:
            raise CheckpointError(
                f"canonical face has {len(self.basis_ids)} basis ids and "
                f"{len(self.basis_weights)} weights; need equal counts of at least 3"
            )
        if (self.basis_weights < 0).any() or self.basis_weights.sum() <= 0:
            raise CheckpointError("canonical face basis weights must be >= 0, not all zero")

    @classmethod
    def from_metadata(cls, data: bytes, source: str = "geometry metadata") -> CanonicalFace:
        """Decode the bytes of ``geometry_pipeline_metadata_landmarks.binarypb``.

        Raises:
            CheckpointError: naming ``source``, when the bytes are truncated, malformed or hold
                no 468-vertex triangle mesh with a landmark basis.
        """
        try:
            mesh, basis = None, []
            for number, wire, value in _fields(bytes(data)):
                if number == 1:
                    _expect(wire, (_LEN,), "canonical_mesh")
                    mesh = _parse_mesh(value)
                elif number == 2:
                    _expect(wire, (_LEN,), "procrustes_landmark_basis")
                    basis.append(_parse_basis_entry(value))
            if mesh is None:
                raise CheckpointError("no canonical_mesh field")
            buffer, triangles = mesh
            if len(buffer) != NUM_VERTICES:
                raise CheckpointError(f"{len(buffer)} vertices, expected {NUM_VERTICES}")
            pairs = np.array(basis, dtype=np.float64).reshape(-1, 2)
            return cls(buffer[:, :3] * _CM, buffer[:, 3:], triangles, pairs[:, 0], pairs[:, 1])
        except _Truncated:
            raise CheckpointError(f"{source} is truncated ({len(data)} bytes)") from None
        except CheckpointError as e:
            raise CheckpointError(f"{source}: {e}") from None

    @classmethod
    def read(cls, path: str | Path) -> CanonicalFace:
        """Decode a ``.binarypb`` file (see :meth:`from_metadata`)."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise CheckpointError(f"cannot read canonical face metadata {path}: {e}") from e
        return cls.from_metadata(data, source=str(path))

    @staticmethod
    def file_names() -> dict[str, str]:
        """Attribute -> ``.npy`` file name, as :meth:`save` writes them."""
        return {f.name: f"facemesh_canonical_{f.name}.npy" for f in fields(CanonicalFace)}

    def save(self, directory: str | Path) -> None:
        """Write one ``.npy`` per array into ``directory`` (atomically, no pickles)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name, file_name in self.file_names().items():
            tmp = directory / (file_name + ".tmp.npy")
            np.save(tmp, getattr(self, name), allow_pickle=False)
            tmp.replace(directory / file_name)

    @classmethod
    def load(cls, directory: str | Path) -> CanonicalFace:
        """Read what :meth:`save` wrote; a missing or damaged file raises CheckpointError."""
        arrays = {}
        for name, file_name in cls.file_names().items():
            path = Path(directory) / file_name
            try:
                arrays[name] = np.load(path, allow_pickle=False)
            except (OSError, ValueError, EOFError) as e:
                raise CheckpointError(f"cannot load canonical face file {path}: {e}") from e
        return cls(**arrays)


class _CanonicalArrays:
    """A :class:`~trg_ros.core.assets.spec.Derivation`: the canonical face's ``.npy`` arrays,
    decoded from the geometry metadata once at install."""

    def names(self, source: str) -> list[str]:
        return list(CanonicalFace.file_names().values())

    def make(self, installed: Path) -> None:
        CanonicalFace.read(installed).save(installed.parent)


CANONICAL_ARRAYS = _CanonicalArrays()
