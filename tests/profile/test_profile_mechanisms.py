"""Each mechanism behind "counts you can trust", checked against an oracle of its own.

Kernel choice (Linear on a transposed view), fused fast paths, recurrent layers, wrappers, TorchScript,
attribution through the path a module is called by, padding excluded from multiplications (brute
force), F.fold's additions (brute force), MaxPool's padding rule (PyTorch's own error), tensors left on
a module by old-style weight norm.
"""

from __future__ import annotations

import itertools
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convwise.core import ConfigError
from convwise.profile import TensorSpec, profile


def test_linear_on_a_transposed_view_keeps_its_bias_adds() -> None:
    # PyTorch runs matmul + add (not addmm) on a non-contiguous 3-D input; the layer's count stays
    lin = nn.Linear(4, 6)

    class Tokens(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = lin

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x.transpose(1, 2))

    for batch in (1, 3):
        t = profile(Tokens(), (4, 5), batch=batch).totals  # rows = batch·5 vectors of 4 features
        rows = batch * 5
        assert (t["mults"], t["acc_adds"], t["bias_adds"]) == (rows * 4 * 6, rows * 3 * 6, rows * 6)
        assert t["other_ops"] == 0


def test_lstm_counts_by_hand() -> None:
    # 2 layers, bidirectional, proj_size: per token and direction, layer 0 reads 4 features, layer 1
    # reads 2·P; hidden products read P (the projection); H=6, P=3, T=5, N=2 → 10 tokens
    model = nn.LSTM(4, 6, num_layers=2, bidirectional=True, proj_size=3, batch_first=True)
    t = profile(model, (5, 4), batch=2, device="real").totals
    tokens, h, p = 10, 6, 3
    per_dir = [4 * h * 4 + 4 * h * p + p * h, 4 * h * (2 * p) + 4 * h * p + p * h]
    assert t["mults"] == 2 * tokens * sum(per_dir)
    assert t["bias_adds"] == 2 * 2 * tokens * 2 * 4 * h  # b_ih and b_hh, 2 layers, 2 directions
    assert t["other_ops"] == 2 * 2 * tokens * 13 * h
    assert t == profile(model, (5, 4), batch=2).totals  # meta: the same counts as the fused CPU kernel


def test_gru_cell_step_by_hand() -> None:
    t = profile(nn.GRUCell(3, 4), (3,), batch=5).totals
    assert (t["mults"], t["bias_adds"], t["other_ops"]) == (5 * (12 * 3 + 12 * 4), 5 * 2 * 12, 5 * 10 * 4)


def test_fast_paths_are_not_taken() -> None:
    layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
    enc = nn.TransformerEncoder(layer, 2).eval()  # nested tensors would be used for the padding mask
    pad = torch.zeros(3, 5, dtype=torch.bool)
    pad[0, 3:] = True
    real = profile(enc, inputs=(torch.randn(3, 5, 8),), device="real")
    assert real.status == "complete" and real.totals["macs"] > 0
    with torch.no_grad():
        masked = enc(torch.randn(3, 5, 8), src_key_padding_mask=pad)
    assert not masked.is_nested  # the fast path is available outside the profiler …

    class Masked(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = enc

        def forward(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
            return self.enc(x, src_key_padding_mask=m)

    r = profile(Masked(), inputs=(torch.randn(3, 5, 8), pad), device="real")  # … not inside it
    assert r.status == "complete" and r.totals["macs"] == real.totals["macs"]


def test_wrappers_are_profiled_through_their_module() -> None:
    inner = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    plain = profile(inner, (3, 6, 6))
    for wrapped in (nn.DataParallel(inner), torch.compile(inner)):
        r = profile(wrapped, (3, 6, 6))
        assert r.totals == plain.totals and [x["name"] for x in r.rows()] == ["0", "1"]
        assert any("Profiled the module" in n for n in r.notes)


def test_distributed_data_parallel_is_profiled_through_its_module() -> None:
    # A process group of one (gloo) with an in-memory store: DDP needs a group to be built at all. Not a
    # FileStore (CI hung in this test with one in its temporary directory) and a short timeout, so a machine
    # that cannot form the group fails here in seconds instead of waiting out gloo's 30-minute default.
    from datetime import timedelta

    import torch.distributed as dist

    inner = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 5))
    plain = profile(inner, (3, 6, 6), batch=2)
    dist.init_process_group(
        "gloo", store=dist.HashStore(), rank=0, world_size=1, timeout=timedelta(seconds=60)
    )
    try:
        wrapped = nn.parallel.DistributedDataParallel(inner)
        r = profile(wrapped, (3, 6, 6), batch=2)
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()
    assert r.totals == plain.totals and r.totals["macs"] == 2 * (4 * 16 * 27 + 64 * 5)
    assert [x["name"] for x in r.rows()] == [x["name"] for x in plain.rows()] == ["0", "1", "2", "3", "4"]
    assert any("inside DistributedDataParallel" in n for n in r.notes)
    assert inner.training and next(inner.parameters()).device.type == "cpu"  # the wrapped model is kept


def test_torchscript_is_counted_at_the_top_level() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(model)
    scripted.train()
    stats = scripted.state_dict()["1.running_mean"].clone()
    r = profile(scripted, (3,), batch=2)
    assert r.ran_on == "cpu" and r.status == "complete"
    assert r.totals["macs"] == profile(model, (3,), batch=2).totals["macs"] == 2 * 12
    assert r.totals["params"] == sum(p.numel() for p in model.parameters())
    assert any("TorchScript" in n for n in r.notes) and "TorchScript" in (r.fallback or "")
    assert torch.equal(scripted.state_dict()["1.running_mean"], stats)  # training-mode BN left as it was


def test_shared_module_is_charged_to_the_path_it_is_called_through() -> None:
    shared = nn.Linear(4, 4)

    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(shared, nn.ReLU())
            self.decoder = nn.Sequential(nn.ReLU(), shared, shared)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.decoder(self.encoder(x))

    r = profile(Two(), (4,))
    rows = {x["name"]: x for x in r.rows()}
    assert (rows["encoder.0"]["calls"], rows["encoder.0"]["macs"], rows["encoder.0"]["params"]) == (1, 16, 20)
    assert (rows["decoder.1"]["calls"], rows["decoder.1"]["macs"], rows["decoder.1"]["params"]) == (2, 32, 0)
    assert rows["decoder.1"]["shared_params"] == 20
    assert r.totals["macs"] == 48 and r.totals["params"] == 20
    assert shared.weight.device.type == "cpu"  # functional_call leaves a doubly reachable module on meta


def _taps_inside(size: int, kernel: int, stride: int, dilation: int, before: int, out: int) -> int:
    return sum(1 for o in range(out) for t in range(kernel) if 0 <= o * stride - before + t * dilation < size)


@pytest.mark.parametrize(
    ("model", "shape", "pads"),
    [
        (nn.Conv1d(2, 3, 3, padding=1), (2, 7), [(1, 1)]),
        (nn.Conv1d(2, 4, 4, padding="same", dilation=1), (2, 9), [(1, 2)]),
        (
            nn.Conv3d(2, 2, (3, 2, 3), padding=(1, 0, 2), stride=(2, 1, 1)),
            (2, 5, 4, 6),
            [(1, 1), (0, 0), (2, 2)],
        ),
        (nn.Conv2d(2, 3, 4, padding="same"), (2, 6, 5), [(1, 2), (1, 2)]),
        (nn.Conv2d(2, 3, 2, padding="same", dilation=3), (2, 6, 6), [(1, 2), (1, 2)]),
    ],
    ids=["conv1d", "conv1d_same_even", "conv3d", "conv2d_same_even", "conv2d_same_dilated"],
)
def test_multiplications_excluding_padding_brute_force(model: nn.Module, shape, pads) -> None:
    r = profile(model, shape)
    t = r.totals
    out = r.rows()[0]["output_shape"][2:]
    inside = 1
    for size, o, k, s, d, (before, _) in zip(
        shape[1:], out, model.kernel_size, model.stride, model.dilation, pads, strict=True
    ):
        inside *= _taps_inside(size, k, s, d, before, o)
    cin_g = model.in_channels // model.groups
    assert t["mults_excluding_padding"] == model.out_channels * cin_g * inside
    assert t["mults"] == model.out_channels * cin_g * math.prod(model.kernel_size) * math.prod(out)


def test_fold_sums_overlapping_patches() -> None:
    # brute force: one addition per patch element landing on an output position already written
    size, kernel, stride, pad, channels = (5, 6), (3, 2), (2, 1), (1, 0), 2
    blocks = [
        (n + 2 * p - (k - 1) - 1) // s + 1 for n, k, s, p in zip(size, kernel, stride, pad, strict=True)
    ]
    writes: dict[tuple[int, int], int] = {}
    for by, bx, ky, kx in itertools.product(
        range(blocks[0]), range(blocks[1]), range(kernel[0]), range(kernel[1])
    ):
        y, x = by * stride[0] - pad[0] + ky, bx * stride[1] - pad[1] + kx
        if 0 <= y < size[0] and 0 <= x < size[1]:
            writes[(y, x)] = writes.get((y, x), 0) + 1
    additions = channels * sum(n - 1 for n in writes.values())
    fold = nn.Fold(size, kernel, stride=stride, padding=pad)
    r = profile(fold, (channels * 6, blocks[0] * blocks[1]), batch=2)
    assert r.status == "complete" and r.totals["other_ops"] == 2 * additions


def test_max_pool_padding_beyond_half_the_kernel_is_refused_like_torch() -> None:
    with pytest.raises(RuntimeError) as torch_error:
        nn.MaxPool2d(3, padding=2)(torch.randn(1, 1, 8, 8))
    with pytest.raises(ConfigError) as ours:
        profile(nn.MaxPool2d(3, padding=2), (1, 8, 8))
    assert str(torch_error.value).splitlines()[0] in str(ours.value)
    assert "The forward failed in the top-level forward (MaxPool2d)" in str(ours.value)


def test_transpose_in_place_is_data_movement() -> None:
    class T(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.clone().transpose_(1, 2)[0].t_().relu()

    r = profile(T(), (3, 4))
    assert r.status == "complete" and r.totals["other_ops"] == 12  # the relu


def test_old_style_weight_norm_leaves_its_weight_on_the_model_device() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = torch.nn.utils.weight_norm(nn.Linear(3, 4))
    model(torch.randn(1, 3))
    before = model.weight
    r = profile(model, (3,))
    assert r.status == "complete" and r.totals["macs"] == 12
    assert model.weight is before and model.weight.device.type == "cpu"


def test_token_ids_and_masks_as_inputs() -> None:
    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(1000, 8)
            self.out = nn.Linear(8, 3)

        def forward(self, ids: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
            return self.out(self.emb(ids)) * keep[..., None]

    specs = [TensorSpec((12,), torch.long), TensorSpec((12,), torch.bool)]
    for device in ("meta", "real"):
        r = profile(Tagger(), specs, batch=2, device=device)
        assert r.input_shapes == [[2, 12], [2, 12]] and r.status == "complete"
        assert r.totals["macs"] == 2 * 12 * 8 * 3
    assert profile(Tagger(), [(12,), (12,)], dtype=torch.long, device="real").status == "complete"


def test_unbatched_input_is_not_a_batch() -> None:
    r = profile(nn.Conv2d(3, 4, 3), inputs=torch.randn(3, 8, 8))
    assert r.batch is None and r.totals["macs"] == 4 * 3 * 9 * 36
    assert profile(nn.Conv2d(3, 4, 3), inputs=torch.randn(3, 8, 8), batch=1).batch == 1


def test_inference_mode_decomposes_composite_ops() -> None:
    # under inference_mode PyTorch hands over aten.matmul, aten.einsum, aten.softmax … undecomposed
    class Mix(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.randn(6, 5))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.matmul(x, self.w)  # (N, 4, 5)
            s = torch.einsum("nlc,nmc->nlm", y, y).softmax(-1)
            return F.dropout(s @ y, 0.1, training=False).flatten(1).sum(-1)

    model = Mix()
    with torch.inference_mode():
        inside = profile(model, (4, 6), batch=2)
    outside = profile(model, (4, 6), batch=2)
    assert inside.status == outside.status == "complete"
    assert inside.totals == outside.totals
    assert outside.totals["macs"] == 2 * (4 * 6 * 5 + 4 * 5 * 4 + 4 * 4 * 5)


def test_compiled_submodule_runs_eagerly_without_dynamo_seeing_the_profiler() -> None:
    class Inner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.compile(nn.Linear(4, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x).relu()

    from torch._dynamo.utils import counters

    frames = dict(counters["frames"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = profile(Inner(), (4,), batch=2)
    assert r.status == "complete" and r.totals["macs"] == 2 * 4 * 3
    assert dict(counters["frames"]) == frames  # dynamo compiled nothing: the count ran eagerly
    assert not [w for w in caught if "global hooks" in str(w.message)]  # no warning about our hooks
