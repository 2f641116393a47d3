"""Decoding TRG's raw pose vector into rotation, translation and pixels.

Everything here runs in float32 whatever precision the network runs in: the 6-D to rotation
step, the translation recovery and the projection that feeds ``grid_sample`` are the places
where half precision costs accuracy (SPEC §2.6). The inputs are cast with ``.float()``, and
:class:`~trg_ros.core.model.trg.TRGNet` calls these with autocast switched off, which would
otherwise run the matrix products in bf16/fp16.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Metric width of the face box that TRG's translation parameters are relative to (SPEC §2.6).
PHYSICAL_BOX_WIDTH = 0.2
# 6-D identity rotation followed by s = 1 and tau = 0.
IDENTITY_POSE = torch.tensor([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]])


def image_centre(bbox_info: torch.Tensor) -> torch.Tensor:
    """(B, 2) image centre (W/2, H/2) from ``[l, t, r, b, f, H, W]``: the official assumption."""
    return torch.stack([bbox_info[:, 6] / 2.0, bbox_info[:, 5] / 2.0], 1)


def box_features(bbox_info: torch.Tensor, principal_point: torch.Tensor) -> torch.Tensor:
    """(B, 3) box position fed to every regressor: centre offset and width, over f."""
    left, top, right, bottom, focal = bbox_info[:, :5].float().unbind(1)
    cx, cy = (left + right) / 2.0, (top + bottom) / 2.0
    pp = principal_point.float()
    return torch.stack(
        [4.0 * (cx - pp[:, 0]) / focal, 4.0 * (cy - pp[:, 1]) / focal, (right - left) / focal], 1
    )


def rotation_from_6d(six: torch.Tensor) -> torch.Tensor:
    """(B, 6) -> (B, 3, 3) proper rotations by Gram-Schmidt on the two columns of a 3x2 matrix.

    The official code calls ``torch.cross`` without ``dim``, which crosses over the batch when
    B = 3 (SPEC §5.1). We cross along the vector axis, so B = 3 gives the per-sample answer the
    network was trained for, not the official batched result.
    """
    m = six.float().reshape(-1, 3, 2)
    b1 = F.normalize(m[:, :, 0], dim=1, eps=1e-12)
    a2 = m[:, :, 1]
    b2 = F.normalize(a2 - (b1 * a2).sum(1, keepdim=True) * b1, dim=1, eps=1e-12)
    b3 = torch.linalg.cross(b1, b2, dim=1)
    return torch.stack([b1, b2, b3], dim=2)


def translation_from_pose(
    pose: torch.Tensor, bbox_info: torch.Tensor, principal_point: torch.Tensor
) -> torch.Tensor:
    """(B, 3) camera-frame translation in m from (s, tau_x, tau_y) and the face box."""
    scale, tau_x, tau_y = pose[:, 6:9].float().unbind(1)
    left, top, right, bottom, focal = bbox_info[:, :5].float().unbind(1)
    width = right - left
    depth_ratio = PHYSICAL_BOX_WIDTH * scale / width
    pp = principal_point.float()
    tx = 0.5 * PHYSICAL_BOX_WIDTH * scale * tau_x + depth_ratio * ((left + right) / 2 - pp[:, 0])
    ty = 0.5 * PHYSICAL_BOX_WIDTH * scale * tau_y + depth_ratio * ((top + bottom) / 2 - pp[:, 1])
    return torch.stack([tx, ty, depth_ratio * focal], 1)


def decode_pose(
    pose: torch.Tensor, bbox_info: torch.Tensor, principal_point: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 9) pose vector -> rotation (B, 3, 3) head->camera and translation (B, 3) in m."""
    return rotation_from_6d(pose[:, :6]), translation_from_pose(pose, bbox_info, principal_point)


def to_camera(
    points: torch.Tensor, rotation: torch.Tensor, translation: torch.Tensor
) -> torch.Tensor:
    """(B, N, 3) head-frame points -> camera frame: R v + t."""
    return points.float() @ rotation.transpose(1, 2) + translation.unsqueeze(1)


def project(
    points: torch.Tensor, rotation: torch.Tensor, translation: torch.Tensor, k_crop: torch.Tensor
) -> torch.Tensor:
    """(B, N, 3) head-frame points -> (B, N, 2) crop pixels through the (B, 4, 3) crop K."""
    cam = to_camera(points, rotation, translation)
    k = k_crop.float()
    uvw = cam @ k[:, :3] + k[:, 3:4]
    return uvw[..., :2] / uvw[..., 2:3]


def soft_argmax(logits: torch.Tensor) -> torch.Tensor:
    """(B, K, h, w) heat-map logits -> (B, K, 2) expected (x, y) scaled as i / size * 2 - 1.

    No half-cell offset, as in the official code (SPEC §5.3).
    """
    b, k, h, w = logits.shape
    prob = logits.float().reshape(b, k, h * w).softmax(-1).reshape(b, k, h, w)
    cols = torch.arange(w, device=logits.device, dtype=prob.dtype)
    rows = torch.arange(h, device=logits.device, dtype=prob.dtype)
    x = (prob.sum(2) * cols).sum(-1) / w * 2 - 1
    y = (prob.sum(3) * rows).sum(-1) / h * 2 - 1
    return torch.stack([x, y], -1)
