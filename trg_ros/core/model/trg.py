"""The TRG network (Chun & Chang, ECCV 2024), written from shared/trg_reference/SPEC.md.

Module and buffer names follow the official checkpoint exactly, so its ``state_dict.bin``
loads with ``strict=True``. Decoding of the pose vector lives in :mod:`.codec`; loading and
checking a checkpoint in :mod:`.checkpoint`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from trg_ros.core.model import codec

CROP_SIZE = 192
NUM_VERTICES = 1220
NUM_SAMPLED_VERTICES = 305
GRID_SIDE = 18  # iteration 0 samples an 18 x 18 grid of the 12 x 12 map
POINT_FEATURES = 5
NUM_LANDMARKS = 68
FEATURE_CHANNELS = 256
NUM_ITERATIONS = 3


@dataclass(frozen=True)
class TRGOutput:
    """Everything one forward pass produces.

    ``faces[i]`` / ``poses[i]`` are the state after regressor ``i - 1`` (index 0 is the
    template). ``rotations``/``translations``/``faces_cam`` have one entry per iteration.
    """

    faces: list[torch.Tensor]  # (B, 1220, 3) TRG head frame, m
    poses: list[torch.Tensor]  # (B, 9): 6-D rotation, s, tau_x, tau_y
    rotations: list[torch.Tensor]  # (B, 3, 3) head -> camera, column-vector convention
    translations: list[torch.Tensor]  # (B, 3) camera optical frame, m
    sample_points: list[torch.Tensor]  # (B, 305, 2) crop px sampled before iterations 2, 3
    landmarks_68: torch.Tensor  # (B, 68, 2) soft-argmax, normalised to [-1, 1] over the crop

    @property
    def faces_cam(self) -> list[torch.Tensor]:
        """Camera-frame vertices (B, 1220, 3) in m after each iteration (float32 also when
        read inside an autocast region)."""
        with float32_only(self.faces[0].device):
            return [
                codec.to_camera(v, r, t)
                for v, r, t in zip(self.faces[1:], self.rotations, self.translations, strict=True)
            ]


class BasicBlock(nn.Module):
    """ResNet basic block; attribute names match torchvision's, as the checkpoint expects."""

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + shortcut)


class ResNet18Trunk(nn.Module):
    """ResNet-18 without pool/fc: (B, 3, 192, 192) -> (B, 512, 6, 6)."""

    layer1: nn.Sequential
    layer2: nn.Sequential
    layer3: nn.Sequential
    layer4: nn.Sequential

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        widths = (64, 128, 256, 512)
        in_ch = 64
        for i, width in enumerate(widths, start=1):
            stride = 1 if i == 1 else 2
            layer = nn.Sequential(BasicBlock(in_ch, width, stride), BasicBlock(width, width, 1))
            self.add_module(f"layer{i}", layer)
            in_ch = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class PointMLP(nn.Module):
    """Per-point 1x1 convolutions with dense skips from the raw sampled features."""

    def __init__(self) -> None:
        super().__init__()
        self.conv0 = nn.Conv1d(FEATURE_CHANNELS, 128, 1)
        self.conv1 = nn.Conv1d(128 + FEATURE_CHANNELS, 64, 1)
        self.conv2 = nn.Conv1d(64 + FEATURE_CHANNELS, POINT_FEATURES, 1)

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        """(B, 256, N) sampled features -> (B, 5 * N), flattened channel-major."""
        h = F.leaky_relu(self.conv0(raw), 0.01)
        h = F.leaky_relu(self.conv1(torch.cat([h, raw], 1)), 0.01)
        h = F.relu(self.conv2(torch.cat([h, raw], 1)))
        return h.flatten(1)


class Regressor(nn.Module):
    """One refinement step: residual updates of the face shape and the pose vector."""

    init_face: torch.Tensor
    init_head_pose: torch.Tensor

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.register_buffer("init_face", torch.zeros(1, NUM_VERTICES, 3))
        self.register_buffer("init_head_pose", codec.IDENTITY_POSE.clone())
        self.fc1 = nn.Linear(in_features, 1024)
        self.fc2 = nn.Linear(1024, 1024)
        self.decshape = nn.Linear(1024, NUM_VERTICES * 3)
        self.decpose = nn.Linear(1024, 9)

    def forward(
        self, x: torch.Tensor, face: torch.Tensor, pose: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # No activation between fc1 and fc2 (SPEC §5.5): kept as the checkpoint was trained.
        h = self.fc2(self.fc1(x))
        face = face + self.decshape(h).view(-1, NUM_VERTICES, 3)
        return face, pose + self.decpose(h)


def float32_only(device: torch.device) -> torch.autocast:
    """Autocast switched off: the regressor, the pose decoding, the sampling coordinates and
    the landmark head compute in float32 whatever precision the caller's autocast asks for.

    Their inputs are cast to float32 explicitly, as autocast leaves a bf16/fp16 tensor as it
    is once it is off. Outside autocast (the fp32 path) this changes nothing.
    """
    return torch.autocast(device.type, enabled=False)


def _default_points_grid() -> torch.Tensor:
    lin = torch.linspace(-1.0, 1.0, GRID_SIDE)
    xs, ys = torch.meshgrid(lin, lin, indexing="ij")  # x varies slowest, y fastest
    return torch.stack([xs.reshape(-1), ys.reshape(-1)]).unsqueeze(0)


class TRGNet(nn.Module):
    """TRG: dense face geometry and 6-DoF pose refined together over three iterations.

    Args:
        sampled_vertices: (305,) int64 indices into the 1220 vertices (official
            ``arkit_subsample.pkl`` key ``1220_to_305``); not part of the checkpoint.
    """

    points_grid: torch.Tensor
    sampled_vertices: torch.Tensor

    def __init__(self, sampled_vertices: torch.Tensor) -> None:
        super().__init__()
        if sampled_vertices.shape != (NUM_SAMPLED_VERTICES,):
            raise ValueError(
                f"sampled_vertices must have shape ({NUM_SAMPLED_VERTICES},), "
                f"got {tuple(sampled_vertices.shape)}"
            )
        self.register_buffer("points_grid", _default_points_grid())
        self.register_buffer("sampled_vertices", sampled_vertices.long(), persistent=False)
        self.feature_extractor = ResNet18Trunk()
        layers: list[nn.Module] = []
        in_ch = 512
        for _ in range(NUM_ITERATIONS):
            layers += [
                nn.ConvTranspose2d(in_ch, FEATURE_CHANNELS, 4, 2, 1, bias=False),
                nn.BatchNorm2d(FEATURE_CHANNELS),
                nn.ReLU(inplace=True),
            ]
            in_ch = FEATURE_CHANNELS
        self.deconv_layers = nn.Sequential(*layers)
        self.laf_extractor = nn.ModuleList(PointMLP() for _ in range(NUM_ITERATIONS))
        grid_points = GRID_SIDE * GRID_SIDE
        state_size = NUM_SAMPLED_VERTICES * 3 + 9 + 3
        self.regressor = nn.ModuleList(
            Regressor(POINT_FEATURES * n + state_size)
            for n in (grid_points, NUM_SAMPLED_VERTICES, NUM_SAMPLED_VERTICES)
        )
        self.predict_68_lmk = nn.Sequential(nn.Conv2d(FEATURE_CHANNELS, NUM_LANDMARKS, 1))

    def forward(
        self,
        img: torch.Tensor,
        k_crop: torch.Tensor,
        bbox_info: torch.Tensor,
        principal_point: torch.Tensor | None = None,
    ) -> TRGOutput:
        """Run the three refinement iterations.

        Args:
            img: (B, 3, 192, 192) ImageNet-normalised RGB crops.
            k_crop: (B, 4, 3) crop intrinsics in the official transposed layout.
            bbox_info: (B, 7) ``[left, top, right, bottom, f, H, W]`` in full-image px.
            principal_point: (B, 2) full-image principal point used by the box features and
                the translation. ``None`` reproduces the official (W/2, H/2) assumption.
        """
        bbox_info = bbox_info.float()
        if principal_point is None:
            principal_point = codec.image_centre(bbox_info)
        beta = codec.box_features(bbox_info, principal_point)
        batch = img.shape[0]

        fmap = self.feature_extractor(img)
        first: Regressor = self.regressor[0]  # type: ignore[assignment]
        face = first.init_face.expand(batch, -1, -1)
        pose = first.init_head_pose.expand(batch, -1)
        out = TRGOutput([face], [pose], [], [], [], torch.empty(0))
        grid = self.points_grid.transpose(1, 2).unsqueeze(2).expand(batch, -1, -1, -1)
        # The trunk, the deconvolutions and the point MLPs run in the caller's precision
        # (fast.autocast); everything between them in float32.
        for i in range(NUM_ITERATIONS):
            fmap = self.deconv_layers[3 * i : 3 * i + 3](fmap)
            vertices = face[:, self.sampled_vertices]
            with float32_only(img.device):
                if i > 0:
                    uv = codec.project(vertices, out.rotations[-1], out.translations[-1], k_crop)
                    out.sample_points.append(uv)
                    grid = (uv / CROP_SIZE * 2.0 - 1.0).unsqueeze(2)
                raw = F.grid_sample(fmap.float(), grid, align_corners=True).squeeze(3)
            point_features = self.laf_extractor[i](raw)
            with float32_only(img.device):
                x = torch.cat([point_features.float(), vertices.flatten(1), pose, beta], 1)
                face, pose = self.regressor[i](x, face, pose)
                rotation, translation = codec.decode_pose(pose, bbox_info, principal_point)
            out.faces.append(face)
            out.poses.append(pose)
            out.rotations.append(rotation)
            out.translations.append(translation)
        with float32_only(img.device):
            landmarks = codec.soft_argmax(self.predict_68_lmk(fmap.float()))
        return TRGOutput(
            out.faces, out.poses, out.rotations, out.translations, out.sample_points, landmarks
        )
