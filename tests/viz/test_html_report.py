"""The HTML report's data: rows, per-type shares, what-if, explanations, run directory; no network use."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from convwise.cli.main import main
from convwise.core import ConfigError
from convwise.viz.report import read_run, render_html, report_data


def small_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, groups=8),
        nn.Conv2d(8, 16, 1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 5),
    )


def write_run(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.csv").write_text(
        "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds\n"
        "1,1.2,0.55,1.0,0.62,0.001,3.0\n2,0.8,0.71,0.85,0.69,0.0005,3.1\n3,0.6,0.78,0.8,0.72,0.0001,3.0\n"
    )
    cm = [[8, 1, 1], [2, 7, 1], [0, 3, 7]]
    (folder / "results.json").write_text(
        json.dumps(
            {
                "test_accuracy": 0.7333,
                "model": "small",
                "test": {"confusion_matrix": cm, "per_class_accuracy": {"cat": 0.8, "dog": 0.7, "emu": 0.7}},
            }
        )
    )
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict:
    run = write_run(tmp_path_factory.mktemp("run") / "r")
    return report_data(small_model(), (3, 10, 10), name="small", run_dir=run)


def test_rows_and_totals_against_torch(data: dict) -> None:
    model = small_model()
    layers = data["summary"]["layers"]
    assert len(layers) == len(data["explanations"]) == 9
    assert data["summary"]["totals"]["params"] == sum(p.numel() for p in model.parameters())
    # conv MACs oracle: output elements × (Cin/g)·kh·kw, from a real forward
    x = torch.zeros(1, 3, 10, 10)
    expected = []
    with torch.no_grad():
        for m in model.eval():
            y = m(x)
            if isinstance(m, nn.Conv2d):
                expected.append(y.numel() * m.weight[0].numel())
            x = y
    convs = [r["macs"] for r in layers if r["type"] == "Conv2d"]
    assert convs == expected


def test_by_type_shares_add_up(data: dict) -> None:
    totals = data["summary"]["totals"]
    by_type = {g["type"]: g for g in data["by_type"]}
    assert sum(g["macs"] for g in by_type.values()) == totals["macs"]
    assert sum(g["params"] for g in by_type.values()) == totals["params"]
    assert sum(g["macs_share"] for g in by_type.values()) == pytest.approx(1.0)
    assert {"standard 3x3", "depthwise 3x3", "pointwise 1x1", "linear"} <= set(by_type)
    assert by_type["standard 3x3"]["params"] == 3 * 8 * 9 + 8


def test_explanations_and_variant_comparison(data: dict) -> None:
    first = data["explanations"][0]
    assert "[conv] weight params = Cout·Cin·kh·kw = 8·3·3·3 = 216" in first["lines"]
    variants = {v["name"]: v for v in first["compare"]["variants"]}
    # 3→8, 3×3, same padding on 10×10: a separable conv has 3·9+3 + 8·3+8 = 62 params (PyTorch biases)
    assert variants["separable"]["params"] == 62
    assert variants["standard"]["current"] and variants["standard"]["ratio"] == 1.0
    linear = data["explanations"][-1]
    assert "multiplications = rows·in·out = 1·16·5 = 80" in linear["lines"]


def test_whatif_entries(data: dict) -> None:
    names = [w["rewrite"] for w in data["whatif"]]
    assert names[0] == "standard instead of separable" and len(names) == 4
    reverse = data["whatif"][0]["replaced"]
    assert [r["name"] for r in reverse] == ["3 + 4"]  # the depthwise conv and the 1×1 after it
    assert (reverse[0]["params_before"], reverse[0]["params_after"]) == (
        8 * 9 + 8 + 8 * 16 + 16,
        8 * 16 * 9 + 16,
    )
    sep = data["whatif"][1]
    assert [r["name"] for r in sep["replaced"]] == ["0"]  # only the standard 3×3 conv is eligible
    assert sep["replaced"][0]["params_after"] == 3 * 9 + 8 * 3 + 8  # Keras policy: pointwise bias only


def test_run_directory_is_read(data: dict) -> None:
    run = data["run"]
    assert [r["epoch"] for r in run["epochs"]] == [1.0, 2.0, 3.0]
    assert run["classes"] == ["cat", "dog", "emu"]
    assert run["confusion"][2] == [0, 3, 7]


def test_bad_run_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"`--run` must be a training run directory\. Received: run="):
        read_run(tmp_path / "missing")
    with pytest.raises(ConfigError, match=r"neither metrics\.csv nor results\.json"):
        read_run(tmp_path)


def test_html_is_self_contained_and_inert(data: dict) -> None:
    evil = dict(data, title="</script><script>alert(1)</script>", model="<!--")
    html = render_html(evil)
    assert html.count("</script>") == 2  # the data block and the code: nothing injected
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "@import" not in html
    assert not re.search(r"url\((?!#)", html)  # only in-document references (SVG arrow markers)
    blob = html.split('<script id="report-data" type="application/json">')[1].split("</script>")[0]
    assert json.loads(blob)["summary"]["totals"] == data["summary"]["totals"]


def test_cli_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "m.py"
    target.write_text(
        "from torch import nn\nINPUT_SHAPE = (3, 8, 8)\n"
        "def make():\n"
        "    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 2))\n"
    )
    out = tmp_path / "r.html"
    assert main(["report", f"{target}:make", "--whatif", "separable", "-o", str(out)]) == 0
    assert "4 layers" in capsys.readouterr().out
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert main(["report", f"{target}:make", "-o", str(tmp_path / "r.pdf")]) == 2
    assert "must end in .html" in capsys.readouterr().err


def test_standard_equivalent_of_mobilenet_is_the_published_one() -> None:
    """MobileNet's Table 4: as standard convs, 29.3 M parameters and 4,866 M Mult-Adds (vs 4.2 M, 569 M)."""
    from convwise.models import build
    from convwise.models.reverse import standard_equivalent
    from convwise.profile import profile

    model = build("mobilenet_v1")
    summary = profile(model, (3, 224, 224)).to_dict()
    reverse = standard_equivalent(model, summary["layers"])
    assert reverse is not None and len(reverse["replaced"]) == 13
    t, r = summary["totals"], reverse["totals"]
    params = t["params"] - r["params_before"] + r["params_after"]
    macs = t["macs"] - r["macs_before"] + r["macs_after"]
    assert round(params / 1e6, 1) == 29.3
    assert round(t["params"] / 1e6, 1) == 4.2 and round(t["macs"] / 1e6) == 569
    assert abs(macs / 1e6 - 4866) < 2  # the paper rounds; we count exactly
    first = reverse["replaced"][0]
    assert first["macs_ratio"] == pytest.approx(first["theory_ratio"])  # stride 1, same padding: exact theory


def test_building_the_report_leaves_the_model_unchanged() -> None:
    model = small_model().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    report_data(model, (3, 10, 10), name="small", whatif=("separable",), figures=False)
    assert all(m.training for m in model.modules())
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert torch.equal(rng, torch.get_rng_state())
