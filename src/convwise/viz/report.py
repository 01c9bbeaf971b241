"""The self-contained HTML report of a model: sortable summary, cost charts, what-if, explanations, training.

`report_data` gathers everything as JSON-friendly data (profile rows, per-layer explanations, cost by
layer type, what-if rewrites, and a run directory's learning curves and confusion matrix);
`render_html` inlines it with the template's CSS and JavaScript into one file that needs no network.
"""

from __future__ import annotations

import csv
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

from convwise.core import ConfigError, config_error, fmt
from convwise.fileio import atomic_write_text

#: Derivations shown first in a layer's explanation (the rest — shapes, padding, bytes — on demand).
KEY_QUANTITIES = frozenset(
    {
        "weight params",
        "bias params",
        "params",
        "multiplications",
        "accumulation additions",
        "bias additions",
        "additions",
        "MACs",
        "FLOPs",
    }
)
#: What-if rewrites shown by default.
DEFAULT_WHATIF: tuple[str, ...] = ("separable", "grouped:2", "grouped-separable:2")


# ------------------------------------------------------------------------------------- explanations


def _conv_explanation(module: Any, input_shape: list[int] | None) -> dict[str, Any] | None:
    """Derivations of a conv layer's numbers from `core` (per sample), or None if not a conv."""
    from convwise.core import layer_cost
    from convwise.layers.families import conv2d_spec

    spec = conv2d_spec(module)
    if spec is None or not input_shape or len(input_shape) != 4:
        return None
    chw = (input_shape[1], input_shape[2], input_shape[3])
    cost = layer_cost(spec, chw)
    return {
        "figure_key": f"{spec.describe()} @ {chw[0]}x{chw[1]}x{chw[2]}",
        "layer_spec": spec,
        "spec": spec.describe(),
        "lines": [e.text() for e in cost.explanations if e.quantity in KEY_QUANTITIES],
        "more": [e.text() for e in cost.explanations if e.quantity not in KEY_QUANTITIES],
        "compare": _compare_variants(spec, chw),
    }


def _compare_variants(spec: Any, chw: tuple[int, int, int]) -> dict[str, Any] | None:
    """Every variant for this layer's mapping (same channels, kernel, stride, padding, dilation)."""
    from convwise.core import ConfigError, compare

    if spec.kernel_size == (1, 1) and spec.kind == "pointwise":
        return None
    groups = spec.groups if spec.groups > 1 else 2
    bias = any(stage.bias for stage in spec.stages)
    try:
        comp = compare(
            chw,
            spec.out_channels,
            spec.kernel_size,
            groups=groups,
            stride=spec.stride,
            padding=spec.padding,
            dilation=spec.dilation,
            bias=bias,
            bias_policy=spec.bias_policy or ("pytorch" if bias else "none"),
        )
    except ConfigError:
        return None
    variants = []
    for v in comp.variants:
        if v.name == "pointwise":  # a 1×1 conv has another receptive field: not the same mapping
            continue
        ratio = v.ratio(comp.baseline, "mults")
        variants.append(
            {
                "name": v.name,
                "params": None if v.cost is None else v.cost.counts.params,
                "mults": None if v.cost is None else v.cost.counts.mults,
                "ratio": None if ratio is None else float(ratio),
                "note": v.note,
                "current": v.name.split(" ")[0] == spec.kind,
            }
        )
    kh, kw = spec.kernel_size
    theory = comp.separable_theory
    return {
        "mapping": f"{chw[0]}→{spec.out_channels}, {kh}x{kw}",
        "variants": variants,
        "theory": f"{theory.text()} = {float(theory.value):.4f}",
    }


def _linear_explanation(module: Any, row: dict[str, Any]) -> dict[str, Any] | None:
    """Derivations of a fully connected layer's numbers from `core.linear_cost` (per sample), or None."""
    from torch import nn

    from convwise.core import linear_cost

    if not isinstance(module, nn.Linear):
        return None
    shape = row.get("input_shape") or [1, module.in_features]
    rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
    cost = linear_cost(module.in_features, module.out_features, rows=rows, bias=module.bias is not None)
    return {
        "spec": f"linear {module.in_features}→{module.out_features}",
        "lines": [e.text() for e in cost.explanations if e.quantity in KEY_QUANTITIES],
        "more": [e.text() for e in cost.explanations if e.quantity not in KEY_QUANTITIES],
    }


def _generic_explanation(row: dict[str, Any]) -> dict[str, Any]:
    lines = []
    if row.get("other_ops"):
        lines.append(
            f"other ops = {fmt(row['other_ops'])} (normalisation, activation, pooling or element-wise work; "
            "reported on its own, never in MACs)"
        )
    if row.get("params"):
        lines.append(f"params = {fmt(row['params'])}")
    if row.get("uncounted_ops"):
        ops = ", ".join(f"{k}×{v}" for k, v in row["uncounted_ops"].items())
        lines.append(f"ops without a cost formula (not counted, not 0): {ops}")
    if not lines:
        lines.append("no parameters and no counted operations")
    return {"spec": row.get("type", ""), "lines": lines}


# ------------------------------------------------------------------------------------- run directory


def read_run(run_dir: str | Path) -> dict[str, Any]:
    """Learning curves (metrics.csv) and test confusion matrix (results.json) of a training run.

    Raises:
        ConfigError: if the directory does not exist or holds neither file.
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise config_error("`--run` must be a training run directory.", run=str(run_dir))
    out: dict[str, Any] = {"dir": str(run), "epochs": [], "confusion": None, "classes": [], "summary": {}}
    metrics = run / "metrics.csv"
    if metrics.is_file():
        with metrics.open(newline="") as fh:
            for rec in csv.DictReader(fh):
                row: dict[str, Any] = {}
                for k, v in rec.items():
                    try:
                        row[k] = float(v) if v not in ("", None) else None
                    except ValueError:
                        row[k] = v
                out["epochs"].append(row)
    results = run / "results.json"
    if results.is_file():
        data = json.loads(results.read_text())
        test = data.get("test", data)
        cm = test.get("confusion_matrix") or data.get("confusion_matrix")
        if cm:
            out["confusion"] = [[int(v) for v in r] for r in cm]
            per = test.get("per_class_accuracy")
            out["classes"] = list(per) if isinstance(per, dict) else [str(i) for i in range(len(cm))]
        for key in ("model", "dataset", "recipe", "test_accuracy", "test_loss", "epochs_run", "best_epoch"):
            if key in data:
                out["summary"][key] = data[key]
    config = run / "config.json"
    if config.is_file() and "model" not in out["summary"]:
        cfg = json.loads(config.read_text())
        for key in ("model", "dataset", "recipe"):
            if key in cfg:
                out["summary"][key] = cfg[key]
    if not out["epochs"] and out["confusion"] is None:
        raise config_error(
            "The run directory has neither metrics.csv nor results.json with a confusion matrix.",
            run=str(run_dir),
        )
    return out


# ------------------------------------------------------------------------------------- data


def report_data(
    model: Any,
    input_shape: tuple[int, int, int],
    *,
    name: str = "model",
    run_dir: str | Path | None = None,
    whatif: tuple[str, ...] | list[str] = DEFAULT_WHATIF,
    figures: bool = True,
    graph: bool = True,
) -> dict[str, Any]:
    """Everything the HTML report shows, as JSON-friendly data.

    Args:
        model: any `nn.Module` (left unchanged: profiling and what-if work on copies / the meta device).
        input_shape: (C, H, W) of one sample.
        name: the model's name in the report.
        run_dir: a training run directory (metrics.csv, results.json) for curves and confusion matrix.
        whatif: rewrites to compare against ('separable', 'grouped:G', 'grouped-separable:G').
        figures: include the `convwise draw` figure of every distinct conv layer (shown on demand).
        graph: include the layer graph (`convwise diagram`), shown on demand.

    Returns:
        A dict with `summary` (the profile report: layers and totals), `explanations` (per layer row),
        `by_type`, `whatif` and `run`.

    Raises:
        ConfigError: bad input shape or run directory, or a model that does not run on the input.
    """
    from convwise.models.reverse import standard_equivalent
    from convwise.models.whatif import whatif as run_whatif
    from convwise.profile import profile
    from convwise.profile.breakdown import by_layer_type, layer_rows, layer_type

    shape = tuple(int(v) for v in input_shape)
    report = profile(model, shape, name=name)
    summary = report.to_dict()
    layers = layer_rows(report)
    modules = dict(model.named_modules())
    explanations: list[dict[str, Any]] = []
    for row, spec in layers:
        module = modules.get(row["name"])
        info = None
        if module is not None:
            info = _conv_explanation(module, row.get("input_shape")) or _linear_explanation(module, row)
        info = info or _generic_explanation(row)
        info["group"] = layer_type(row, spec)  # the same groups as `by_type`
        explanations.append(info)
    by_type = by_layer_type(layers, totals=summary["totals"])
    whatifs: list[dict[str, Any]] = []
    for to in whatif:
        try:
            whatifs.append(run_whatif(model, to, input_shape=shape).to_dict())
        except ConfigError as exc:  # a rewrite that does not apply is reported, not fatal
            whatifs.append({"rewrite": to, "error": str(exc)})
    drawings: dict[str, str] = {}
    for row, info in zip(summary["layers"], explanations, strict=True):
        spec = info.pop("layer_spec", None)
        key = info.pop("figure_key", None)
        if figures and spec is not None and key is not None:
            if key not in drawings:
                from convwise.viz.draw import draw_layer

                shape_in = row["input_shape"]
                drawings[key] = draw_layer(spec, (shape_in[1], shape_in[2], shape_in[3])).to_svg()
            info["figure"] = key
    graph_svg: str | None = None
    graph_note = ""
    if graph:
        from convwise.viz.diagram import draw_graph, model_graph

        g = model_graph(model, shape, name=name)
        graph_svg = draw_graph(g).to_svg()
        graph_note = f"{len(g.nodes)} nodes, traced with {g.method}"
    reverse = standard_equivalent(model, summary["layers"])  # the reverse what-if
    if reverse is not None:
        whatifs.insert(0, reverse)
    return {
        "title": f"convwise report: {name}",
        "model": name,
        "input_shape": [1, *shape],
        "summary": summary,
        "explanations": explanations,
        "by_type": by_type,
        "whatif": whatifs,
        "figures": drawings,
        "graph": {"svg": graph_svg, "note": graph_note},
        "run": read_run(run_dir) if run_dir is not None else None,
    }


# ------------------------------------------------------------------------------------- HTML


def _template() -> str:
    return resources.files("convwise.viz").joinpath("report_template.html").read_text(encoding="utf-8")


def render_html(data: dict[str, Any]) -> str:
    """The report as one HTML document with the data, CSS and JavaScript inlined (no network use)."""
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    # keep the JSON inert inside <script>: no "</script>" or "<!--" can close or comment it out
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    payload = payload.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    html = _template()
    from html import escape

    return html.replace("__TITLE__", escape(str(data.get("title", "convwise report")))).replace(
        "__DATA__", payload
    )


def write_report(
    model: Any,
    input_shape: tuple[int, int, int],
    path: str | Path,
    *,
    name: str = "model",
    run_dir: str | Path | None = None,
    whatif: tuple[str, ...] | list[str] = DEFAULT_WHATIF,
    figures: bool = True,
    graph: bool = True,
) -> dict[str, Any]:
    """Build the report of `model` and write it to `path` (.html); returns the data it shows.

    Raises:
        ConfigError: as `report_data`, or a path that does not end in .html / .htm.
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise config_error("The report file must end in .html.", output=str(path))
    data = report_data(
        model, input_shape, name=name, run_dir=run_dir, whatif=whatif, figures=figures, graph=graph
    )
    atomic_write_text(render_html(data), path)
    return data
