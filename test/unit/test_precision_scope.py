"""Reduced precision reaches only the trunk, the deconvolutions and the point MLPs.

The regressor's linear layers, the landmark head, the grid-sample coordinates, 6-D -> R and
the translation stay float32 under bf16 (CPU) and fp16 (CUDA) autocast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from trg_ros.core.model import codec, fast
from trg_ros.core.model.checkpoint import load_sampled_vertices, weights_digest
from trg_ros.core.model.trg import TRGNet
from trg_ros.tools.fixture import PARITY_WEIGHTS_DIGEST, is_parity_fixture, parity_state_dict

LOW_PRECISION = ("feature_extractor.", "deconv_layers.", "laf_extractor.")
FLOAT32 = ("regressor.", "predict_68_lmk.")
# bf16 autocast runs on any CPU (emulated where the CPU lacks AVX-512 BF16/AMX, where the
# node falls back to fp32 for speed), so its scope is checked everywhere.
MODES = [
    pytest.param("cpu", "bf16"),
    pytest.param("cuda", "fp16", marks=pytest.mark.gpu),  # skipped without CUDA (conftest)
]


@pytest.fixture(scope="module")
def net(reference: Path) -> TRGNet:
    model = TRGNet(load_sampled_vertices(reference / "converted/arkit_subsample__1220_to_305.npy"))
    model.load_state_dict(parity_state_dict(reference))
    return model.eval()


def test_parity_digest_names_the_fixture_weights(net: TRGNet, reference: Path) -> None:
    assert weights_digest(parity_state_dict(reference)) == PARITY_WEIGHTS_DIGEST
    assert is_parity_fixture(net)
    other = {k: v.clone() for k, v in net.state_dict().items()}
    other["regressor.0.decpose.bias"][0] += 1e-6
    assert weights_digest(other) != PARITY_WEIGHTS_DIGEST


@pytest.mark.parametrize(("device", "precision"), MODES)
def test_reduced_precision_stays_in_its_region(
    net: TRGNet, parity_outputs: dict[str, np.ndarray], device: str, precision: str
) -> None:
    dev = torch.device(device)
    fast_net, used = fast.optimise(net, dev, precision)
    assert used == (precision if dev.type == "cuda" or fast.cpu_has_bf16() else "fp32")
    low = torch.bfloat16 if precision == "bf16" else torch.float16
    seen: dict[str, tuple[list[torch.dtype], torch.dtype]] = {}

    def record(name: str):
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            seen[name] = ([a.dtype for a in args], output.dtype)

        return hook

    layers = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)
    handles = [
        m.register_forward_hook(record(name))
        for name, m in fast_net.named_modules()
        if isinstance(m, layers)
    ]
    img, k_crop, bbox_info = (
        torch.from_numpy(parity_outputs[f"c2_in_{k}"]).to(dev)
        for k in ("img", "K_crop", "bbox_info")
    )
    img = img.contiguous(memory_format=torch.channels_last)
    try:
        with torch.inference_mode(), fast.autocast(dev, precision):
            out = fast_net(img, k_crop, bbox_info)
            faces_cam_inside = out.faces_cam
    finally:
        for h in handles:
            h.remove()

    kept = {n: v for n, v in seen.items() if n.startswith(FLOAT32)}
    lowered = {n: v for n, v in seen.items() if n.startswith(LOW_PRECISION)}
    assert len(kept) == 3 * 4 + 1 and len(seen) == len(kept) + len(lowered), sorted(seen)
    wrong = {
        n: v for n, v in kept.items() if set(v[0]) != {torch.float32} or v[1] != torch.float32
    }
    assert not wrong, f"layers meant to stay float32 saw (inputs, output) dtypes {wrong}"
    # The mode is really in effect where it should be (else the check above proves nothing).
    not_low = {n: v[1] for n, v in lowered.items() if v[1] != low}
    assert not not_low, f"expected {low} outputs, got {not_low}"

    # Decoding and the sampling coordinates: float32, and equal to the same computation done
    # outside autocast on the same pose vectors.
    with torch.inference_mode():
        for i, (pose, rotation, translation) in enumerate(
            zip(out.poses[1:], out.rotations, out.translations, strict=True)
        ):
            r, t = codec.decode_pose(pose, bbox_info.float(), codec.image_centre(bbox_info))
            assert rotation.dtype == translation.dtype == torch.float32
            assert torch.equal(rotation, r) and torch.equal(translation, t), i
        for i, uv in enumerate(out.sample_points):
            vertices = out.faces[i + 1][:, fast_net.sampled_vertices]
            want = codec.project(vertices, out.rotations[i], out.translations[i], k_crop)
            assert uv.dtype == torch.float32, (i, uv.dtype)
            err = (uv - want).abs().max().item()
            assert err == 0.0, f"iteration {i + 2} sample points differ by {err} px"
        assert out.landmarks_68.dtype == torch.float32
        for a, b in zip(faces_cam_inside, out.faces_cam, strict=True):
            assert a.dtype == torch.float32 and torch.equal(a, b)
