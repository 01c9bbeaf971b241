"""`convwise whatif TARGET --to KIND`: a model's cost with its convolutions made separable or grouped."""

from __future__ import annotations

import argparse

HELP = "What if a model's convolutions were separable or grouped? Rewrites them and reports the cost."
DESCRIPTION = (
    "Load TARGET (a zoo name, path/to/file.py:factory or package.module:factory), replace every "
    "standard convolution with a kernel larger than 1×1 (or those whose name matches --only) by a "
    "separable, grouped or grouped-separable one with the same channels, stride, padding and dilation, "
    "check that every output shape is kept, and report params and MACs per replaced layer before and "
    "after, the measured ratio beside the theory (1/Cout + 1/(kh·kw) for separable) and the totals. "
    "Layers whose channels G does not divide are skipped and listed. --alpha / --resolution build a zoo "
    "model scaled first; --project-alpha adds each replaced layer's cost at a width multiplier without "
    "changing the model. -o saves the rewritten module."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    from convwise.cli.common import add_target_arguments

    add_target_arguments(parser)  # --alpha / --resolution scale a zoo model, as for every TARGET
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
        "--project-alpha",
        metavar="A",
        help="also project each replaced layer's cost with its channels thinned by the width multiplier A "
        "(the model keeps its channels; --alpha builds a thinner zoo model instead)",
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


def run(args: argparse.Namespace) -> int:
    """Rewrite, report, optionally save."""
    from convwise.cli.common import load_target_args, print_json
    from convwise.core.scaling import exact
    from convwise.models.whatif import whatif
    from convwise.views import console

    loaded, shape = load_target_args(args)
    alpha = None if args.project_alpha is None else float(exact(args.project_alpha, "--project-alpha"))
    result = whatif(
        loaded.model,
        args.to,
        input_shape=shape,
        depth_multiplier=args.multiplier,
        bias_policy=args.bias_policy,
        only=args.only,
        projected_width_multiplier=alpha,
    )
    saved = None
    if args.output:
        import torch

        from convwise.fileio import atomic_file

        with atomic_file(args.output, "wb") as fh:
            torch.save(result.model, fh)
        saved = args.output
    if args.json:
        print_json({**result.to_dict(), "target": args.target, "saved": saved})
        return 0
    con = console(min_width=160)
    con.print(result, soft_wrap=True)
    if saved:
        con.print(
            f"saved the rewritten module to {saved} "
            "(torch.save; load with torch.load(..., weights_only=False))"
        )
    return 0
