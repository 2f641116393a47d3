"""TFLite graphs on non-image tensors (MediaPipe's blendshape network, an MLP-Mixer over 146
landmarks) as a PyTorch module that computes in the TFLite layout as it is.

The image converter (:mod:`.convert`) moves NHWC feature maps to NCHW; here no tensor is an
image, so every op runs on the graph's own shapes, batch first: 1x1 convolutions are matrix
products over the last axis, and shapes fixed to a batch of one in the graph (RESHAPE, the
final STRIDED_SLICE) take the batch of the input instead. Supported: CONV_2D (1x1, stride 1),
ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE (either operand constant), MEAN, SUM, SQRT, RSQRT, NEG,
LOGISTIC, RESHAPE, TRANSPOSE (batch axis first), STRIDED_SLICE (unit strides), CONCATENATION.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trg_ros.core.tflite.reader import Graph, TFLiteError

BINARY = ("ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE")
UNARY = ("SQRT", "RSQRT", "NEG", "LOGISTIC")


def _strided_slice(spec: dict[str, Any], op: Any, consts: dict, shape: tuple) -> None:
    begin, end, strides = (consts[i].astype(int).tolist() for i in op.inputs[1:4])
    if (
        any(s != 1 for s in strides)
        or op.options.get("ellipsis_mask", 0)
        or op.options.get("new_axis_mask", 0)
    ):
        raise TFLiteError("STRIDED_SLICE: only unit strides without ellipsis/new axes")
    bm, em = op.options.get("begin_mask", 0), op.options.get("end_mask", 0)
    shrink = op.options.get("shrink_axis_mask", 0)
    slices = []
    for axis in range(len(shape)):
        if axis == 0:  # the batch axis: kept whole (the graph slices its only element)
            slices.append([None, None])
            continue
        b = None if bm >> axis & 1 else begin[axis]
        e = None if em >> axis & 1 else end[axis]
        if shrink >> axis & 1:
            e = b + 1 if b != -1 else None
        slices.append([b, e])
    spec["slices"] = slices
    spec["squeeze"] = [a for a in range(1, len(shape)) if shrink >> a & 1]


def sequence_layers(graph: Graph) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Lower the graph to layer specs (tensor ids) and weights, constants included."""
    consts = graph.constants()
    layers: list[dict[str, Any]] = []
    weights: dict[str, np.ndarray] = {}

    def constant(tensor: int) -> str:
        name = f"c{tensor}"
        weights[name] = np.asarray(consts[tensor], np.float32)
        return name

    for op in graph.operators:
        ins, out = op.inputs, op.outputs[0]
        if op.op == "DEQUANTIZE":
            consts[out] = consts[ins[0]].astype(np.float32)
            continue
        spec: dict[str, Any] = {"op": op.op, "out": out, "in": [i for i in ins if i not in consts]}
        shape = graph.tensors[ins[0]].shape
        if op.op == "CONV_2D":
            kernel = consts[ins[1]]
            if kernel.shape[1:3] != (1, 1) or op.options["stride_h"] != 1:
                raise TFLiteError("CONV_2D on sequences: only 1x1, stride 1")
            spec["w"], spec["b"] = constant(ins[1]), constant(ins[2])
            weights[spec["w"]] = weights[spec["w"]].reshape(kernel.shape[0], -1)
            spec["act"] = op.options.get("activation", 0) == 1
            spec["in"] = [ins[0]]
        elif op.op in BINARY:
            spec["operands"] = [constant(i) if i in consts else i for i in ins]
            if op.options.get("activation", 0):
                raise TFLiteError(f"{op.op}: fused activations are not supported here")
        elif op.op in ("MEAN", "SUM"):
            spec["axes"] = [int(a) for a in np.atleast_1d(consts[ins[1]])]
            spec["keep"] = len(graph.tensors[out].shape) == len(shape)
        elif op.op == "RESHAPE":
            spec["shape"] = list(graph.tensors[out].shape)
        elif op.op == "TRANSPOSE":
            spec["perm"] = [int(a) for a in consts[ins[1]]]
            if spec["perm"][0] != 0:
                raise TFLiteError("TRANSPOSE: the batch axis must stay first")
        elif op.op == "STRIDED_SLICE":
            _strided_slice(spec, op, consts, shape)
        elif op.op == "CONCATENATION":
            spec["axis"] = op.options["axis"]
            spec["operands"] = [constant(i) if i in consts else i for i in ins]
        elif op.op not in UNARY:
            raise TFLiteError(f"operator {op.op} is not supported by the sequence converter")
        layers.append(spec)
    return layers, weights


class SequenceNet(nn.Module):
    """Runs :func:`sequence_layers` output on (B, ...) inputs in the TFLite layout."""

    layout = "tflite"

    def __init__(
        self, layers: list[dict[str, Any]], inputs: list[int], outputs: list[int]
    ) -> None:
        super().__init__()
        self.layers, self.inputs, self.outputs = layers, inputs, outputs
        self.consts = nn.ParameterDict()

    def load_weights(self, weights: dict[str, np.ndarray]) -> None:
        for name, value in weights.items():
            data = torch.from_numpy(np.ascontiguousarray(value))
            self.consts[name] = nn.Parameter(data, requires_grad=False)

    def _operand(self, values: dict[int, torch.Tensor], ref: int | str) -> torch.Tensor:
        return self.consts[ref] if isinstance(ref, str) else values[ref]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        values: dict[int, torch.Tensor] = {self.inputs[0]: x}
        batch = x.shape[0]
        for spec in self.layers:
            op = spec["op"]
            a = values[spec["in"][0]] if spec["in"] else None
            if op == "CONV_2D":
                y = F.linear(a, self.consts[spec["w"]], self.consts[spec["b"]])
                y = F.relu(y) if spec["act"] else y
            elif op in BINARY:
                p, q = (self._operand(values, r) for r in spec["operands"])
                y = {
                    "ADD": torch.add,
                    "SUB": torch.sub,
                    "MUL": torch.mul,
                    "DIV": torch.div,
                    "SQUARED_DIFFERENCE": lambda u, v: (u - v) ** 2,
                }[op](p, q)
            elif op in ("MEAN", "SUM"):
                reduce = torch.mean if op == "MEAN" else torch.sum
                y = reduce(a, dim=spec["axes"], keepdim=spec["keep"])
            elif op == "SQRT":
                y = torch.sqrt(a)
            elif op == "RSQRT":
                y = torch.rsqrt(a)
            elif op == "NEG":
                y = -a
            elif op == "LOGISTIC":
                y = torch.sigmoid(a)
            elif op == "RESHAPE":
                y = a.reshape(batch, *spec["shape"][1:])
            elif op == "TRANSPOSE":
                y = a.permute(*spec["perm"])
            elif op == "STRIDED_SLICE":
                y = a[tuple(slice(b, e) for b, e in spec["slices"])]
                y = y.squeeze(spec["squeeze"]) if spec["squeeze"] else y
            else:  # CONCATENATION: constants (made for a batch of one) follow the batch
                parts = [self._operand(values, r) for r in spec["operands"]]
                parts = [p.expand(batch, *p.shape[1:]) if p.shape[0] != batch else p
                         for p in parts]  # fmt: skip
                y = torch.cat(parts, dim=spec["axis"])
            values[spec["out"]] = y
        return [values[i] for i in self.outputs]
