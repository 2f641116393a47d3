"""A TFLite CNN graph turned into a PyTorch module, saved as one ``.npz`` without pickles.

The conversion runs once (at asset install); loading reads the ``.npz`` back. Supported ops
are those MediaPipe's BlazeFace and FaceMesh v2 use: CONV_2D, DEPTHWISE_CONV_2D, ADD, RELU,
PRELU, LOGISTIC, MAX_POOL_2D, channel PAD, RESIZE_BILINEAR and RESHAPE, with DEQUANTIZE folded
into float32 constants. A graph whose input is no image (not 4-D) is converted by
:mod:`.sequence` instead.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trg_ros.core.tflite.reader import Graph, TFLiteError, read_graph
from trg_ros.core.tflite.sequence import SequenceNet, sequence_layers

SAME, VALID = 0, 1


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow SAME padding: the extra pixel goes after, not before."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _activation(options: dict[str, Any], op: str) -> str:
    act = options.get("activation", 0)
    if act not in (0, 1):
        raise TFLiteError(f"{op}: fused activation {act} is not supported")
    return "relu" if act == 1 else ""


def graph_to_layers(graph: Graph) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Lower the TFLite graph to a list of layer specs (tensor ids as ints) and weights."""
    consts = graph.constants()
    layers: list[dict[str, Any]] = []
    weights: dict[str, np.ndarray] = {}
    for op in graph.operators:
        ins, out = op.inputs, op.outputs[0]
        if op.op == "DEQUANTIZE":
            consts[out] = consts[ins[0]].astype(np.float32)
            continue
        spec: dict[str, Any] = {"op": op.op, "in": [i for i in ins if i not in consts], "out": out}
        if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            kernel, bias = consts[ins[1]], consts[ins[2]]
            if op.op == "CONV_2D":  # OHWI -> OIHW
                w = kernel.transpose(0, 3, 1, 2)
                spec["groups"] = 1
            else:  # 1HWC -> C1HW
                w = kernel.transpose(3, 0, 1, 2)
                spec["groups"] = w.shape[0]
            name = f"l{len(layers)}"
            weights[name + ".weight"], weights[name + ".bias"] = w, bias
            in_h, in_w = graph.tensors[ins[0]].shape[1:3]
            kh, kw = w.shape[2:]
            sh, sw = op.options["stride_h"], op.options["stride_w"]
            if op.options["padding"] == SAME:
                spec["pad"] = [*_same_pad(in_w, kw, sw), *_same_pad(in_h, kh, sh)]
            else:
                spec["pad"] = [0, 0, 0, 0]
            spec.update(name=name, stride=[sh, sw], act=_activation(op.options, op.op))
        elif op.op == "MAX_POOL_2D":
            if op.options["padding"] != SAME and op.options["padding"] != VALID:
                raise TFLiteError("MAX_POOL_2D: unknown padding")
            in_h, in_w = graph.tensors[ins[0]].shape[1:3]
            k, s = (
                [op.options["filter_h"], op.options["filter_w"]],
                [op.options["stride_h"], op.options["stride_w"]],
            )
            pad = [*_same_pad(in_w, k[1], s[1]), *_same_pad(in_h, k[0], s[0])]
            spec.update(kernel=k, stride=s, pad=pad if op.options["padding"] == SAME else [0] * 4)
        elif op.op == "PAD":
            pads = consts[ins[1]]
            if pads[:3].any():
                raise TFLiteError("PAD: only channel padding is supported")
            spec["channels"] = [int(pads[3, 0]), int(pads[3, 1])]
        elif op.op == "RESIZE_BILINEAR":
            spec["size"] = [int(v) for v in consts[ins[1]]]
            spec["align_corners"] = bool(op.options.get("align_corners", False))
            if not spec["align_corners"] and not op.options.get("half_pixel_centers", False):
                raise TFLiteError("RESIZE_BILINEAR without half-pixel centres is not supported")
        elif op.op == "RESHAPE":
            spec["shape"] = list(graph.tensors[out].shape)
        elif op.op == "ADD":
            spec["act"] = _activation(op.options, op.op)
        elif op.op == "PRELU":
            alpha = consts[ins[1]]
            if any(n != 1 for n in alpha.shape[:-1]):
                raise TFLiteError(f"PRELU: slopes {alpha.shape} are not per channel")
            spec["name"] = f"l{len(layers)}"
            weights[spec["name"] + ".alpha"] = alpha.reshape(-1)
        elif op.op not in ("RELU", "LOGISTIC"):
            raise TFLiteError(f"operator {op.op} is not supported by the converter")
        layers.append(spec)
    return layers, weights


class ConvertedNet(nn.Module):
    """Runs converted layers in NCHW; outputs are returned in the TFLite (NHWC) layout."""

    layout = "nchw"  # the input is permuted from NHWC by the caller

    def __init__(
        self, layers: list[dict[str, Any]], inputs: list[int], outputs: list[int]
    ) -> None:
        super().__init__()
        self.layers, self.inputs, self.outputs = layers, inputs, outputs
        # A RESHAPE already yields the TFLite layout; every other output is an NCHW feature map.
        reshaped = {spec["out"] for spec in layers if spec["op"] == "RESHAPE"}
        self._to_nhwc = [i not in reshaped for i in outputs]
        uses: dict[int, int] = {}
        for spec in layers:
            for i in spec["in"]:
                uses[i] = uses.get(i, 0) + 1
        # A RELU may overwrite its input when nothing else reads that tensor.
        self._inplace = [
            spec["op"] == "RELU" and uses[spec["in"][0]] == 1 and spec["in"][0] not in outputs
            for spec in layers
        ]
        self.convs = nn.ModuleDict()
        self.slopes = nn.ParameterDict()

    def load_weights(self, weights: dict[str, np.ndarray]) -> None:
        for spec in self.layers:
            if spec["op"] == "PRELU":
                alpha = torch.from_numpy(np.ascontiguousarray(weights[spec["name"] + ".alpha"]))
                self.slopes[spec["name"]] = nn.Parameter(alpha, requires_grad=False)
                continue
            if "groups" not in spec:
                continue
            w = torch.from_numpy(np.ascontiguousarray(weights[spec["name"] + ".weight"]))
            b = torch.from_numpy(np.ascontiguousarray(weights[spec["name"] + ".bias"]))
            # Symmetric SAME padding goes into the convolution itself (no padded copy).
            left, right, top, bottom = spec["pad"]
            symmetric = left == right and top == bottom
            conv = nn.Conv2d(
                w.shape[1] * spec["groups"],
                w.shape[0],
                tuple(w.shape[2:]),
                tuple(spec["stride"]),
                padding=(top, left) if symmetric else 0,
                groups=spec["groups"],
            )
            spec["pre_pad"] = [] if symmetric else spec["pad"]
            with torch.no_grad():
                conv.weight.copy_(w)
                conv.bias.copy_(b)
            self.convs[spec["name"]] = conv

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, C, H, W) input -> outputs shaped as in the TFLite graph (batch first)."""
        values: dict[int, torch.Tensor] = {self.inputs[0]: x}
        for spec, inplace in zip(self.layers, self._inplace, strict=True):
            a = values[spec["in"][0]]
            op = spec["op"]
            if "groups" in spec:
                y = self.convs[spec["name"]](F.pad(a, spec["pre_pad"]) if spec["pre_pad"] else a)
                y = F.relu_(y) if spec["act"] else y
            elif op == "RELU":
                y = F.relu_(a) if inplace else F.relu(a)
            elif op == "ADD":
                y = a + values[spec["in"][1]]
                y = F.relu_(y) if spec["act"] else y
            elif op == "PRELU":
                y = F.prelu(a, self.slopes[spec["name"]])
            elif op == "LOGISTIC":
                y = torch.sigmoid(a)
            elif op == "MAX_POOL_2D":
                padded = F.pad(a, spec["pad"], value=-math.inf) if any(spec["pad"]) else a
                y = F.max_pool2d(padded, spec["kernel"], spec["stride"])
            elif op == "PAD":
                y = F.pad(a, [0, 0, 0, 0, *spec["channels"]])
            elif op == "RESIZE_BILINEAR":
                y = F.interpolate(
                    a, size=spec["size"], mode="bilinear", align_corners=spec["align_corners"]
                )
            else:  # RESHAPE of an NHWC tensor
                y = a.permute(0, 2, 3, 1).reshape(a.shape[0], *spec["shape"][1:])
            values[spec["out"]] = y
        return [
            values[i].permute(0, 2, 3, 1) if nhwc else values[i]
            for i, nhwc in zip(self.outputs, self._to_nhwc, strict=True)
        ]


def convert_tflite(tflite: Path, out: Path) -> None:
    """Convert a ``.tflite`` file into the ``.npz`` that :func:`load_converted` reads."""
    graph = read_graph(Path(tflite).read_bytes())
    image = len(graph.tensors[graph.inputs[0]].shape) == 4
    layers, weights = graph_to_layers(graph) if image else sequence_layers(graph)
    meta = json.dumps(
        {
            "layers": layers,
            "inputs": graph.inputs,
            "outputs": graph.outputs,
            "layout": ConvertedNet.layout if image else SequenceNet.layout,
        }
    )
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, __graph__=np.array(meta), **weights)
    tmp.replace(out)


def load_converted(path: Path) -> ConvertedNet | SequenceNet:
    """Build the PyTorch module from a converted ``.npz`` (no pickle involved)."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["__graph__"]))
        weights = {k: z[k] for k in z.files if k != "__graph__"}
    kind = SequenceNet if meta.get("layout") == SequenceNet.layout else ConvertedNet
    net = kind(meta["layers"], meta["inputs"], meta["outputs"])
    net.load_weights(weights)
    return net.eval()
