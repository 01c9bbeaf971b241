"""Model graphs: nodes, edges, shapes and params against torch's own forward; the model is left unchanged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn
from viz_helpers import colour_count, png_pixels, png_size, svg_size, svg_texts

from convwise.cli.main import main
from convwise.models import build
from convwise.viz.diagram import draw_graph, model_graph


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3)
        self.conv = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.relu(self.bn(self.conv(x)) + x)
        return self.head(self.drop(x.mean((2, 3))))


class DataDependent(nn.Module):
    """Control flow on tensor values: torch.fx cannot trace it symbolically."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(1, 2, 3)
        self.b = nn.Conv2d(2, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.a(x)
        if x.sum() > 0:
            x = x * 2
        return self.b(x)


def _hook_shapes(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[list[int], list[int]]]:
    """Oracle: (input, output) shape of every leaf module from torch forward hooks."""
    out: dict[str, tuple[list[int], list[int]]] = {}
    handles = []
    for name, m in model.named_modules():
        if name and not list(m.children()):
            handles.append(
                m.register_forward_hook(
                    lambda mod, a, o, name=name: out.__setitem__(name, (list(a[0].shape), list(o.shape)))
                )
            )
    with torch.no_grad():
        model.eval()(x)
    for h in handles:
        h.remove()
    return out


def test_residual_graph_matches_torch() -> None:
    model = Residual().train()
    bn_mean = model.bn.running_mean.clone()
    graph = model_graph(model, (3, 12, 12), name="residual")
    assert graph.method == "torch.fx"
    assert model.training and model.bn.training  # modes restored
    assert torch.equal(model.bn.running_mean, bn_mean)  # statistics untouched
    oracle = _hook_shapes(Residual(), torch.zeros(1, 3, 12, 12))
    by_name = {n.name: n for n in graph.nodes}
    for name, (ins, out) in oracle.items():
        assert by_name[name].input_shapes == [ins], name
        assert by_name[name].output_shape == out, name
        assert by_name[name].params == sum(p.numel() for p in getattr(model, name).parameters())
    add = next(n for n in graph.nodes if n.type == "add")
    assert sorted(add.inputs) == sorted([by_name["bn"].id, by_name["stem"].id])  # the skip connection
    assert graph.total_params == sum(p.numel() for p in model.parameters())
    svg = draw_graph(graph).to_svg()
    texts = svg_texts(svg)
    assert "conv (Conv2d)" in texts and "depthwise 3x3 · params 80" in texts


def test_untraceable_model_falls_back_to_module_order() -> None:
    graph = model_graph(DataDependent(), (1, 6, 6))
    assert graph.method.startswith("module order")
    assert [n.name for n in graph.nodes] == ["x", "a", "b", "output"]
    assert graph.nodes[2].output_shape == [1, 2, 4, 4]


def test_fashion_cnn_params_per_box_are_the_published_ones() -> None:
    """SPEC §4: the seed's Fashion-MNIST CNN, layer by layer and 184,234 in total (Keras' figures)."""
    graph = model_graph(build("fashion_separable_cnn"), (1, 28, 28))
    counted = [n.params for n in graph.nodes if n.params]
    assert counted == [320, 1344, 2400, 4736, 8896, 17664, 147584, 1290]
    assert graph.total_params == 184_234


def test_cli_diagram(tmp_path: Path) -> None:
    target = tmp_path / "m.py"
    target.write_text(
        "from torch import nn\nINPUT_SHAPE = (3, 8, 8)\n"
        "def make():\n"
        "    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 2))\n"
    )
    svg_path, png_path = tmp_path / "g.svg", tmp_path / "g.png"
    assert main(["diagram", f"{target}:make", "-o", str(svg_path), "-o", str(png_path), "--scale", "1"]) == 0
    w, h = svg_size(svg_path.read_text())
    assert png_size(png_path) == (round(w), round(h))
    assert "0 (Conv2d)" in svg_texts(svg_path.read_text())
    px = png_pixels(png_path)
    blank = (px.min(axis=-1) >= 250).mean()
    assert 0.3 < blank < 0.98, blank  # boxes and arrows drawn on a white page
    assert (px.max(axis=-1) < 80).sum() > 300  # the layers' names and shapes
    fills = set(re.findall(r'fill="(#[0-9a-fA-F]{6})"', svg_path.read_text())) - {"#ffffff"}
    shown = [c for c in fills if colour_count(px, c, tol=8) > 100]  # box fills, as areas
    assert len(shown) >= 2, {c: colour_count(px, c, tol=8) for c in fills}


def test_cli_diagram_needs_an_input_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "m.py"
    target.write_text("from torch import nn\ndef make():\n    return nn.Conv2d(3, 4, 3)\n")
    assert main(["diagram", f"{target}:make", "-o", str(tmp_path / "g.svg")]) == 2
    assert "`--input` is required" in capsys.readouterr().err
