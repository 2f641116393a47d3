"""Loading an official-format TRG checkpoint, with errors a person can act on."""

from __future__ import annotations

import hashlib
import logging
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from trg_ros.core.errors import CheckpointError
from trg_ros.core.model.trg import NUM_SAMPLED_VERTICES, TRGNet

log = logging.getLogger(__name__)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a ``torch.save``d state dict without executing pickled code (``weights_only``)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (
        RuntimeError,
        EOFError,
        OSError,
        zipfile.BadZipFile,
        pickle.UnpicklingError,
        ValueError,
    ) as e:
        raise CheckpointError(
            f"checkpoint {path} ({path.stat().st_size} bytes) cannot be read: it is truncated or "
            f"not a torch state dict ({type(e).__name__}: {str(e).splitlines()[0][:120]})"
        ) from e
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(
            f"checkpoint {path} holds a {type(obj).__name__}, not a state dict of tensors"
        )
    return dict(obj)


def check_state_dict(
    model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str
) -> None:
    """Raise a one-line error naming the first missing/unexpected key or wrong shape."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        raise CheckpointError(
            f"{source} is missing {len(missing)} TRG key(s), first '{missing[0]}': "
            "is this the official TRG state_dict.bin?"
        )
    if unexpected:
        raise CheckpointError(
            f"{source} has {len(unexpected)} key(s) TRG does not know, first '{unexpected[0]}'"
        )
    for key, want in expected.items():
        got = state[key]
        if tuple(got.shape) != tuple(want.shape):
            raise CheckpointError(
                f"{source}: '{key}' has shape {tuple(got.shape)}, TRG expects {tuple(want.shape)}"
            )
        if got.is_floating_point() and not torch.isfinite(got).all():
            raise CheckpointError(f"{source}: '{key}' contains NaN or infinite values")


def weights_digest(state: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over a state dict's names, dtypes, shapes and values, in name order.

    Unlike the file's hash it does not depend on how the file was written (``torch.save``'s
    archive name, pickle protocol), so it recognises a set of weights in any container.
    """
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def load_sampled_vertices(path: str | Path) -> torch.Tensor:
    """The 305 vertex indices (``1220_to_305``) from their ``.npy`` conversion."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"vertex subset file {path} does not exist")
    idx = np.load(path, allow_pickle=False)
    if idx.shape != (NUM_SAMPLED_VERTICES,) or not np.issubdtype(idx.dtype, np.integer):
        raise CheckpointError(
            f"{path} should hold {NUM_SAMPLED_VERTICES} integer indices, "
            f"found {idx.dtype} {idx.shape}"
        )
    return torch.from_numpy(idx.astype(np.int64))


def load_trg(
    weights: str | Path, sampled_vertices: str | Path, device: str | torch.device = "cpu"
) -> TRGNet:
    """Build TRG, load an official-format checkpoint strictly and put it in eval mode."""
    model = TRGNet(load_sampled_vertices(sampled_vertices))
    state = read_state_dict(weights)
    check_state_dict(model, state, str(weights))
    model.load_state_dict(state, strict=True)
    log.info("loaded TRG weights from %s (%d tensors)", weights, len(state))
    return model.eval().to(device)
