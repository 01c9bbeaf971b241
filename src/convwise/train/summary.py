"""A Keras-style model summary (layer, output shape, params) printed before training, as the seed does."""

from __future__ import annotations

from typing import Any

import torch


def summary_rows(model: torch.nn.Module, input_shape: tuple[int, ...]) -> list[dict[str, Any]]:
    """One row per leaf module that runs on a (1, *input_shape) zero input: name, type, output shape, params.

    The model's mode and RNG state are left unchanged.
    """
    rows: list[dict[str, Any]] = []
    hooks = []

    def hook(name: str):
        def fn(module: torch.nn.Module, _inputs: Any, output: Any) -> None:
            shape = list(output.shape) if isinstance(output, torch.Tensor) else []
            params = sum(p.numel() for p in module.parameters(recurse=False))
            rows.append(
                {"name": name, "type": type(module).__name__, "output_shape": shape, "params": params}
            )

        return fn

    for name, module in model.named_modules():
        if not list(module.children()):
            hooks.append(module.register_forward_hook(hook(name)))
    was_training = model.training
    rng = torch.get_rng_state()
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_shape)))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
        torch.set_rng_state(rng)
    return rows


def print_summary(model: torch.nn.Module, input_shape: tuple[int, ...], console: Any, *, title: str) -> int:
    """Print the summary table on a rich console; returns the total parameter count."""
    from rich.table import Table

    rows = summary_rows(model, input_shape)
    table = Table(title=title, title_justify="left")
    table.add_column("layer")
    table.add_column("type")
    table.add_column("output shape (N, C, H, W)")
    table.add_column("params", justify="right")
    for r in rows:
        table.add_row(r["name"], r["type"], str(tuple(r["output_shape"])), f"{r['params']:,}")
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    console.print(table)
    console.print(f"Total params: {total:,}  (trainable {trainable:,}, non-trainable {total - trainable:,})")
    return total


__all__ = ["print_summary", "summary_rows"]
