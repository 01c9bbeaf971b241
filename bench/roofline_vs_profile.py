"""Per-layer FLOPs and bytes of the roofline's own hooks next to `convwise.profile`'s rows (SPEC §2 memory).

For each model, every leaf call the roofline (`convwise.measure.roofline.layer_costs`) records is grouped
under the profile's unit (leaf module, or primitive convwise conv `SpecConv2d`) and the two counts are
compared: FLOPs (the profile's `flops`, plus `other_ops` for element-wise layers, the roofline's convention)
and bytes (`bytes_moved`). Prints how many layers agree and, per layer type, the differences.

Usage: python bench/roofline_vs_profile.py
"""

from __future__ import annotations

from collections import defaultdict

import torch

from convwise.measure.roofline import layer_costs
from convwise.models import build
from convwise.profile import profile

MODELS = [
    ("mobilenet_v1", {"width_multiplier": 0.25, "resolution": 96}, (3, 96, 96)),
    ("fashion_separable_cnn", {}, (1, 28, 28)),
    ("kws_cnn", {}, (1, 34, 13)),
]


def compare(name: str, config: dict, shape: tuple[int, ...], batch: int = 2) -> None:
    """Print the agreement of the roofline's counts with the profile's for one model."""
    model = build(name, **config).eval()
    costs = layer_costs(model, torch.randn(batch, *shape))
    report = profile(model, shape, batch=batch)

    def unit_of(leaf: str) -> str:
        found, key = leaf, leaf
        while key:
            if report.nodes[key].unit:
                found = key
            key = key.rpartition(".")[0]
        return found

    groups: dict[str, list] = defaultdict(lambda: [0, 0, set()])
    for c in costs:
        g = groups[unit_of(c.name)]
        g[0] += c.flops
        g[1] += c.bytes
        g[2].add(c.type)
    rows = {r["name"]: r for r in report.rows(depth=99)}
    diffs: dict[str, list[int]] = defaultdict(list)
    same_flops = same_bytes = 0
    conv_linear = conv_linear_same = 0
    for unit, (flops, moved, types) in groups.items():
        sub = report.subtree(unit)
        kind = "/".join(sorted(types))
        mine_flops = sub.mults + sub.acc_adds + sub.bias_adds
        if kind not in ("Conv2d", "Linear"):
            mine_flops += sub.other_ops
        mine_bytes = sub.weight_bytes + sub.traffic_in + sub.traffic_out
        same_flops += mine_flops == flops
        same_bytes += mine_bytes == moved
        if kind in ("Conv2d", "Linear"):
            conv_linear += 1
            conv_linear_same += mine_flops == flops and mine_bytes == moved
        if mine_flops != flops:
            diffs[f"{kind} FLOPs"].append(flops - mine_flops)
        if mine_bytes != moved:
            diffs[f"{kind} bytes"].append(moved - mine_bytes)
    total = sum(g[1] for g in groups.values())
    print(
        f"{name} (batch {batch}): {len(groups)} layers; FLOPs equal {same_flops}, bytes equal {same_bytes}; "
        f"conv/linear both equal {conv_linear_same}/{conv_linear}; total bytes roofline {total:,} "
        f"profile {report.totals['bytes_moved']:,} ({len(rows)} profile rows)"
    )
    for key, values in sorted(diffs.items()):
        print(f"    {key}: {len(values)} differ, roofline − profile ∈ {sorted(set(values))}")


def main() -> None:
    """Compare the three reference models."""
    for name, config, shape in MODELS:
        compare(name, config, shape)


if __name__ == "__main__":
    main()
