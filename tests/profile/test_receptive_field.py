"""Receptive field and jump of every layer's output, against hand derivations, core's chain recurrence
and a brute-force gradient oracle on real float64 copies of the models."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convwise.core.receptive import Window, receptive_field
from convwise.models import build
from convwise.models.mobilenet import MOBILENET_V1_BLOCKS, STEM_STRIDE
from convwise.models.mobilenetv2 import MOBILENET_V2_ROWS
from convwise.profile import DEFAULT_COLUMNS, load_schema, profile


def gradient_extent(model: nn.Module, shape: tuple[int, ...], layer: str | None = None) -> tuple[int, int]:
    """Brute force: the extent (H, W) of the input pixels one central output element depends on.

    A copy of `model` gets positive weights (scaled by 1/fan-in, so deep nets neither overflow nor
    saturate) and positive inputs, so no gradient can cancel to an exact zero (float32: in float64
    PyTorch runs depthwise convs group by group, 15× slower); max pooling is swapped for average pooling
    with the same window (a max routes its gradient to one pixel) and ReLU6 for ReLU (it has no gradient
    above 6): the window geometry, hence the receptive field, is the same. The gradient of the central
    element of `layer`'s output (all channels) is non-zero exactly on the input pixels in its receptive
    field. The extent must
    not touch the border: otherwise the field is clipped and the input is too small for the check.
    """
    m = copy.deepcopy(model).float().eval()
    for name, mod in list(m.named_modules()):
        if isinstance(mod, nn.MaxPool2d):
            assert mod.dilation in (1, (1, 1))
            parent, _, attr = name.rpartition(".")
            avg = nn.AvgPool2d(mod.kernel_size, mod.stride, mod.padding, mod.ceil_mode)
            setattr(m.get_submodule(parent) if parent else m, attr, avg)
        elif isinstance(mod, nn.ReLU6):
            parent, _, attr = name.rpartition(".")
            setattr(m.get_submodule(parent) if parent else m, attr, nn.ReLU())
    with torch.no_grad():
        for p in m.parameters():
            fan_in = p[0].numel() if p.dim() > 1 else 1
            p.copy_((torch.rand_like(p) + 0.5) / fan_in)
    captured: dict[str, torch.Tensor] = {}
    target = m.get_submodule(layer) if layer else m
    handle = target.register_forward_hook(lambda mod, args, out: captured.setdefault("y", out))
    x = (torch.rand(1, *shape) + 0.5).requires_grad_()
    m(x)
    handle.remove()
    y = captured["y"]
    oh, ow = y.shape[-2], y.shape[-1]
    y[0, :, oh // 2, ow // 2].sum().backward()
    assert x.grad is not None
    g = x.grad[0].abs().sum(0)
    rows = torch.nonzero(g.sum(1)).flatten()
    cols = torch.nonzero(g.sum(0)).flatten()
    h, w = g.shape
    assert rows.min() > 0 and rows.max() < h - 1, "field clipped by the border: use a larger input"
    assert cols.min() > 0 and cols.max() < w - 1, "field clipped by the border: use a larger input"
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def row(report, name: str, depth: int | None = None) -> dict:
    return next(r for r in report.rows(depth) if r["name"] == name)


def field(report, name: str, depth: int | None = None) -> tuple[list[int] | None, list[int] | None]:
    r = row(report, name, depth)
    return r["receptive_field"], r["jump"]


# --- a plain chain: core's recurrence, a hand derivation and the gradient oracle ------------------------


def chain() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, bias=False),
        nn.ReLU(),
        nn.Conv2d(4, 4, 5, stride=2, padding=2, bias=False),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, dilation=2, padding=2, bias=False),
        nn.AvgPool2d(3, stride=2, padding=1),
        nn.Conv2d(4, 3, (5, 3), stride=(2, 1), padding=(2, 1), bias=False),
    )


#: The windows of `chain()` as core sees them (ReLU has none).
CHAIN_WINDOWS = {
    "0": Window.of(3),
    "2": Window.of(5, 2),
    "3": Window.of(2, 2),
    "4": Window.of(3, 1, 2),
    "5": Window.of(3, 2),
    "6": Window.of((5, 3), (2, 1)),
}
#: By hand: r ← r + d·(k−1)·j, j ← j·s from r = j = 1.
#: 3 → 3 + 4·1 = 7 (j 2) → 7 + 1·2 = 9 (j 4) → 9 + 2·2·4 = 25 → 25 + 2·4 = 33 (j 8)
#: → H: 33 + 4·8 = 65 (j 16), W: 33 + 2·8 = 49 (j 8).
CHAIN_BY_HAND = {
    "0": ((3, 3), (1, 1)),
    "1": ((3, 3), (1, 1)),
    "2": ((7, 7), (2, 2)),
    "3": ((9, 9), (4, 4)),
    "4": ((25, 25), (4, 4)),
    "5": ((33, 33), (8, 8)),
    "6": ((65, 49), (16, 8)),
}


def test_chain_matches_core_recurrence_and_hand_derivation() -> None:
    report = profile(chain(), (2, 128, 96))
    windows: list[Window] = []
    for name, (size, jump) in CHAIN_BY_HAND.items():
        if name in CHAIN_WINDOWS:
            windows.append(CHAIN_WINDOWS[name])
        core = receptive_field(windows)
        assert (core.size, core.jump) == (size, jump), name
        assert field(report, name) == (list(size), list(jump)), name
        assert row(report, name)["receptive_field_global"] is False
    totals = report.totals
    assert (totals["receptive_field"], totals["jump"]) == ([65, 49], [16, 8])


def test_chain_matches_gradient_oracle() -> None:
    model = chain()
    report = profile(model, (2, 128, 96))
    for name in ("2", "4", "6"):
        assert tuple(field(report, name)[0]) == gradient_extent(model, (2, 128, 96), name), name


# --- SPEC §4 erratum: a dilated stack ------------------------------------------------------------------


def test_dilated_stack_is_one_plus_sum_not_sum() -> None:
    model = nn.Sequential(*(nn.Conv2d(1, 1, 3, dilation=d, padding=d, bias=False) for d in (1, 2, 4)))
    report = profile(model, (1, 40, 40))
    expected = 1 + sum(d * (3 - 1) for d in (1, 2, 4))
    assert expected == 15  # not 14, the published erratum
    assert field(report, "2") == ([15, 15], [1, 1])
    assert gradient_extent(model, (1, 40, 40)) == (15, 15)


# --- zoo models -------------------------------------------------------------------------------------


def test_fashion_cnn_by_hand_and_gradient() -> None:
    # 3×3 conv: 3; separable (3×3 dw + 1×1 pw): 5; pool 2: 6, j 2; sep: 10; sep: 14; pool: 16, j 4;
    # sep: 24; sep: 32; pool: 36, j 8; flatten → dense: every position of the 3×3 map: 36 + 2·8 = 52.
    report = profile(build("fashion_separable_cnn").eval(), (1, 28, 28))
    by_hand = {
        "conv2d": (3, 1),
        "separable_conv2d": (5, 1),
        "max_pooling2d": (6, 2),
        "separable_conv2d_1": (10, 2),
        "separable_conv2d_2": (14, 2),
        "max_pooling2d_1": (16, 4),
        "separable_conv2d_3": (24, 4),
        "separable_conv2d_4": (32, 4),
        "activation_5": (32, 4),
        "max_pooling2d_2": (36, 8),
    }
    for name, (r, j) in by_hand.items():
        assert field(report, name) == ([r, r], [j, j]), name
    for name in ("flatten", "dense", "dense_1"):
        assert row(report, name)["receptive_field_global"] is True
        assert field(report, name) == ([52, 52], None)
    # the oracle needs an input larger than the field: the same network on 64×64
    big = build("fashion_separable_cnn", image_size=64)
    assert gradient_extent(big, (1, 64, 64), "max_pooling2d_2") == (36, 36)
    assert profile(big, (1, 64, 64)).rows()[14]["receptive_field"] == [36, 36]


def mobilenet_v1_by_hand() -> list[tuple[str, int, int]]:
    """(layer, r, j) from the architecture table: stem 3×3/2, then per block a 3×3 depthwise (stride s)."""
    r, j = 1 + (3 - 1) * 1, STEM_STRIDE
    out = [("conv1", r, j)]
    for i, block in enumerate(MOBILENET_V1_BLOCKS, start=1):
        r, j = r + (3 - 1) * j, j * block.stride
        out += [(f"conv_dw_{i}", r, j), (f"conv_pw_{i}", r, j)]
    return out


def test_mobilenet_v1_by_hand_and_gradient() -> None:
    expected = mobilenet_v1_by_hand()
    # stem 3 (j 2); blocks 1-13: +4 → 7; +4 → 11 (j 4); +8 → 19; +8 → 27 (j 8); +16 → 43; +16 → 59 (j 16);
    # five blocks +32 → 219; +32 → 251 (j 32); +64 → 315.
    assert expected[-1] == ("conv_pw_13", 315, 32)
    report = profile(build("mobilenet_v1").eval(), (3, 224, 224))
    for name, r, j in expected:
        assert field(report, name) == ([r, r], [j, j]), name
        assert field(report, name + "_relu") == ([r, r], [j, j]), name
    pool = row(report, "global_average_pooling2d")
    assert pool["receptive_field_global"] is True
    assert pool["receptive_field"] == [315 + (7 - 1) * 32] * 2  # a window as large as the 7×7 map
    assert report.totals["receptive_field_global"] is True and report.totals["jump"] is None
    # the oracle at width 0.25 and 384² (the 315-pixel field must fit inside the input to be measured)
    small = build("mobilenet_v1", width_multiplier=0.25, resolution=384)
    assert gradient_extent(small, (3, 384, 384), "conv_pw_13_relu") == (315, 315)
    assert field(profile(small.eval(), (3, 384, 384)), "conv_pw_13_relu") == ([315, 315], [32, 32])


def test_mobilenet_v2_residual_blocks_by_hand_and_gradient() -> None:
    # per block one 3×3 depthwise conv carrying the stride: r ← r + 2·j, j ← j·s; the identity shortcut
    # of a residual block has the smaller field, so the sum keeps the depthwise path's
    r, j = 3, 2
    expected = {}
    index = 0
    for table_row in MOBILENET_V2_ROWS:
        for repeat in range(table_row.repeats):
            r, j = r + 2 * j, j * (table_row.stride if repeat == 0 else 1)
            expected[f"block_{index}"] = (r, j)
            index += 1
    assert expected["block_16"] == (491, 32)
    model = build("mobilenet_v2", width_multiplier=0.35, resolution=224).eval()
    report = profile(model, (3, 224, 224))
    for name, (r, j) in expected.items():
        assert field(report, name, depth=1) == ([r, r], [j, j]), name
    names = [n for n, _ in model.named_children()]
    head = model[: names.index("block_8") + 1]  # the oracle runs only what it measures
    assert gradient_extent(head, (3, 192, 192), "block_5") == (59, 59)
    assert gradient_extent(head, (3, 192, 192), "block_8") == (139, 139)


def test_kws_cnn_by_hand_and_gradient() -> None:
    # conv 10×4 stride 3×2: r (10, 4), j (3, 2); then 3×3: r (10 + 2·3, 4 + 2·2) = (16, 8), j (3, 2).
    for form in ("standard", "depthwise", "separable"):
        model = build("kws_cnn", conv_kind=form).eval()
        report = profile(model, (1, 34, 13))
        assert field(report, "conv2d") == ([10, 4], [3, 2])
        assert report.totals["receptive_field"] == [16, 8] and report.totals["jump"] == [3, 2]
        assert gradient_extent(model, (1, 34, 13)) == (16, 8)


# --- branches, functional code, global mixing, unknown ----------------------------------------------


class Residual(nn.Module):
    """Stem, then a stride-2 two-conv main path added to a stride-2 1×1 shortcut."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.main = nn.Sequential(
            nn.Conv2d(4, 4, 3, stride=2, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(4, 4, 3, padding=1, bias=False),
        )
        self.shortcut = nn.Conv2d(4, 4, 1, stride=2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return F.relu(self.main(x) + self.shortcut(x))


def test_residual_branch_takes_the_larger_field() -> None:
    model = Residual().eval()
    report = profile(model, (2, 32, 32))
    # stem 3; main: 3 + 2·1 = 5 (j 2), 5 + 2·2 = 9; shortcut: 3 (j 2); sum: max(9, 3) = 9, j 2
    assert field(report, "main", depth=1) == ([9, 9], [2, 2])
    assert field(report, "main.0") == ([5, 5], [2, 2])
    assert field(report, "shortcut") == ([3, 3], [2, 2])
    assert report.totals["receptive_field"] == [9, 9] and report.totals["jump"] == [2, 2]
    assert report.totals["receptive_field_note"] is None
    assert gradient_extent(model, (2, 32, 32)) == (9, 9)


class Functional(nn.Module):
    """Only functional calls: conv2d, pad, dilation, max/avg pooling, cat of two branches, relu."""

    def __init__(self, use_max: bool = True) -> None:
        super().__init__()
        self.use_max = use_max
        self.w1 = nn.Parameter(torch.rand(4, 2, 3, 3))
        self.w2 = nn.Parameter(torch.rand(4, 4, 3, 3))
        self.w3 = nn.Parameter(torch.rand(3, 8, 5, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.w1, padding=1)  # 3, j 1
        a = F.conv2d(F.pad(x, (2, 2, 2, 2)), self.w2, dilation=2)  # 3 + 2·2 = 7
        pool = F.max_pool2d if self.use_max else F.avg_pool2d
        b = pool(x, 3, stride=1, padding=1)  # 3 + 2 = 5
        x = F.relu(torch.cat([a, b], 1))  # max(7, 5) = 7
        x = F.avg_pool2d(x, 2)  # 7 + 1 = 8, j 2
        return F.conv2d(x, self.w3, stride=(2, 1), padding=(2, 1))  # (8 + 4·2, 8 + 2·2) = (16, 12), j (4, 2)


def test_functional_only_model() -> None:
    report = profile(Functional(), (2, 48, 40))
    assert report.totals["receptive_field"] == [16, 12] and report.totals["jump"] == [4, 2]
    assert [r["name"] for r in report.rows()] == ["(top level)"]
    assert report.rows()[0]["receptive_field"] == [16, 12]
    assert gradient_extent(Functional(use_max=False), (2, 48, 40)) == (16, 12)


class ChannelsLastBlock(nn.Module):
    """ConvNeXt-like: a 7×7 depthwise conv, then per-position Linear layers on a channels-last view."""

    def __init__(self, norm: bool = True) -> None:
        super().__init__()
        self.stem = nn.Conv2d(2, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 7, padding=3, groups=8)
        self.norm = nn.LayerNorm(8) if norm else nn.Identity()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 8)
        self.down = nn.Conv2d(8, 4, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # 3
        y = self.dw(x).permute(0, 2, 3, 1)  # 3 + 6 = 9, (N, H, W, C)
        y = self.fc2(F.gelu(self.fc1(self.norm(y))))  # per position: still 9
        return self.down(x + y.permute(0, 3, 1, 2))  # max(3, 9) + 2 = 11, j 2


def test_per_position_linear_on_channels_last_is_not_global() -> None:
    report = profile(ChannelsLastBlock().eval(), (2, 32, 32))
    for name in ("norm", "fc1", "fc2"):
        assert field(report, name) == ([9, 9], [1, 1]), name
        assert row(report, name)["receptive_field_global"] is False
    assert report.totals["receptive_field"] == [11, 11] and report.totals["jump"] == [2, 2]
    # the oracle without LayerNorm (its centring makes gradients cancel, whatever the weights)
    assert gradient_extent(ChannelsLastBlock(norm=False), (2, 32, 32)) == (11, 11)


class SqueezeExcite(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.fc = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)  # 3, j 2, on a 8×8 map
        return x * torch.sigmoid(self.fc(x.mean((2, 3), keepdim=True)))


def test_global_mixing_keeps_the_layout_jump() -> None:
    report = profile(SqueezeExcite(), (3, 16, 16))
    t = report.totals
    # the gate sees the whole 8×8 map: 3 + (8 − 1)·2 = 17; the product keeps the feature map's jump
    assert t["receptive_field"] == [17, 17] and t["jump"] == [2, 2]
    assert t["receptive_field_global"] is True and t["receptive_field_note"] is None
    assert field(report, "fc") == ([17, 17], [16, 16])


def test_upsampling_makes_the_field_unknown_not_a_guess() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3))
    report = profile(model, (1, 16, 16))
    assert field(report, "0") == ([3, 3], [1, 1])
    assert field(report, "2") == (None, None)
    assert "upsample" in row(report, "2")["receptive_field_note"]
    assert row(report, "2")["receptive_field_note"] and "?" in report.render(columns=["layer", "rf"])
    transposed = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ConvTranspose2d(2, 2, 2, stride=2), nn.ReLU())
    report = profile(transposed, (1, 16, 16))
    assert field(report, "2") == (None, None)
    assert "transposed" in report.totals["receptive_field_note"]


def test_non_image_inputs_have_no_field() -> None:
    report = profile(nn.Sequential(nn.Linear(6, 4), nn.ReLU()), (6,))
    assert all(r["receptive_field"] is None and r["jump"] is None for r in report.rows())
    assert "RF" not in report.render() and "Receptive field" not in report.render()
    params_only = profile(chain())
    assert params_only.totals["receptive_field"] is None


# --- rendering and JSON -----------------------------------------------------------------------------


def test_rendering_and_schema() -> None:
    report = profile(build("kws_cnn").eval(), (1, 34, 13))
    text = report.render()
    assert "RF (jump)" in text and "10×4 (3×2)" in text and "16×8 (3×2)" in text
    assert "Receptive field of the output (H×W, padding included): 16×8, jump 3×2" in text
    assert "RF (jump)" not in report.render(columns=["layer", "params"])
    widths = {k: report._natural_width(None, [*DEFAULT_COLUMNS, k]) for k in ("rf", "rf_size")}
    narrow = report.render(width=widths["rf"] - 1)  # the jump does not fit: the field alone
    assert "RF (jump)" not in narrow and " RF\n" in narrow and "16×8\n" in narrow and "(3×2)" not in narrow
    narrower = report.render(width=widths["rf_size"] - 1)  # not at all (the totals line still has it)
    assert " RF\n" not in narrower and "16×8, jump 3×2" in narrower
    csv_text = report.to_csv()
    assert "receptive_field,jump,receptive_field_global" in csv_text.splitlines()[0]
    assert ",10x4,3x2,False" in csv_text
    assert report.to_csv(columns=["name", "rf"]).splitlines()[:2] == [
        "name,receptive_field,jump",
        "conv2d,10x4,3x2",
    ]
    assert "| 16×8 (3×2) |" in report.to_markdown()
    assert "receptive field of the output: 10×4, jump 3×2" in report.explain("conv2d")
    steps = report.explain("separable_conv2d")
    assert "[depthwise] receptive field (height) = r + d·(k−1)·j = 10 + 1·(3−1)·3 = 16" in steps
    assert "[depthwise] receptive field (width) = r + d·(k−1)·j = 4 + 1·(3−1)·2 = 8" in steps
    schema = load_schema()
    for r in (report, profile(build("mobilenet_v1", resolution=96).eval(), (3, 96, 96)), profile(chain())):
        for depth in (None, 0, 1):
            jsonschema.validate(json.loads(r.to_json(depth)), schema)
    folded = report.rows(0)[0]  # the whole model folded into one row: its output's field
    assert folded["receptive_field"] == [16, 8]


def test_cli_summary_rf_column(capsys: pytest.CaptureFixture[str]) -> None:
    from convwise.cli.main import main

    assert main(["summary", "kws_cnn", "--columns", "layer,rf"]) == 0
    out = capsys.readouterr().out
    assert "RF (jump)" in out and "16×8 (3×2)" in out
    assert main(["summary", "kws_cnn", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["totals"]["receptive_field"] == [16, 8]
    assert payload["layers"][0]["jump"] == [3, 2]
