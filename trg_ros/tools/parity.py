"""TRG against the official model's outputs on the shared parity fixture, on any device.

The fixture (``../shared/trg_reference``) holds the official float32 outputs and hooked
intermediates for two cases (``c1``: one crop, ``c2``: two). :func:`case_differences` runs our
network on the same inputs and returns the largest absolute difference per official name; the
parity tests and ``scripts/dev gpu-check`` judge them with :func:`tolerance`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from trg_ros.core.model.checkpoint import load_sampled_vertices
from trg_ros.core.model.trg import TRGNet
from trg_ros.tools.fixture import parity_state_dict

TOL = 1e-4  # the fixture README's "Tolerances": every output and intermediate
TOL_SAMPLE_PX = 1e-2  # ... except the sampled crop pixels
CASES = ("c1", "c2")
INPUTS = ("img", "K_crop", "bbox_info")


def tolerance(key: str) -> float:
    """The fixture's bound for one official output name."""
    return TOL_SAMPLE_PX if "samp_pt" in key else TOL


def load_outputs(reference: Path) -> dict[str, np.ndarray]:
    """Every array of ``trg_parity_outputs.npz`` (inputs ``<case>_in_*`` and outputs)."""
    with np.load(Path(reference) / "trg_parity_outputs.npz") as z:
        return {k: z[k] for k in z.files}


def fixture_model(reference: Path, device: str | torch.device = "cpu") -> TRGNet:
    """The checkpoint-shaped network with the fixture's random weights, in eval mode."""
    reference = Path(reference)
    model = TRGNet(load_sampled_vertices(reference / "converted/arkit_subsample__1220_to_305.npy"))
    model.load_state_dict(parity_state_dict(reference))
    return model.eval().to(device)


def case_inputs(
    ref: dict[str, np.ndarray], case: str, device: str | torch.device = "cpu"
) -> list[torch.Tensor]:
    """(img (B, 3, 192, 192), K_crop (B, 4, 3), bbox_info (B, 7)) of one case on ``device``."""
    return [torch.from_numpy(ref[f"{case}_in_{k}"]).to(device) for k in INPUTS]


def run_case(model: TRGNet, ref: dict[str, np.ndarray], case: str) -> dict[str, np.ndarray]:
    """Official-named outputs and hooked intermediates of ``model`` (an eager, checkpoint-shaped
    :class:`TRGNet` on any device) for one fixture case, as float32 numpy arrays."""
    captured: dict[str, torch.Tensor] = {}
    hooks = [
        model.feature_extractor.register_forward_hook(
            lambda m, i, o: captured.__setitem__("backbone_6x6", o)
        ),
    ]
    for name, idx in (("deconv_12x12", 2), ("deconv_24x24", 5), ("deconv_48x48", 8)):
        hooks.append(
            model.deconv_layers[idx].register_forward_hook(
                lambda m, i, o, n=name: captured.__setitem__(n, o.clone())
            )
        )
    for it in range(3):
        hooks.append(
            model.laf_extractor[it].register_forward_hook(
                lambda m, i, o, n=it + 1: captured.__setitem__(f"iter{n}_point_feat", o)
            )
        )
        hooks.append(
            model.regressor[it].fc1.register_forward_hook(
                lambda m, i, o, n=it + 1: captured.__setitem__(f"iter{n}_regressor_input", i[0])
            )
        )
    device = next(model.parameters()).device
    try:
        with torch.inference_mode():
            out = model(*case_inputs(ref, case, device))
    finally:
        for h in hooks:
            h.remove()

    def np_(t: torch.Tensor) -> np.ndarray:
        return t.detach().cpu().numpy()

    got = {k: np_(v) for k, v in captured.items()}
    got["deconv_24x24_ch0to15"] = got.pop("deconv_24x24")[:, :16]
    got["deconv_48x48_ch0to3"] = got.pop("deconv_48x48")[:, :4]
    faces_cam = out.faces_cam
    for n in range(4):
        got[f"iter{n}_pred_face_world"] = np_(out.faces[n])
        got[f"iter{n}_pred_pose"] = np_(out.poses[n])
    for n in range(1, 4):
        rt = np.zeros((out.poses[n].shape[0], 4, 4), np.float32)
        rt[:, :3, :3] = np_(out.rotations[n - 1]).transpose(0, 2, 1)
        rt[:, 3, :3] = np_(out.translations[n - 1])
        rt[:, 3, 3] = 1
        got[f"iter{n}_pred_R_t"] = rt
        got[f"iter{n}_pred_face_cam"] = np_(faces_cam[n - 1])
        got[f"iter{n}_pred_cor_param"] = np_(out.poses[n][:, 6:])
    got["iter2_samp_pt"] = np_(out.sample_points[0])
    got["iter3_samp_pt"] = np_(out.sample_points[1])
    got["pred_lmk68"] = np_(out.landmarks_68)
    got["final_face_cam"] = np_(faces_cam[-1])
    got["final_face_world"] = np_(out.faces[-1])
    got["final_R"] = np_(out.rotations[-1])
    got["final_t"] = np_(out.translations[-1])
    return got


def case_differences(
    model: TRGNet, ref: dict[str, np.ndarray], case: str, landmark_vertices: np.ndarray
) -> dict[str, float]:
    """Largest absolute difference per official output name for one case.

    Args:
        model: eager :class:`TRGNet` holding the fixture weights, on any device.
        ref: :func:`load_outputs`.
        case: ``c1`` or ``c2``.
        landmark_vertices: (68,) iBUG-68 vertex indices (``upstream/npy__kpt_ind.npy``).

    Raises:
        ValueError: our outputs do not have the official names or shapes.
    """
    got = run_case(model, ref, case)
    got["final_lmk68_3d_cam"] = got["final_face_cam"][:, landmark_vertices]
    expected = {
        k[len(case) + 1 :]: v
        for k, v in ref.items()
        if k.startswith(case + "_") and "_in_" not in k
    }
    if set(expected) != set(got):
        raise ValueError(f"{case}: output names differ: {sorted(set(expected) ^ set(got))}")
    diffs = {}
    for key, want in expected.items():
        if got[key].shape != want.shape:
            raise ValueError(f"{case} {key}: shape {got[key].shape}, official {want.shape}")
        diffs[key] = float(np.abs(got[key].astype(np.float64) - want).max())
    return diffs


def final_differences(
    net: TRGNet, ref: dict[str, np.ndarray], case: str, channels_last: bool = False
) -> dict[str, float]:
    """Largest difference of the final rotation, translation and camera-frame mesh for one
    case: for networks whose modules no longer match the checkpoint (the folded copy of
    :func:`trg_ros.core.model.fast.optimise`, fed channels-last as the estimator feeds it)."""
    img, k_crop, bbox_info = case_inputs(ref, case, next(net.parameters()).device)
    if channels_last:
        img = img.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        out = net(img, k_crop, bbox_info)
    got = {
        "final_R": out.rotations[-1],
        "final_t": out.translations[-1],
        "final_face_cam": out.faces_cam[-1],
    }
    return {
        k: float(np.abs(v.cpu().numpy().astype(np.float64) - ref[f"{case}_{k}"]).max())
        for k, v in got.items()
    }
