"""Inference speed-ups that keep TRG's numbers: folded BatchNorm, channels-last, bf16/fp16.

``optimise`` returns a separate copy for inference (its parameter names no longer match the
checkpoint). Precision only changes the convolutional trunk, the deconvolutions and the point
MLPs: :func:`autocast` opens the region around the whole forward, and
:class:`~trg_ros.core.model.trg.TRGNet` switches it off (``trg.float32_only``) around the
regressor's linear layers, the grid-sample coordinates and sampling, the 6-D -> rotation step,
the translation recovery and the landmark head, which therefore stay float32 in every mode.
"""

from __future__ import annotations

import copy
import logging
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import torch
from torch import nn

from trg_ros.core.model.config import PRECISIONS
from trg_ros.core.model.trg import BasicBlock, TRGNet

log = logging.getLogger(__name__)


def cpu_has_bf16() -> bool:
    """True on CPUs with native bf16 matrix support (AVX-512 BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()  # Linux only
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def _fold(conv: nn.Conv2d | nn.ConvTranspose2d, bn: nn.BatchNorm2d) -> None:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    with torch.no_grad():
        if isinstance(conv, nn.ConvTranspose2d):  # weight (in, out, kh, kw)
            conv.weight.mul_(scale.view(1, -1, 1, 1))
        else:  # weight (out, in, kh, kw)
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
        bias = shift if conv.bias is None else conv.bias * scale + shift
        conv.bias = nn.Parameter(bias.detach().clone())


def fold_batchnorm(model: TRGNet) -> TRGNet:
    """Fold every eval-mode BatchNorm into the convolution before it (in place)."""
    trunk = model.feature_extractor
    _fold(trunk.conv1, trunk.bn1)
    trunk.bn1 = nn.Identity()  # type: ignore[assignment]
    for block in trunk.modules():
        if isinstance(block, BasicBlock):
            _fold(block.conv1, block.bn1)
            _fold(block.conv2, block.bn2)
            block.bn1 = block.bn2 = nn.Identity()  # type: ignore[assignment]
            if block.downsample is not None:
                _fold(block.downsample[0], block.downsample[1])
                block.downsample[1] = nn.Identity()
    layers = model.deconv_layers
    for i in (0, 3, 6):
        _fold(layers[i], layers[i + 1])
        layers[i + 1] = nn.Identity()
    return model


def usable_precision(device: torch.device, precision: str) -> str:
    """The precision that runs on ``device``: bf16 falls back to fp32 with a log line on CPUs
    without bf16 support; fp16 needs CUDA."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bf16" and device.type == "cpu" and not cpu_has_bf16():
        log.warning("bf16 requested but this CPU has no AVX-512 BF16/AMX: using fp32")
        return "fp32"
    if precision == "fp16" and device.type != "cuda":
        log.warning("fp16 needs CUDA: using fp32 on %s", device)
        return "fp32"
    return precision


def optimise(model: TRGNet, device: torch.device, precision: str) -> tuple[TRGNet, str]:
    """A copy of ``model`` prepared for fast inference on ``device``.

    Returns the model and the precision actually used (:func:`usable_precision`).
    """
    precision = usable_precision(device, precision)
    fast = fold_batchnorm(copy.deepcopy(model).eval()).to(device)
    fast = fast.to(memory_format=torch.channels_last)
    return fast, precision


def autocast(device: torch.device, precision: str) -> AbstractContextManager[object]:
    """The autocast context for a precision mode (a no-op for fp32)."""
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)
