"""`convwise whatif TARGET --to KIND`: a model's cost with its convolutions made separable or grouped."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "What if a model's convolutions were separable or grouped? Rewrites them and reports the cost."
DESCRIPTION = (
    "Load TARGET (a zoo name, path/to/file.py:factory or package.module:factory), replace every "
    "standard convolution with a kernel larger than 1×1 (or those whose name matches --only) by a "
    "separable, grouped or grouped-separable one with the same channels, stride, padding and dilation, "
    "check that every output shape is kept, and report params and MACs per replaced layer before and "
    "after, the measured ratio beside the theory (1/Cout + 1/(kh·kw) for separable) and the totals. "
    "Layers whose channels G does not divide are skipped and listed. -o saves the rewritten module."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    from convwise.cli.common import add_target_arguments

    # no --alpha/--resolution from the shared set: here --alpha is the what-if width multiplier
    add_target_arguments(parser, zoo_scaling=False)
    parser.add_argument(
        "--to",
        default="separable",
        metavar="KIND",
        help="separable, grouped:G or grouped-separable:G (default: separable)",
    )
    parser.add_argument(
        "--multiplier", metavar="M", type=int, default=1, help="depth multiplier for separable rewrites"
    )
    parser.add_argument(
        "--alpha",
        metavar="A",
        help="also project each replaced layer's cost with its channels thinned by the width multiplier α",
    )
    parser.add_argument(
        "--only", metavar="GLOB", help="only convolutions whose module name matches this glob"
    )
    parser.add_argument(
        "--bias-policy",
        metavar="POLICY",
        help="separable biases: keras (pointwise only; default when the conv had a bias), pytorch or none",
    )
    parser.add_argument(
        "-o", "--output", metavar="PATH", help="save the rewritten module (torch.save) to PATH"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _fmt_ratio(value: Any) -> str:
    return "-" if value is None else f"{float(value):.4f}"


def render(result: Any) -> str:
    """Plain-text report of a `WhatIfResult`."""
    lines = [
        f"what-if: {result.rewrite.describe()} on input "
        f"{'×'.join(map(str, [1, *result.input_shape]))} (N×C×H×W)",
        "",
    ]
    header = (
        "layer",
        "before → after",
        "output",
        "params before→after",
        "MACs before→after",
        "ratio",
        "theory",
    )
    rows = []
    for r in result.replaced:
        out = "-" if r.output_shape is None else "×".join(map(str, r.output_shape))
        macs = "-" if r.macs_before is None else f"{r.macs_before:,} → {r.macs_after:,}"
        rows.append(
            (
                r.name or "(model)",
                f"{r.before.kind} {r.before.kernel_size[0]}x{r.before.kernel_size[1]} → {r.after.kind}",
                out,
                f"{r.params_before:,} → {r.params_after:,}",
                macs,
                _fmt_ratio(r.macs_ratio),
                f"{float(r.theory):.4f} ({r.theory_formula})",
            )
        )
    if rows:
        widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(x, widths, strict=True)).rstrip() for x in rows]
    else:
        lines.append("no convolution was replaced")
    for r in result.replaced:
        if r.alpha is not None:
            a = r.alpha
            extra = a.get("error") or f"params {a.get('params', '-'):,}" + (
                f", MACs {a['macs']:,}" if "macs" in a else ""
            )
            lines.append(
                f"  α={a['width_multiplier']}: {r.name} as "
                f"{a['in_channels']}→{a['out_channels']} channels: {extra}"
            )
    skipped = [s for s in result.skipped if s.eligible]
    others = [s for s in result.skipped if not s.eligible]
    if skipped:
        lines += ["", "skipped (eligible but not rewritable):"]
        lines += [f"  {s.name}: {s.reason}" for s in skipped]
    if others:
        lines += ["", f"left as they are: {len(others)} convolution(s) not standard or 1×1"]
    lines += [
        "",
        f"total params: {result.params_before:,} → {result.params_after:,} "
        f"(×{result.params_after / result.params_before:.4f})"
        if result.params_before
        else "total params: 0",
        f"total MACs:   {result.macs_before:,} → {result.macs_after:,} "
        f"(×{result.macs_after / result.macs_before:.4f})"
        if result.macs_before
        else "total MACs: 0",
        f"output shape kept: {result.output_shape}",
    ]
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Rewrite, report, optionally save."""
    from convwise.cli.common import load_target_args, parse_config, print_json
    from convwise.core import config_error
    from convwise.models.whatif import whatif

    loaded, shape = load_target_args(args, parse_config(args.config))
    alpha = None
    if args.alpha is not None:
        try:
            alpha = float(args.alpha)
        except ValueError:
            raise config_error("`--alpha` must be a positive number.", alpha=args.alpha) from None
    result = whatif(
        loaded.model,
        args.to,
        input_shape=shape,
        depth_multiplier=args.multiplier,
        bias_policy=args.bias_policy,
        only=args.only,
        width_multiplier=alpha,
    )
    saved = None
    if args.output:
        import torch

        from convwise.fileio import atomic_file

        with atomic_file(args.output, "wb") as fh:
            torch.save(result.model, fh)
        saved = args.output
    if args.json:
        payload = result.to_dict()
        payload["target"] = args.target
        payload["saved"] = saved
        print_json(payload)
        return 0
    print(render(result))
    if saved:
        print(
            f"saved the rewritten module to {saved} "
            "(torch.save; load with torch.load(..., weights_only=False))"
        )
    return 0
