"""What-if rewrites on a user's own model file: shapes kept, original untouched, counts recounted."""

from __future__ import annotations

import json
import textwrap
from fractions import Fraction
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convwise.cli.main import main
from convwise.core import ConfigError
from convwise.models import resolve_target
from convwise.models.whatif import parse_rewrite, whatif

USER_MODEL = textwrap.dedent(
    """
    import torch
    from torch import nn

    INPUT_SHAPE = (3, 20, 18)

    class Net(nn.Module):
        def __init__(self, width=12):
            super().__init__()
            self.stem = nn.Conv2d(3, width, 3, padding=1)
            self.body = nn.Sequential(
                nn.BatchNorm2d(width), nn.ReLU(),
                nn.Conv2d(width, 18, (5, 3), stride=(2, 1), padding=(2, 1), bias=False),
                nn.ReLU(),
                nn.Conv2d(18, 24, 3, dilation=2, padding="same"),
                nn.Conv2d(24, 24, 1),
                nn.Conv2d(24, 24, 3, groups=24),
            )
            self.head = nn.Linear(24, 5)

        def forward(self, x):
            return self.head(self.body(self.stem(x)).mean((2, 3)))
    """
)


@pytest.fixture()
def user_file(tmp_path: Path) -> str:
    path = tmp_path / "user_net.py"
    path.write_text(USER_MODEL)
    return f"{path}:Net"


def _hook_shapes(model: nn.Module, x: torch.Tensor, names: list[str]) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    hooks = [
        model.get_submodule(n).register_forward_hook(
            lambda m, a, o, n=n: out.__setitem__(n, (tuple(a[0].shape), tuple(o.shape)))
        )
        for n in names
    ]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return out


def test_separable_rewrite_keeps_shapes_and_recounts(user_file: str) -> None:
    loaded = resolve_target(user_file)
    model = loaded.model.eval()
    before_state = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    result = whatif(model, "separable", input_shape=loaded.input_shape)
    assert torch.equal(rng, torch.get_rng_state())
    names = [r.name for r in result.replaced]
    assert names == ["stem", "body.2", "body.4"]
    assert [s.name for s in result.skipped] == ["body.5", "body.6"]
    # the original is untouched
    assert all(torch.equal(before_state[k], v) for k, v in model.state_dict().items())
    assert isinstance(model.stem, nn.Conv2d)
    # every replaced layer keeps its input/output shapes (real forward, batch 2)
    x = torch.randn(2, *loaded.input_shape)
    old = _hook_shapes(model, x, names)
    new = _hook_shapes(result.model.eval(), x, names)
    assert old == new
    assert result.model(x).shape == model(x).shape == (2, 5)
    # independent recount: numel of the rewritten module, brute-force MACs formula
    assert result.params_after == sum(p.numel() for p in result.model.parameters())
    for r in result.replaced:
        module = result.model.get_submodule(r.name)
        assert r.params_after == sum(p.numel() for p in module.parameters())
        (_, cin, _, _), (_, cout, ho, wo) = new[r.name]
        kh, kw = r.before.kernel_size
        assert r.macs_after == cin * ho * wo * kh * kw + cin * cout * ho * wo
        assert r.macs_before == cout * ho * wo * cin * kh * kw
        assert r.macs_ratio == Fraction(1, cout) + Fraction(1, kh * kw) == r.theory
    # bias kept on the pointwise stage only when the original conv had one
    assert result.model.stem.pointwise.bias is not None and result.model.stem.depthwise.bias is None
    assert result.model.get_submodule("body.2").pointwise.bias is None


def test_grouped_rewrite_skips_layers_g_does_not_divide(user_file: str) -> None:
    loaded = resolve_target(user_file)
    result = whatif(loaded.model, "grouped:6", input_shape=loaded.input_shape)
    assert [r.name for r in result.replaced] == ["body.2", "body.4"]
    skipped = {s.name: s.reason for s in result.skipped if s.eligible}
    assert skipped == {"stem": "`groups` must divide `in_channels`. Received: in_channels=3, groups=6."}
    assert all(r.macs_ratio == Fraction(1, 6) for r in result.replaced)
    four = whatif(loaded.model, "grouped:4", input_shape=loaded.input_shape)
    assert {s.name: s.reason for s in four.skipped if s.eligible}["body.2"] == (
        "`groups` must divide `out_channels`. Received: out_channels=18, groups=4."
    )
    x = torch.randn(1, *loaded.input_shape)
    assert result.model(x).shape == (1, 5)


def test_grouped_separable_with_multiplier_and_glob(user_file: str) -> None:
    loaded = resolve_target(user_file)
    result = whatif(
        loaded.model, "grouped-separable:2", input_shape=loaded.input_shape, depth_multiplier=2, only="body.*"
    )
    assert [r.name for r in result.replaced] == ["body.2", "body.4"]
    r = result.replaced[1]  # 18 → 24, 3×3
    module = result.model.get_submodule("body.4")
    assert module.depthwise.conv.out_channels == 36 and module.pointwise.conv.groups == 2
    assert r.macs_ratio == Fraction(2, 24) + Fraction(2, 2 * 9)
    assert result.model(torch.randn(1, *loaded.input_shape)).shape == (1, 5)


def test_rewrite_errors_are_pinned() -> None:
    with pytest.raises(ConfigError, match=r"`to` must be separable, grouped:G or grouped-separable:G"):
        parse_rewrite("grouped")
    with pytest.raises(ConfigError, match=r"Received: to='depthwise'"):
        parse_rewrite("depthwise")
    with pytest.raises(ConfigError, match=r"`input_shape` \(C, H, W\) is needed"):
        whatif(nn.Conv2d(3, 4, 3), "separable")


def test_zoo_model_and_meta_device() -> None:
    from convwise.models import build

    model = build("kws_cnn", conv_kind="standard", device="meta")
    result = whatif(model, "separable")
    assert [r.name for r in result.replaced] == ["conv2d", "conv2d_1"]
    assert result.replaced[1].params_after == 1152 + 16512  # keras policy: depthwise without bias
    assert all(p.device.type == "meta" for p in result.model.parameters())


def test_cli_whatif_json_and_save(user_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rewritten.pt"
    assert (
        main(["whatif", user_file, "--to", "separable", "--project-alpha", "0.5", "--json", "-o", str(out)])
        == 0
    )
    payload = json.loads(capsys.readouterr().out)
    assert payload["totals"]["params_after"] < payload["totals"]["params_before"]
    stem = payload["replaced"][0]["width_multiplier_projection"]
    assert (stem["in_channels"], stem["out_channels"]) == (3, 6)  # the image's channels are not thinned
    body = payload["replaced"][1]["width_multiplier_projection"]
    assert (body["in_channels"], body["out_channels"]) == (6, 9)
    assert out.is_file()
    assert main(["whatif", user_file, "--to", "grouped:x"]) == 2
    assert "`to` must be separable" in capsys.readouterr().err


def test_cli_paper_and_zoo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paper", "mobilenet", "--table", "table3", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)["tables"][0]
    sep = table["rows"][1]["cells"][0]
    assert sep["ours"] == 14 * 14 * 512 * 9 + 14 * 14 * 512 * 512 and sep["matches"]
    assert main(["paper", "ds-cnn"]) == 0
    assert "DS-CNN L" in capsys.readouterr().out
    assert main(["zoo", "--json"]) == 0
    names = {m["name"] for m in json.loads(capsys.readouterr().out)["models"]}
    assert {"mobilenet_v1", "kws_cnn", "ds_cnn", "fashion_separable_cnn"} <= names


@settings(max_examples=40, deadline=None)
@given(
    cin=st.integers(1, 12),
    cout=st.integers(1, 12),
    k=st.tuples(st.integers(1, 5), st.integers(2, 5)),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    pad=st.integers(0, 2),
    bias=st.booleans(),
    side=st.integers(9, 14),
)
def test_property_separable_rewrite_keeps_shape_and_ratio(
    cin: int, cout: int, k: tuple[int, int], stride: int, dilation: int, pad: int, bias: bool, side: int
) -> None:
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dilation, bias=bias)
    result = whatif(conv, "separable", input_shape=(cin, side, side))
    assert len(result.replaced) == 1
    r = result.replaced[0]
    x = torch.randn(1, cin, side, side)
    y = result.model(x)
    assert y.shape == conv(x).shape
    _, _, ho, wo = y.shape
    kh, kw = k
    assert r.macs_before == cout * ho * wo * cin * kh * kw
    assert r.macs_after == cin * ho * wo * kh * kw + cout * ho * wo * cin
    assert r.macs_ratio == Fraction(1, cout) + Fraction(1, kh * kw)
    assert r.params_after == sum(p.numel() for p in result.model.parameters()) == result.params_after


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paper", "mobilenet", "--table", "table9"]) == 2
    assert "`--table` must be one of table4, table6, table7, table2, table3" in capsys.readouterr().err
    assert main(["whatif", "kws_cnn", "--config", "nonsense"]) == 2
    assert "`--config` must be KEY=VALUE" in capsys.readouterr().err
    assert main(["whatif", "kws_cnn", "--only", "nothing*"]) == 2
    assert "No convolution matches `only`" in capsys.readouterr().err


def test_model_that_is_one_conv_counts_its_rewrite_once() -> None:
    # the rewritten root is a SeparableConv2d: its stages must not be counted beside it
    conv = nn.Conv2d(3, 8, 3)
    result = whatif(conv, "separable", input_shape=(3, 8, 8))
    depthwise, pointwise = 3 * 6 * 6 * 9, 3 * 8 * 6 * 6
    assert result.macs_before == 8 * 6 * 6 * 3 * 9
    assert result.macs_after == result.replaced[0].macs_after == depthwise + pointwise
    assert result.params_after == sum(p.numel() for p in result.model.parameters())
    assert isinstance(conv, nn.Conv2d) and conv.training  # the original is untouched


def test_training_mode_model_is_counted_in_eval_and_keeps_its_modes() -> None:
    from convwise.models import build

    # BatchNorm on 1×1 maps with one sample fails in training mode: counts are taken in eval mode
    model = build("mobilenet_v2", resolution=32, device="meta")
    result = whatif(model, "separable", input_shape=(3, 32, 32))
    assert model.training and all(m.training for m in result.model.modules())
    assert result.macs_before > result.macs_after > 0


def test_cli_alpha_scales_the_zoo_model_as_for_every_target(capsys: pytest.CaptureFixture[str]) -> None:
    """`--alpha` is the zoo model's width multiplier (as for `summary`); `--project-alpha` projects."""
    from convwise.models import build

    assert main(["whatif", "fashion_separable_cnn", "--alpha", "0.5", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    thin = build("fashion_separable_cnn", width_multiplier=0.5)
    assert payload["totals"]["params_before"] == sum(p.numel() for p in thin.parameters())
    assert payload["projected_width_multiplier"] is None
    assert main(["whatif", "fashion_separable_cnn", "--project-alpha", "0.5", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    full = build("fashion_separable_cnn")
    assert payload["totals"]["params_before"] == sum(p.numel() for p in full.parameters())
    assert payload["replaced"][0]["width_multiplier_projection"]["out_channels"] == 16  # int(0.5·32)
