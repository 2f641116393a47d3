"""MediaPipe's canonical face: parsed by hand from the bundle's geometry metadata."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from trg_ros.core.errors import CheckpointError
from trg_ros.core.facemesh.canonical import SELLION_VERTEX, CanonicalFace


def test_canonical_face_matches_mediapipe(canonical_face: CanonicalFace) -> None:
    f = canonical_face
    assert f.vertices.shape == (468, 3) and f.uv.shape == (468, 2)
    assert f.triangles.shape == (898, 3), f.triangles.shape
    assert f.basis_ids.shape == f.basis_weights.shape == (33,)
    assert abs(f.basis_weights.sum() - 1.055) < 1e-6, f.basis_weights.sum()
    eye_span = np.linalg.norm(f.vertices[33] - f.vertices[263])
    assert 0.088 < eye_span < 0.090, f"outer eye corners {eye_span * 100:.2f} cm apart"
    assert int(np.argmax(f.vertices[:, 2])) == 4, "the nose tip is not the most forward vertex"
    assert f.uv.min() >= 0 and f.uv.max() <= 1, (f.uv.min(), f.uv.max())
    # Frame: x toward the subject's left (left outer eye corner 263), y up, metres.
    assert f.vertices[263, 0] > 0 > f.vertices[33, 0]
    assert f.vertices[10, 1] - f.vertices[152, 1] > 0.15, "forehead to chin, m"
    # The sellion: on the midline, above the inner eye corners, behind the nose tip.
    s = f.vertices[SELLION_VERTEX]
    assert s[0] == 0 and s[1] > f.vertices[133, 1] and s[2] < f.vertices[4, 2], s


def test_arrays_are_read_only(canonical_face: CanonicalFace) -> None:
    with pytest.raises(ValueError):
        canonical_face.vertices[0, 0] = 1.0


def test_save_and_load_round_trip(canonical_face: CanonicalFace, tmp_path: Path) -> None:
    canonical_face.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        CanonicalFace.file_names().values()
    )
    loaded = CanonicalFace.load(tmp_path)
    for name in CanonicalFace.file_names():
        a, b = getattr(canonical_face, name), getattr(loaded, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name


def test_load_names_the_missing_or_damaged_file(
    canonical_face: CanonicalFace, tmp_path: Path
) -> None:
    with pytest.raises(CheckpointError, match=r"facemesh_canonical_vertices\.npy"):
        CanonicalFace.load(tmp_path)
    canonical_face.save(tmp_path)
    damaged = tmp_path / CanonicalFace.file_names()["triangles"]
    damaged.write_bytes(damaged.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"facemesh_canonical_triangles\.npy"):
        CanonicalFace.load(tmp_path)
    np.save(damaged, np.zeros((5, 4), np.int64))
    with pytest.raises(CheckpointError, match=r"triangles has shape \(5, 4\)"):
        CanonicalFace.load(tmp_path)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _encode_packed(face: CanonicalFace) -> bytes:
    """The same message with packed repeated fields (what proto3-style writers emit)."""
    vertex_buffer = np.column_stack([face.vertices * 100, face.uv]).astype("<f4").tobytes()
    indices = b"".join(_varint(int(i)) for i in face.triangles.ravel())
    mesh = _varint(1 << 3) + _varint(0) + _len_field(3, vertex_buffer) + _len_field(4, indices)
    entries = (
        _varint(1 << 3) + _varint(int(i)) + _varint(2 << 3 | 5) + struct.pack("<f", w)
        for i, w in zip(face.basis_ids, face.basis_weights, strict=True)
    )
    basis = b"".join(_len_field(2, entry) for entry in entries)
    return _len_field(1, mesh) + basis + _varint(3 << 3) + _varint(1)


def test_packed_and_unpacked_encodings_agree(
    canonical_face: CanonicalFace, canonical_metadata: bytes
) -> None:
    packed = _encode_packed(canonical_face)
    # One tag byte less per float and per index: proof that the bundle itself is unpacked.
    saved = len(canonical_metadata) - len(packed)
    assert saved > 468 * 5 + 898 * 3 - 100, f"packing saved only {saved} bytes"
    again = CanonicalFace.from_metadata(packed)
    for name in CanonicalFace.file_names():
        np.testing.assert_allclose(getattr(again, name), getattr(canonical_face, name), rtol=1e-7)


@pytest.mark.parametrize("size", [1, 2, 3, 100, 9000, 19_000, 19_370, 19_375])
def test_truncated_metadata_is_reported(canonical_metadata: bytes, size: int) -> None:
    with pytest.raises(CheckpointError, match=f"truncated \\({size} bytes\\)"):
        CanonicalFace.from_metadata(canonical_metadata[:size])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no canonical_mesh"),
        (b"\x0b\x00", "wire type 3"),  # a group: not in this schema
        (b"\x08\x01", "canonical_mesh has wire type 0"),
        (_len_field(1, _len_field(3, b"\x00" * 6)), "holds 6 bytes"),
        (_len_field(1, _varint(1 << 3) + _varint(2)), "vertex_type is 2"),
        (_len_field(1, _len_field(3, b"\x00" * 20 * 10)), "10 vertices, expected 468"),
    ],
)
def test_malformed_metadata_is_reported(data: bytes, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        CanonicalFace.from_metadata(data)


def test_bad_indices_and_weights_are_reported(canonical_face: CanonicalFace) -> None:
    fields = {name: getattr(canonical_face, name) for name in CanonicalFace.file_names()}
    with pytest.raises(CheckpointError, match="triangles index outside"):
        CanonicalFace(**{**fields, "triangles": fields["triangles"] + 400})
    with pytest.raises(CheckpointError, match="weights must be >= 0"):
        CanonicalFace(**{**fields, "basis_weights": -fields["basis_weights"]})
    with pytest.raises(CheckpointError, match="33 basis ids and 2 weights"):
        CanonicalFace(**{**fields, "basis_weights": fields["basis_weights"][:2]})


def test_read_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="cannot read canonical face metadata"):
        CanonicalFace.read(tmp_path / "nope.binarypb")
