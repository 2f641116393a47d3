"""How each runtime runs TRG: PyTorch, onnxruntime, or one for small batches and the other
for large ones. All take the network's four inputs as numpy arrays and return the same
outputs; which one runs is decided in :mod:`.runtime`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from trg_ros.core.device import tf32
from trg_ros.core.model import fast
from trg_ros.core.model.trg import TRGNet

# (B, 3, 3) head -> camera rotations, (B, 3) translations (m), (B, 1220, 3) vertices (m).
Outputs = tuple[np.ndarray, np.ndarray, np.ndarray]
Runner = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], Outputs]


class TorchRunner:
    """TRG in PyTorch on any device and precision (see :mod:`.fast`). On CUDA, fp32 runs
    without TF32 unless ``allow_tf32`` (PyTorch's own default lets cuDNN use it)."""

    name = "torch"

    def __init__(
        self,
        net: TRGNet,
        device: torch.device,
        precision: str,
        channels_last: bool,
        allow_tf32: bool = False,
    ) -> None:
        self.net, self.device, self.precision = net, device, precision
        self.channels_last, self.allow_tf32 = channels_last, allow_tf32

    @torch.inference_mode()
    def __call__(
        self, img: np.ndarray, k_crop: np.ndarray, bbox_info: np.ndarray, pp: np.ndarray
    ) -> Outputs:
        dev = self.device
        x = torch.from_numpy(img).to(dev)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        args = [torch.from_numpy(a).to(dev) for a in (k_crop, bbox_info, pp)]
        with tf32(self.allow_tf32, self.allow_tf32), fast.autocast(dev, self.precision):
            out = self.net(x, *args)
        return tuple(  # type: ignore[return-value]
            t[-1].cpu().numpy().astype(np.float64)
            for t in (out.rotations, out.translations, out.faces_cam)
        )


class OnnxRunner:
    """TRG in onnxruntime (CPU, fp32), from an onnxruntime session of its exported graph."""

    name = "onnxruntime"

    def __init__(self, session: Any) -> None:
        self.session = session

    def __call__(
        self, img: np.ndarray, k_crop: np.ndarray, bbox_info: np.ndarray, pp: np.ndarray
    ) -> Outputs:
        feed = {"img": img, "k_crop": k_crop, "bbox_info": bbox_info, "principal_point": pp}
        rotation, translation, vertices, _ = self.session.run(None, feed)
        return (
            rotation.astype(np.float64),
            translation.astype(np.float64),
            vertices.astype(np.float64),
        )


class SplitRunner:
    """onnxruntime for small batches, PyTorch for larger ones, where each measured faster."""

    def __init__(self, small: Any, large: Any, up_to: int) -> None:
        self.small, self.large, self.up_to = small, large, up_to
        self.name = f"{small.name} up to {up_to} faces, else {large.name}"

    def __call__(
        self, img: np.ndarray, k_crop: np.ndarray, bbox_info: np.ndarray, pp: np.ndarray
    ) -> Outputs:
        runner = self.small if len(img) <= self.up_to else self.large
        return runner(img, k_crop, bbox_info, pp)
