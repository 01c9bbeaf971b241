"""The variant experiment: train the seed CNN with each conv kind and width; accuracy against cost."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from convwise.fileio import atomic_path, make_folder
from convwise.train.checkpoint import atomic_write_text, build_model
from convwise.train.loop import train
from convwise.train.recipes import TrainConfig
from convwise.train.rundir import RESULTS_FILE

VARIANTS: tuple[str, ...] = ("standard", "separable", "grouped", "grouped-separable")
ALPHAS: tuple[float, ...] = (1.0, 0.5)


def variant_cost(
    model_name: str, model_config: dict[str, Any], input_shape: tuple[int, ...]
) -> dict[str, int]:
    """Exact params and MACs per image of a model configuration (convwise.profile, meta device)."""
    from convwise.profile import profile

    totals = profile(build_model(model_name, model_config), input_shape).totals
    return {"params": int(totals["params"]), "macs": int(totals["macs"])}


def run_experiment(
    base: TrainConfig,
    out_dir: str | Path,
    *,
    variants: tuple[str, ...] = VARIANTS,
    alphas: tuple[float, ...] = ALPHAS,
    groups: int = 2,
    data_dir: str | Path | None = None,
    download: bool | None = None,
    console: Any = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Train one run per (variant, alpha) into `out_dir/<variant>-a<alpha>/`, then write the table and plot.

    A finished variant (its results.json exists) is reused, an interrupted one is resumed, so the
    experiment can be stopped and started again at any moment.

    Returns:
        One row per run: variant, alpha, params, macs, test_accuracy, test_loss, epochs_run, seconds, run_dir.
    """
    out = Path(out_dir)
    make_folder(out)
    rows: list[dict[str, Any]] = []
    for variant in variants:
        for alpha in alphas:
            model_config = {**base.model_config, "conv_kind": variant, "width_multiplier": alpha}
            if variant in ("grouped", "grouped-separable"):
                model_config["groups"] = groups
            config = dataclasses.replace(base, model_config=model_config, recipe=f"{base.recipe}/experiment")
            run = out / f"{variant}-a{alpha:g}"
            if (run / RESULTS_FILE).is_file():
                result = json.loads((run / RESULTS_FILE).read_text())
            elif (run / "config.json").is_file():
                result = train(
                    config,
                    resume=run,
                    data_dir=data_dir,
                    download=download,
                    console=console,
                    progress=progress,
                    tensorboard=False,
                )
            else:
                result = train(
                    config,
                    run_dir=run,
                    data_dir=data_dir,
                    download=download,
                    console=console,
                    progress=progress,
                    tensorboard=False,
                )
            cost = variant_cost(config.model, model_config, (1, 28, 28))
            rows.append(
                {
                    "variant": variant,
                    "alpha": alpha,
                    "groups": groups if "grouped" in variant else 1,
                    **cost,
                    "test_accuracy": result["test_accuracy"],
                    "test_loss": result["test_loss"],
                    "epochs_run": result["epochs_run"],
                    "seconds": result["seconds"],
                    "run_dir": str(run),
                }
            )
    atomic_write_text(json.dumps(rows, indent=2) + "\n", out / "experiment.json")
    atomic_write_text(markdown_table(rows, base), out / "experiment.md")
    plot_tradeoff(rows, out / "experiment.png", base)
    return rows


def markdown_table(rows: list[dict[str, Any]], base: TrainConfig) -> str:
    """The results as a Markdown table, with ratios to the standard convolution at the same alpha."""
    ref = {r["alpha"]: r for r in rows if r["variant"] == "standard"}
    budget = (
        f"{base.epochs} epoch(s), {'all' if base.train_subset is None else base.train_subset} training images"
    )
    lines = [
        f"Seed Fashion-MNIST CNN, conv variants (recipe {base.recipe}, {budget}, seed {base.seed}); "
        "MACs per 28x28 image (exact, convwise.profile).",
        "",
        "| variant | alpha | params | MACs | MACs vs standard | test accuracy | test loss | epochs "
        "| train s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        std = ref.get(r["alpha"])
        ratio = f"{r['macs'] / std['macs']:.3f}" if std else "-"
        name = r["variant"] + (f" (g={r['groups']})" if r["groups"] > 1 else "")
        lines.append(
            f"| {name} | {r['alpha']:g} | "
            f"{r['params']:,} | {r['macs']:,} | {ratio} | {r['test_accuracy']:.2%} | {r['test_loss']:.4f} | "
            f"{r['epochs_run']} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def plot_tradeoff(rows: list[dict[str, Any]], path: Path, base: TrainConfig) -> Path | None:
    """Test accuracy against MACs and against params (log x), one marker per variant, one colour per alpha."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    markers = {"standard": "s", "separable": "o", "grouped": "^", "grouped-separable": "D"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, key, label in ((axes[0], "macs", "MACs per image"), (axes[1], "params", "parameters")):
        for r in rows:
            ax.scatter(
                r[key],
                r["test_accuracy"] * 100,
                marker=markers.get(r["variant"], "x"),
                s=60,
                color="tab:blue" if r["alpha"] == 1.0 else "tab:orange",
                edgecolors="black",
                zorder=3,
            )
            ax.annotate(
                f"{r['variant']} α={r['alpha']:g}",
                (r[key], r["test_accuracy"] * 100),
                textcoords="offset points",
                xytext=(6, 4 if r["variant"] in ("standard", "grouped") else -10),
                fontsize=7,
            )
        ax.set_xscale("log")
        ax.margins(x=0.25)
        ax.set_xlabel(f"{label} (log scale)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    budget = (
        f"{base.epochs} epoch(s), {'all' if base.train_subset is None else base.train_subset} train images"
    )
    fig.suptitle(f"Fashion-MNIST: accuracy vs cost of conv variants ({budget}; blue α=1, orange α=0.5)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


__all__ = ["ALPHAS", "VARIANTS", "markdown_table", "plot_tradeoff", "run_experiment", "variant_cost"]
