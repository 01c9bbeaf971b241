"""A model as a graph, like Keras' `plot_model`: one box per layer (name, type, input/output shapes, params).

The graph comes from `torch.fx` (convwise variant layers and `torch.nn` layers are kept as leaves); a
model that cannot be traced symbolically falls back to the chain of leaf modules in the order a forward
pass runs them. Shapes come from one forward pass on a zero input (batch 1, no gradients, in eval mode;
the model's modes, parameters, buffers and the RNG state are restored afterwards).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from convwise.core import config_error, fmt
from convwise.viz.canvas import Canvas, text_width

#: Box colours per layer family.
FAMILY_COLORS: dict[str, str] = {
    "input": "#dddddd",
    "standard": "#a8c4e0",
    "grouped": "#f3b3b4",
    "depthwise": "#b5dcae",
    "pointwise": "#fbd0a3",
    "separable": "#d6bcd0",
    "grouped-separable": "#e9c8e0",
    "linear": "#d9c2b0",
    "norm": "#e4e4e4",
    "activation": "#f5efc6",
    "pool": "#bfe0dc",
    "other": "#f2f2f2",
    "output": "#dddddd",
}


@dataclass
class GraphNode:
    """One box: a layer (module call), a function/method call, the input or the output."""

    id: str
    name: str
    type: str
    family: str
    inputs: list[str] = field(default_factory=list)
    input_shapes: list[list[int]] = field(default_factory=list)
    output_shape: list[int] | None = None
    params: int = 0
    detail: str = ""


@dataclass
class ModelGraph:
    """The traced graph: nodes in execution order (inputs reference earlier node ids)."""

    name: str
    nodes: list[GraphNode]
    method: str  # "torch.fx" or "module order (not traceable: …)"
    total_params: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name,
            "method": self.method,
            "total_params": self.total_params,
            "nodes": [
                {
                    "id": n.id,
                    "name": n.name,
                    "type": n.type,
                    "family": n.family,
                    "inputs": n.inputs,
                    "input_shapes": n.input_shapes,
                    "output_shape": n.output_shape,
                    "params": n.params,
                    "detail": n.detail,
                }
                for n in self.nodes
            ],
        }


def _family(module: Any) -> tuple[str, str]:
    """(family, detail) of a leaf module: a conv's variant kind and kernel, else its family."""
    from convwise.layers.families import conv2d_spec, family

    spec = conv2d_spec(module)
    if spec is not None:
        kh, kw = spec.kernel_size
        detail = f"{kh}x{kw}"
        if spec.stride != (1, 1):
            detail += " /" + "x".join(map(str, spec.stride))
        if spec.dilation != (1, 1):
            detail += " dil " + "x".join(map(str, spec.dilation))
        if spec.groups > 1:
            detail += f" g{spec.groups}"
        return spec.kind, f"{spec.kind} {detail}"
    return family(module), ""


def _unseen_params(module: Any, seen: set[int]) -> int:
    """Elements of `module`'s parameters not counted before (a shared parameter counts once); marks them."""
    count = 0
    for p in module.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            count += p.numel()
    return count


def _shape(value: Any) -> list[int] | None:
    shape = getattr(value, "shape", None)
    return [int(v) for v in shape] if shape is not None else None


def _fx_graph(model: Any, example: Any) -> list[GraphNode]:
    import torch
    from torch import fx
    from torch.fx.passes.shape_prop import ShapeProp

    from convwise.layers import ConvVariant, SpecConv2d

    class Tracer(fx.Tracer):
        def is_leaf_module(self, m: torch.nn.Module, qualname: str) -> bool:
            if isinstance(m, (ConvVariant, SpecConv2d)):
                return True
            return super().is_leaf_module(m, qualname)

    graph = Tracer().trace(model)
    gm = fx.GraphModule(model, graph)
    with torch.no_grad():
        ShapeProp(gm).propagate(example)
    modules = dict(model.named_modules())
    seen_params: set[int] = set()
    nodes: list[GraphNode] = []
    keep: dict[str, str] = {}  # fx node name → id of the kept node it maps to
    alias: dict[str, list[str]] = {}
    for node in gm.graph.nodes:
        meta = node.meta.get("tensor_meta")
        out_shape = [int(v) for v in meta.shape] if meta is not None and hasattr(meta, "shape") else None
        srcs: list[str] = []
        for arg in node.all_input_nodes:
            srcs.extend(alias.get(arg.name, [keep[arg.name]] if arg.name in keep else []))
        srcs = list(dict.fromkeys(srcs))
        if node.op == "placeholder":
            gn = GraphNode(node.name, node.name, "Input", "input", output_shape=out_shape)
        elif node.op == "output":
            gn = GraphNode("output", "output", "Output", "output", srcs)
            gn.input_shapes = [nodes_by_id(nodes, s).output_shape or [] for s in srcs]
            gn.output_shape = gn.input_shapes[0] if len(gn.input_shapes) == 1 else None
        elif node.op == "call_module":
            mod = modules[str(node.target)]
            fam, detail = _family(mod)
            params = _unseen_params(mod, seen_params)
            gn = GraphNode(
                node.name, str(node.target), type(mod).__name__, fam, srcs, [], out_shape, params, detail
            )
        elif node.op in ("call_function", "call_method"):
            if out_shape is None:  # shape arithmetic (x.size(), getitem of sizes …): pass through
                alias[node.name] = srcs
                continue
            target = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "fn")
            gn = GraphNode(node.name, node.name, str(target), "other", srcs, [], out_shape)
        else:  # get_attr: a parameter/buffer used directly
            alias[node.name] = []
            continue
        if node.op != "output":
            gn.input_shapes = [nodes_by_id(nodes, s).output_shape or [] for s in srcs]
        keep[node.name] = gn.id
        nodes.append(gn)
    return nodes


def nodes_by_id(nodes: list[GraphNode], node_id: str) -> GraphNode:
    """The node with `node_id` (linear search: graphs are small)."""
    for n in nodes:
        if n.id == node_id:
            return n
    raise KeyError(node_id)


def _hook_graph(model: Any, example: Any) -> list[GraphNode]:
    """Fallback: leaf modules in the order the forward pass runs them, as a chain."""
    from convwise.layers import ConvVariant, SpecConv2d
    from convwise.profile.trace import leaf_modules, trace_calls

    leaves = [(n, m) for n, m in leaf_modules(model, whole=(ConvVariant, SpecConv2d)) if n]
    traced, _ = trace_calls(model, example, modules=leaves)
    calls = [(c.name, c.module, _shape(c.input) if c.args else None, _shape(c.output)) for c in traced]
    nodes = [GraphNode("x", "x", "Input", "input", output_shape=_shape(example))]
    seen: set[int] = set()
    for i, (name, mod, in_shape, out_shape) in enumerate(calls):
        fam, detail = _family(mod)
        params = _unseen_params(mod, seen)
        prev = nodes[-1].id
        nodes.append(
            GraphNode(
                f"n{i}", name, type(mod).__name__, fam, [prev], [in_shape or []], out_shape, params, detail
            )
        )
    nodes.append(
        GraphNode(
            "output",
            "output",
            "Output",
            "output",
            [nodes[-1].id],
            [nodes[-1].output_shape or []],
            nodes[-1].output_shape,
        )
    )
    return nodes


def model_graph(model: Any, input_shape: tuple[int, int, int], *, name: str = "model") -> ModelGraph:
    """Trace `model` on a zero input of shape (1, *input_shape) and return its layer graph.

    Raises:
        ConfigError: if the forward pass fails on that input.
    """
    import torch

    from convwise.profile.trace import preserved

    if len(input_shape) != 3:
        raise config_error("`input_shape` must be (C, H, W).", input_shape=input_shape)
    try:
        ref = next(iter(model.parameters()))
        device, dtype = ref.device, ref.dtype
    except StopIteration:
        device, dtype = torch.device("cpu"), torch.float32
    example = torch.zeros((1, *input_shape), device=device, dtype=dtype)
    with preserved(model):
        model.eval()
        try:
            nodes = _fx_graph(model, example)
            method = "torch.fx"
        except Exception as exc:  # not symbolically traceable: fall back to module order
            try:
                nodes = _hook_graph(model, example)
            except Exception as exc2:
                raise config_error(
                    f"The model's forward pass failed on a zero input: {type(exc2).__name__}: {exc2}",
                    input_shape=input_shape,
                ) from exc2
            method = f"module order (torch.fx could not trace it: {type(exc).__name__})"
    total = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    return ModelGraph(name, nodes, method, total)


# ---------------------------------------------------------------------------------------------- layout


def _shape_text(shape: list[int] | None) -> str:
    return "×".join(map(str, shape)) if shape else "?"


def _ranks(nodes: list[GraphNode]) -> dict[str, int]:
    rank: dict[str, int] = {}
    for n in nodes:
        rank[n.id] = 1 + max((rank[s] for s in n.inputs if s in rank), default=-1)
    return rank


def draw_graph(graph: ModelGraph, *, box_width: float = 290.0) -> Canvas:
    """Lay the graph out top to bottom (one rank per longest-path depth) and draw it as boxes and arrows."""
    rank = _ranks(graph.nodes)
    by_rank: dict[int, list[GraphNode]] = {}
    for n in graph.nodes:
        by_rank.setdefault(rank[n.id], []).append(n)
    box_h, v_gap, h_gap, margin = 50.0, 26.0, 40.0, 30.0
    lines_for: dict[str, tuple[str, str, str]] = {}
    widest = box_width
    for n in graph.nodes:
        title = n.name if n.type in ("Input", "Output") else f"{n.name} ({n.type})"
        if n.type in ("Input", "Output"):
            shapes = f"{'input' if n.type == 'Input' else 'output'} {_shape_text(n.output_shape)}"
        else:
            ins = ", ".join(_shape_text(s) for s in n.input_shapes) or "?"
            shapes = f"{ins} → {_shape_text(n.output_shape)}"
        extra = " · ".join(p for p in (n.detail, f"params {fmt(n.params)}" if n.params else "") if p)
        lines_for[n.id] = (title, shapes, extra)
        widest = max(
            widest,
            text_width(title, 11, bold=True) + 20,
            text_width(shapes, 10, mono=True) + 20,
            text_width(extra, 9.5) + 20,
        )
    box_width = widest
    max_cols = max(len(v) for v in by_rank.values())
    width = margin * 2 + max_cols * box_width + (max_cols - 1) * h_gap + 60  # room for skip edges
    head = 52.0
    pos: dict[str, tuple[float, float]] = {}
    centre = margin + (max_cols * box_width + (max_cols - 1) * h_gap) / 2
    for r in sorted(by_rank):
        row = by_rank[r]
        span = len(row) * box_width + (len(row) - 1) * h_gap
        for i, n in enumerate(row):
            pos[n.id] = (centre - span / 2 + i * (box_width + h_gap), head + r * (box_h + v_gap))
    height = head + (max(by_rank) + 1) * (box_h + v_gap) + 20
    cv = Canvas(math.ceil(width), math.ceil(height), title=f"{graph.name}: layer graph")
    cv.text(margin, 20, f"{graph.name}", size=15, weight="bold")
    cv.text(
        margin,
        38,
        f"{fmt(graph.total_params)} parameters (shared counted once) · graph from {graph.method}",
        size=10,
        color="#555555",
    )
    # edges first, so boxes sit on top
    skip_lane = 0
    for n in graph.nodes:
        x2, y2 = pos[n.id]
        for s in n.inputs:
            x1, y1 = pos[s]
            diff = rank[n.id] - rank[s]
            xc1, xc2 = x1 + box_width / 2, x2 + box_width / 2
            between = [pos[m.id] for r in range(rank[s] + 1, rank[n.id]) for m in by_rank.get(r, [])]
            if diff == 1:
                cv.line(xc1, y1 + box_h, xc2, y2, stroke="#555555", width=1.2, arrow=True)
            elif not any(bx - 4 <= xc1 <= bx + box_width + 4 for bx, _ in between):
                # a free vertical lane below the source: go down, then into the target
                bend = y2 - v_gap / 2
                cv.line(xc1, y1 + box_h, xc1, bend, stroke="#555555", width=1.2)
                cv.line(xc1, bend, xc2, y2, stroke="#555555", width=1.2, arrow=True)
            else:  # a skip connection: route it along the right side of the boxes in between
                skip_lane = (skip_lane % 3) + 1
                right = max([x1, x2, *(bx for bx, _ in between)]) + box_width
                lane = right + 12 * skip_lane
                ym1, ym2 = y1 + box_h / 2, y2 + box_h / 2
                cv.line(x1 + box_width, ym1, lane, ym1, stroke="#8a5a9e", width=1.2)
                cv.line(lane, ym1, lane, ym2, stroke="#8a5a9e", width=1.2)
                cv.line(lane, ym2, x2 + box_width, ym2, stroke="#8a5a9e", width=1.2, arrow=True)
    for n in graph.nodes:
        x, y = pos[n.id]
        title, shapes, extra = lines_for[n.id]
        cv.rect(
            x,
            y,
            box_width,
            box_h,
            fill=FAMILY_COLORS.get(n.family, "#f2f2f2"),
            stroke="#555555",
            width=1.0,
            rx=5,
        )
        cv.text(x + box_width / 2, y + 12, title, size=11, anchor="middle", weight="bold")
        cv.text(x + box_width / 2, y + 26, shapes, size=10, anchor="middle", mono=True)
        if extra:
            cv.text(x + box_width / 2, y + 40, extra, size=9.5, anchor="middle", color="#444444")
    return cv


def draw_model(model: Any, input_shape: tuple[int, int, int], *, name: str = "model") -> Canvas:
    """`model_graph` then `draw_graph`."""
    return draw_graph(model_graph(model, input_shape, name=name))
