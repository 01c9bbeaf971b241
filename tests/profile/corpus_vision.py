"""Vision models of the profile corpus (see corpus.py): CNNs, UNet, detection head, Mixer, ConvNeXt, every
convolution and pooling family, F.fold, pixel shuffle, weight norms, a convwise zoo model."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.down(x))


class ResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True)
        )
        self.layer1 = BasicBlock(8, 8, 1)
        self.layer2 = BasicBlock(8, 16, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class UNet(nn.Module):
    """Two levels: max-pool down, transposed-conv and bilinear up, skip concatenations."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU())
        self.bottom = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.up2 = nn.ConvTranspose2d(8, 8, 2, stride=2)
        self.dec2 = nn.Conv2d(16, 4, 3, padding=1)
        self.up1 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec1 = nn.Conv2d(8, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        b = self.bottom(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))
        return self.dec1(torch.cat([self.up1(d2), e1], dim=1))


class DetectionHead(nn.Module):
    """A backbone and three heads: class logits, boxes, objectness (a dict and a tuple out)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.GroupNorm(2, 8), nn.SiLU())
        self.cls = nn.Conv2d(8, 5 * 3, 1)
        self.box = nn.Conv2d(8, 4 * 3, 3, padding=1)
        self.obj = nn.Conv2d(8, 3, 1)

    def forward(self, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        h = self.backbone(x)
        n = h.shape[0]
        logits = self.cls(h).permute(0, 2, 3, 1).reshape(n, -1, 5)
        boxes = self.box(h).permute(0, 2, 3, 1).reshape(n, -1, 4).sigmoid()
        return {"logits": logits, "boxes": boxes}, self.obj(h).flatten(1)


class MixerBlock(nn.Module):
    def __init__(self, tokens: int, channels: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(channels)
        self.token_mlp = nn.Sequential(
            nn.Linear(tokens, 2 * tokens), nn.GELU(), nn.Linear(2 * tokens, tokens)
        )
        self.norm2 = nn.LayerNorm(channels)
        self.channel_mlp = nn.Sequential(
            nn.Linear(channels, 2 * channels), nn.GELU(), nn.Linear(2 * channels, channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, tokens, channels)
        x = x + self.token_mlp(self.norm1(x).transpose(1, 2)).transpose(1, 2)  # linear on a transposed view
        return x + self.channel_mlp(self.norm2(x))


class MLPMixer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, stride=4)  # 16×16 → 4×4 = 16 tokens
        self.blocks = nn.Sequential(MixerBlock(16, 8), MixerBlock(16, 8))
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.patch(x).flatten(2).transpose(1, 2)
        return self.head(self.blocks(t).mean(1))


class ConvNeXtBlock(nn.Module):
    """Depthwise 7×7, LayerNorm on channels-last, pointwise MLP as Linear layers, layer scale, residual."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, 4 * dim)
        self.pw2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.pw2(F.gelu(self.pw1(self.norm(y)))) * self.gamma
        return x + y.permute(0, 3, 1, 2)


class SqueezeExcite(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.norm = nn.InstanceNorm2d(8, affine=True)
        self.act = nn.Hardswish()
        self.fc1 = nn.Conv2d(8, 2, 1)
        self.fc2 = nn.Conv2d(2, 8, 1)
        self.prelu = nn.PReLU(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.norm(self.conv(x)))
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(y, 1)))))
        return self.prelu(y * s)


def conv1d_stack() -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(2, 4, 4, padding="same"),  # even kernel: one more padding pixel after than before
        nn.ReLU(),
        nn.Conv1d(4, 4, 3, dilation=2, padding=2, groups=2),
        nn.MaxPool1d(2),
        nn.AvgPool1d(3, stride=1, padding=1),
        nn.Conv1d(4, 6, 3, stride=2, padding_mode="circular", padding=1),
        nn.AdaptiveMaxPool1d(2),
        nn.Flatten(),
        nn.Linear(12, 3),
    )


def conv3d_stack() -> nn.Module:
    return nn.Sequential(
        nn.Conv3d(2, 4, 3, padding=1),
        nn.BatchNorm3d(4),
        nn.ReLU(),
        nn.MaxPool3d(2),
        nn.Conv3d(4, 4, (1, 3, 3), padding=(0, 1, 1), groups=4),
        nn.AdaptiveAvgPool3d(1),
        nn.Flatten(),
    )


def transposed_convs() -> nn.Module:
    return nn.Sequential(
        nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
        nn.ReLU(),
        nn.ConvTranspose2d(6, 2, 4, stride=2, padding=1, dilation=1, bias=False),
    )


class Transposed1d3d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.t1 = nn.ConvTranspose1d(3, 2, 4, stride=3)
        self.t3 = nn.ConvTranspose3d(2, 2, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 3, 5)
        y = self.t1(x)  # (N, 2, 16)
        return self.t3(y.reshape(y.shape[0], 2, 2, 2, 4))


def grouped_dilated() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(4, 8, 3, groups=4, dilation=2, padding=2),
        nn.Conv2d(8, 8, 3, groups=8, padding=1, bias=False),  # depthwise
        nn.Conv2d(8, 8, 4, padding="same", padding_mode="zeros"),  # even kernel, 'same'
        nn.Conv2d(8, 4, 3, padding=1, padding_mode="reflect"),
        nn.ReLU6(),
    )


def pooling_variants() -> nn.Module:
    return nn.Sequential(
        nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
        nn.MaxPool2d(2, dilation=2),
        nn.AdaptiveMaxPool2d((2, 3)),
        nn.AdaptiveAvgPool2d((3, 2)),
        nn.LeakyReLU(0.1),
    )


class FoldUnfold(nn.Module):
    """Patches out with F.unfold, mixed by a linear layer, summed back with F.fold (overlapping)."""

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Linear(2 * 3 * 3, 2 * 3 * 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 2, 6, 6)
        cols = F.unfold(x, 3, padding=1, stride=2)  # (N, 18, 9)
        cols = self.mix(cols.transpose(1, 2)).transpose(1, 2)
        return F.fold(cols, (6, 6), 3, padding=1, stride=2)


class PixelShuffleUp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * 4, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.refine = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.refine(self.shuffle(self.conv(x))).clamp(0, 1)


def weight_norms() -> nn.Module:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = torch.nn.utils.weight_norm(nn.Linear(6, 8))
        spectral = torch.nn.utils.spectral_norm(nn.Linear(8, 8))
    new = torch.nn.utils.parametrizations.weight_norm(nn.Linear(8, 4))
    return nn.Sequential(old, nn.Tanh(), spectral, nn.ReLU(), new)


def zoo_fashion() -> nn.Module:
    from convwise.models import build

    return build("fashion_separable_cnn")
