"""A corpus of small architectures of the kinds people bring to a profiler, for the invariant tests.

The models live in corpus_vision.py and corpus_sequence.py (and the structural cases below); this file
holds the entries: each model with its inputs.

Every entry builds a fresh model (deterministic weights) and names one sample's inputs as `TensorSpec`s
(token ids are `long`, masks `bool`). The models are tiny so that each runs in milliseconds; what they
exercise is the mechanism: attention and transformer layers (with masks, fast paths), recurrent layers
(bidirectional, projections, cells, packed sequences), embeddings, linear layers on non-contiguous
inputs, every convolution and pooling family, F.fold, weight reparametrisations, shared modules,
custom autograd Functions and custom ops, wrappers (DataParallel, torch.compile, TorchScript).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from corpus_sequence import (
    GPT,
    Bags,
    CellLoop,
    CrossAttention,
    Decoder,
    EinsumAttention,
    ElmanRNN,
    Encoder,
    GRUClassifier,
    LSTMTagger,
    MHABatchFirst,
    PackedLSTM,
    Seq2SeqAttention,
    Seq2SeqTransformer,
    SwiGLU,
)
from corpus_vision import (
    ConvNeXtBlock,
    DetectionHead,
    FoldUnfold,
    MLPMixer,
    PixelShuffleUp,
    ResNet,
    SqueezeExcite,
    Transposed1d3d,
    UNet,
    conv1d_stack,
    conv3d_stack,
    grouped_dilated,
    pooling_variants,
    transposed_convs,
    weight_norms,
    zoo_fashion,
)
from torch import nn

from convwise.profile import TensorSpec


@dataclass(frozen=True)
class Entry:
    """One corpus model.

    Attributes:
        name: test id.
        build: returns a fresh model.
        inputs: one sample's inputs, one spec per forward argument.
        partial: ops that have no formula (the status must be partial and name them).
        per_forward: the model computes weights once per forward (weight norm): counts are affine, not
            proportional, in the batch.
    """

    name: str
    build: Callable[[], nn.Module]
    inputs: tuple[TensorSpec, ...]
    partial: tuple[str, ...] = ()
    per_forward: bool = False


def f(*shape: int) -> TensorSpec:
    return TensorSpec(shape)


def ids(*shape: int) -> TensorSpec:
    return TensorSpec(shape, torch.long)


def mask(*shape: int) -> TensorSpec:
    return TensorSpec(shape, torch.bool)


# --- structure -------------------------------------------------------------------------------------------


class SharedTwoParents(nn.Module):
    """One projection module used by an encoder and a decoder (reachable under two parents)."""

    def __init__(self) -> None:
        super().__init__()
        shared = nn.Linear(6, 6)
        self.encoder = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), shared)
        self.decoder = nn.Sequential(shared, nn.Tanh(), nn.Linear(6, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class _Swish(torch.autograd.Function):
    @staticmethod
    def forward(ctx: object, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        y = x @ w
        return y * torch.sigmoid(y)

    @staticmethod
    def backward(ctx: object, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # pragma: no cover
        return grad, None


class CustomFunction(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(5, 7))
        self.fc = nn.Linear(7, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(_Swish.apply(x, self.w))


_MYSTERY: list[Callable[[torch.Tensor], torch.Tensor]] = []


def mystery_op() -> Callable[[torch.Tensor], torch.Tensor]:
    """A custom op convwise has no formula for (registered on first use: torch.library is slow to import)."""
    if not _MYSTERY:

        @torch.library.custom_op("convwise_corpus::mystery", mutates_args=())
        def mystery(x: torch.Tensor) -> torch.Tensor:
            return x.sin().cumsum(-1)

        @mystery.register_fake
        def _(x: torch.Tensor) -> torch.Tensor:
            return torch.empty_like(x)

        _MYSTERY.append(mystery)
    return _MYSTERY[0]


class UnknownOp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 6)
        self.fc2 = nn.Linear(6, 2)
        mystery_op()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(mystery_op()(self.fc1(x)))


def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(), nn.Linear(12, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 4), nn.Softmax(-1)
    )


def data_parallel() -> nn.Module:
    return nn.DataParallel(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten()))


def compiled() -> nn.Module:
    return torch.compile(ResNet())  # never called here: profiling must not compile it


def scripted() -> nn.Module:
    return torch.jit.script(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    )


def _seeded(build: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        torch.manual_seed(0)
        return build()

    return make


_ENTRIES = [
    Entry("mlp", mlp, (f(3, 4),)),
    Entry("resnet", ResNet, (f(3, 8, 8),)),
    Entry("unet", UNet, (f(1, 8, 8),)),
    Entry("detection_head", DetectionHead, (f(3, 8, 8),)),
    Entry("mlp_mixer", MLPMixer, (f(3, 16, 16),)),
    Entry("convnext_block", ConvNeXtBlock, (f(8, 7, 7),)),
    Entry("squeeze_excite", SqueezeExcite, (f(4, 6, 6),)),
    Entry("conv1d_stack", conv1d_stack, (f(2, 17),)),
    Entry("conv3d_stack", conv3d_stack, (f(2, 4, 6, 6),)),
    Entry("transposed_convs", transposed_convs, (f(4, 5, 5),)),
    Entry("transposed_1d_3d", Transposed1d3d, (f(3, 5),)),
    Entry("grouped_dilated", grouped_dilated, (f(4, 9, 9),)),
    Entry("pooling_variants", pooling_variants, (f(2, 13, 13),)),
    Entry("fold_unfold", FoldUnfold, (f(2, 6, 6),)),
    Entry("pixel_shuffle", PixelShuffleUp, (f(3, 5, 5),)),
    Entry(
        "weight_norms",
        weight_norms,
        (
            f(
                6,
            ),
        ),
        per_forward=True,
    ),
    Entry("zoo_fashion", zoo_fashion, (f(1, 28, 28),)),
    Entry("transformer_encoder", Encoder, (f(5, 8), mask(5))),
    Entry("transformer_decoder", Decoder, (f(4, 8), f(6, 8))),
    # nn.Transformer checks once per forward whether tgt_mask is causal (eq + all on the mask)
    Entry("seq2seq_transformer", Seq2SeqTransformer, (ids(5), ids(4)), per_forward=True),
    Entry("gpt_lm", GPT, (ids(12),)),
    Entry("lstm_bidirectional_proj", LSTMTagger, (f(5, 4),)),
    Entry("gru_bidirectional", GRUClassifier, (ids(6),)),
    Entry("elman_rnn", ElmanRNN, (f(4, 3),)),
    Entry("packed_lstm", PackedLSTM, (f(4, 3),)),
    Entry("rnn_cells", CellLoop, (f(3, 3),)),
    Entry("seq2seq_attention", Seq2SeqAttention, (ids(5), ids(4))),
    Entry("mha_batch_first", MHABatchFirst, (f(5, 8), mask(5))),
    Entry("cross_attention_kv", CrossAttention, (f(3, 8), f(4, 5))),
    Entry("einsum_attention", EinsumAttention, (f(6, 8),)),
    Entry("embedding_bags", Bags, (ids(7),)),
    Entry("swiglu_rmsnorm", SwiGLU, (f(5, 8),)),
    Entry(
        "shared_two_parents",
        SharedTwoParents,
        (
            f(
                4,
            ),
        ),
    ),
    Entry("custom_autograd_function", CustomFunction, (f(2, 5),)),
    Entry(
        "unknown_custom_op",
        UnknownOp,
        (
            f(
                4,
            ),
        ),
        partial=("convwise_corpus.mystery",),
    ),
    Entry("data_parallel", data_parallel, (f(3, 6, 6),)),
    Entry("torch_compile", compiled, (f(3, 8, 8),)),
    Entry("torchscript", scripted, (f(3, 8, 8),)),
]
#: The corpus, each builder seeded.
CORPUS: list[Entry] = [Entry(e.name, _seeded(e.build), e.inputs, e.partial, e.per_forward) for e in _ENTRIES]
