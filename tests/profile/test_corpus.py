"""The corpus invariant: every model in every execution mode is counted exactly, the same way, unchanged.

For each corpus model (tests/profile/corpus.py) and each of five modes — train, eval, eval under
`torch.no_grad`, eval under `torch.inference_mode`, eval on real tensors (`device="real"`) — at batch 1
and 3:

- MACs equal PyTorch's `FlopCounterMode` / 2 wherever it counts the op: run on real tensors with autograd
  on, attention on its math backend and, for recurrent layers, oneDNN off (so the fused CPU kernels it
  cannot see run as the matrix products it counts); it counts no ``mv``/``dot``/``bilinear``, so those
  are left out of our side of the comparison;
- params equal the unique `parameters()` sum;
- every count is the same in the four inference modes (no dependence on the kernel, the device or the
  autograd mode);
- counts per sample do not change with the batch (batch 3 = 3 × batch 1);
- the status is complete, or partial naming exactly the ops that have no formula;
- the model is untouched: train/eval flags, parameters, buffers, tensor attributes, the RNG state, and
  its output on a fixed input.

Cases: len(CORPUS) models × 5 modes × 2 batches.
"""

from __future__ import annotations

import contextlib
import copy
import math
from typing import Any

import pytest
import torch
from corpus import CORPUS, Entry
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from convwise.profile import profile

MODES = ("train", "eval", "no_grad", "inference_mode", "real")
BATCHES = (1, 3)
#: Op counts that must scale with the batch and agree across the inference modes.
OP_KEYS = ("mults", "acc_adds", "bias_adds", "other_ops", "mults_excluding_padding")


def _inputs(entry: Entry, batch: int, device: str = "cpu") -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1)
    out = []
    for spec in entry.inputs:
        shape = spec.batched(batch)
        if spec.dtype is None:
            out.append(torch.randn(shape, generator=g).to(device))
        else:
            out.append(torch.zeros(shape, dtype=spec.dtype, device=device))
    return tuple(out)


def oracle_macs(entry: Entry, model: nn.Module, batch: int, training: bool) -> int:
    """FlopCounterMode's count / 2 for the model in the given mode (a deep copy; the original is left)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from convwise.profile import unwrap

    inner = copy.deepcopy(unwrap(model)[0]) if not isinstance(model, torch.jit.ScriptModule) else model
    inner.train(training)
    counter = FlopCounterMode(display=False)
    state = torch.get_rng_state()
    try:
        recurrent = any(isinstance(m, (nn.RNNBase, nn.RNNCellBase)) for m in inner.modules())
        with counter, sdpa_kernel(SDPBackend.MATH), torch.backends.mkldnn.flags(enabled=not recurrent):
            inner(*_inputs(entry, batch))
    finally:
        torch.set_rng_state(state)
        model.train(training)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


def _uncounted_by_oracle(report: Any) -> int:
    """Our multiplications in ops FlopCounterMode has no entry for (mv, dot, F.bilinear)."""
    return sum(
        values[1]
        for node in report.nodes.values()
        for op, values in node.ops.items()
        if op in ("aten.mv", "aten.dot", "F.bilinear")
    )


def _run(entry: Entry, model: nn.Module, mode: str, batch: int) -> Any:
    """Profile in `mode`, checking that the model is exactly as it was afterwards."""
    model.train(mode == "train")
    specs = list(entry.inputs)
    device = "real" if mode == "real" else "meta"
    context = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode}.get(mode)
    before = _snapshot(model)
    with context() if context else contextlib.nullcontext():
        report = profile(model, specs, batch=batch, device=device)
    _assert_same_state(before, model)
    return report


def _snapshot(model: nn.Module) -> dict[str, Any]:
    return {
        "training": [m.training for m in model.modules()],
        "params": [
            (n, p, p.detach().clone(), p.device, p.requires_grad) for n, p in model.named_parameters()
        ],
        "buffers": [(n, b.detach().clone()) for n, b in model.named_buffers()],
        "attrs": [
            sorted((k, v.device.type) for k, v in vars(m).items() if isinstance(v, torch.Tensor))
            for m in model.modules()
        ],
        "rng": torch.get_rng_state(),
    }


def _assert_same_state(before: dict[str, Any], model: nn.Module) -> None:
    after = _snapshot(model)
    assert after["training"] == before["training"]
    assert len(after["params"]) == len(before["params"])
    for (n0, p0, v0, d0, g0), (n1, p1, _v1, d1, g1) in zip(before["params"], after["params"], strict=True):
        assert (n0, d0, g0) == (n1, d1, g1) and p1 is p0 and torch.equal(p1.detach(), v0), n0
    for (n0, b0), (n1, b1) in zip(before["buffers"], after["buffers"], strict=True):
        assert n0 == n1 and torch.equal(b0, b1), n0
    assert after["attrs"] == before["attrs"]
    assert torch.equal(after["rng"], before["rng"])


def _output(model: nn.Module, entry: Entry) -> Any:
    """The model's output in eval mode on a fixed input (a compiled model: its module, run eagerly)."""
    from convwise.profile import unwrap

    model = unwrap(model)[0]
    was = model.training
    model.eval()
    with torch.no_grad():
        out = model(*_inputs(entry, 2))
    model.train(was)
    return out


def _same_output(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_output(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same_output(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize("entry", CORPUS, ids=[e.name for e in CORPUS])
def test_corpus_invariant(entry: Entry) -> None:
    model = entry.build()
    model.eval()
    reference = _output(model, entry)
    unique = sum(p.numel() for p in model.parameters())
    reports = {(mode, b): _run(entry, model, mode, b) for mode in MODES for b in BATCHES}
    model.eval()
    assert _same_output(reference, _output(model, entry)), "the model computes something else after profiling"
    oracle = {
        (training, b): oracle_macs(entry, model, b, training) for training in (True, False) for b in BATCHES
    }
    for (mode, b), r in reports.items():
        t, where = r.totals, f"{entry.name} {mode} batch {b}"
        assert t["params"] == unique, where
        assert t["macs"] - _uncounted_by_oracle(r) == oracle[(mode == "train", b)], where
        assert t["flops"] == t["mults"] + t["acc_adds"] + t["bias_adds"], where
        if entry.partial:
            assert r.status == "partial" and set(t["uncounted_ops"]) == set(entry.partial), where
        else:
            assert r.status == "complete" and not t["uncounted_ops"], (where, t["uncounted_ops"])
        assert r.batch == b and math.prod(r.input_shapes[0][:1]) == b, where
    for b in BATCHES:  # the same counts however PyTorch runs the model
        base = reports[("eval", b)].totals
        for mode in ("no_grad", "inference_mode", "real"):
            other = reports[(mode, b)].totals
            assert {k: other[k] for k in OP_KEYS} == {k: base[k] for k in OP_KEYS}, (entry.name, mode, b)
    for mode in MODES:  # counts per sample do not depend on the batch
        one, three = reports[(mode, 1)].totals, reports[(mode, 3)].totals
        if entry.per_forward:  # weight computations once per forward: affine in the batch
            two = _run(entry, model, mode, 2).totals
            assert all(three[k] - two[k] == two[k] - one[k] for k in OP_KEYS), (entry.name, mode)
        else:
            assert {k: three[k] for k in OP_KEYS} == {k: 3 * one[k] for k in OP_KEYS}, (entry.name, mode)


def test_corpus_size() -> None:
    assert len(CORPUS) >= 30
    assert len({e.name for e in CORPUS}) == len(CORPUS)
