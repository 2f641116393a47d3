"""Just enough of a TFLite flatbuffer reader to lift a small CNN's graph and weights.

Reads the model format directly (the schema's field numbers are public facts), so converting
a ``.tflite`` file needs neither TensorFlow nor a TFLite runtime. Only what the converters
in this package use is decoded: tensors with constant data, operators with their builtin
options, and the subgraph's inputs and outputs.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trg_ros.core.errors import TRGError

# BuiltinOperator codes used by the networks we convert (image CNNs, the blendshape mixer).
OPCODES = {
    0: "ADD",
    2: "CONCATENATION",
    3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D",
    6: "DEQUANTIZE",
    14: "LOGISTIC",
    17: "MAX_POOL_2D",
    19: "RELU",
    18: "MUL",
    22: "RESHAPE",
    23: "RESIZE_BILINEAR",
    34: "PAD",
    39: "TRANSPOSE",
    40: "MEAN",
    41: "SUB",
    42: "DIV",
    45: "STRIDED_SLICE",
    54: "PRELU",
    59: "NEG",
    74: "SUM",
    75: "SQRT",
    76: "RSQRT",
    99: "SQUARED_DIFFERENCE",
}
# TensorType -> numpy dtype.
DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}
# Builtin options: field index -> (name, struct format), per operator.
_CONV = {
    0: ("padding", "b"),
    1: ("stride_w", "i"),
    2: ("stride_h", "i"),
    3: ("activation", "b"),
    4: ("dilation_w", "i"),
    5: ("dilation_h", "i"),
}
_DEPTHWISE = {
    0: ("padding", "b"),
    1: ("stride_w", "i"),
    2: ("stride_h", "i"),
    3: ("depth_multiplier", "i"),
    4: ("activation", "b"),
    5: ("dilation_w", "i"),
    6: ("dilation_h", "i"),
}
_POOL = {
    0: ("padding", "b"),
    1: ("stride_w", "i"),
    2: ("stride_h", "i"),
    3: ("filter_w", "i"),
    4: ("filter_h", "i"),
    5: ("activation", "b"),
}
_OPTIONS = {
    "CONV_2D": _CONV,
    "DEPTHWISE_CONV_2D": _DEPTHWISE,
    "MAX_POOL_2D": _POOL,
    "ADD": {0: ("activation", "b")},
    "RESIZE_BILINEAR": {2: ("align_corners", "?"), 3: ("half_pixel_centers", "?")},
    "CONCATENATION": {0: ("axis", "i"), 1: ("activation", "b")},
    "MUL": {0: ("activation", "b")},
    "SUB": {0: ("activation", "b")},
    "DIV": {0: ("activation", "b")},
    "MEAN": {0: ("keep_dims", "?")},
    "SUM": {0: ("keep_dims", "?")},
    "STRIDED_SLICE": {
        0: ("begin_mask", "i"),
        1: ("end_mask", "i"),
        2: ("ellipsis_mask", "i"),
        3: ("new_axis_mask", "i"),
        4: ("shrink_axis_mask", "i"),
    },
}


class TFLiteError(TRGError):
    """The file is not a TFLite model this reader understands."""


class _Table:
    """A flatbuffer table: fields are read lazily through its vtable."""

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.pos = buf, pos
        vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vt_len = struct.unpack_from("<H", buf, vtable)[0]
        self.vtable = vtable

    def _offset(self, index: int) -> int:
        slot = 4 + 2 * index
        if slot >= self.vt_len:
            return 0
        return struct.unpack_from("<H", self.buf, self.vtable + slot)[0]

    def scalar(self, index: int, fmt: str, default: Any = 0) -> Any:
        off = self._offset(index)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + off)[0] if off else default

    def _indirect(self, index: int) -> int | None:
        off = self._offset(index)
        if not off:
            return None
        at = self.pos + off
        return at + struct.unpack_from("<I", self.buf, at)[0]

    def table(self, index: int) -> _Table | None:
        at = self._indirect(index)
        return None if at is None else _Table(self.buf, at)

    def string(self, index: int) -> str:
        at = self._indirect(index)
        if at is None:
            return ""
        n = struct.unpack_from("<I", self.buf, at)[0]
        return self.buf[at + 4 : at + 4 + n].decode()

    def vector(self, index: int, fmt: str) -> list[Any]:
        at = self._indirect(index)
        if at is None:
            return []
        n = struct.unpack_from("<I", self.buf, at)[0]
        return list(struct.unpack_from(f"<{n}{fmt}", self.buf, at + 4))

    def bytes_vector(self, index: int) -> bytes:
        at = self._indirect(index)
        if at is None:
            return b""
        n = struct.unpack_from("<I", self.buf, at)[0]
        return self.buf[at + 4 : at + 4 + n]

    def tables(self, index: int) -> list[_Table]:
        at = self._indirect(index)
        if at is None:
            return []
        n = struct.unpack_from("<I", self.buf, at)[0]
        out = []
        for i in range(n):
            elem = at + 4 + 4 * i
            out.append(_Table(self.buf, elem + struct.unpack_from("<I", self.buf, elem)[0]))
        return out


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: type
    data: np.ndarray | None  # constant data, None for activations


@dataclass
class Operator:
    op: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]

    def constants(self) -> dict[int, np.ndarray]:
        """The tensors with data (weights, constants) by index, fp16 ones as float32."""
        return {
            i: t.data.astype(np.float32) if t.data.dtype == np.float16 else t.data
            for i, t in enumerate(self.tensors)
            if t.data is not None
        }


def read_graph(data: bytes) -> Graph:
    """Parse the first subgraph of a ``.tflite`` file."""
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TFLiteError("not a TFLite model (missing the TFL3 identifier)")
    model = _Table(data, struct.unpack_from("<I", data, 0)[0])
    codes = []
    for code in model.tables(1):
        builtin = max(code.scalar(0, "b"), code.scalar(3, "i"))  # deprecated and new fields
        codes.append(OPCODES.get(builtin, f"BUILTIN_{builtin}"))
    buffers = [b.bytes_vector(0) for b in model.tables(4)]
    subgraphs = model.tables(2)
    if not subgraphs:
        raise TFLiteError("model has no subgraph")
    sub = subgraphs[0]
    tensors = []
    for t in sub.tables(0):
        shape = tuple(t.vector(0, "i"))
        dtype = DTYPES.get(t.scalar(1, "b"))
        if dtype is None:
            raise TFLiteError(f"tensor {t.string(3)!r} has an unsupported type {t.scalar(1, 'b')}")
        raw = buffers[t.scalar(2, "I")] if t.scalar(2, "I") < len(buffers) else b""
        const = np.frombuffer(raw, dtype=dtype).reshape(shape).copy() if raw else None
        tensors.append(Tensor(t.string(3), shape, dtype, const))
    operators = []
    for o in sub.tables(3):
        name = codes[o.scalar(0, "I")]
        options: dict[str, Any] = {}
        spec = _OPTIONS.get(name)
        opt_table = o.table(4) if spec else None
        if spec and opt_table is not None:
            options = {key: opt_table.scalar(i, fmt) for i, (key, fmt) in spec.items()}
        operators.append(Operator(name, o.vector(1, "i"), o.vector(2, "i"), options))
    return Graph(tensors, operators, sub.vector(1, "i"), sub.vector(2, "i"))
