"""A corpus of small architectures of the kinds people bring to a profiler, for the invariant tests.

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
import torch.nn.functional as F
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


# --- vision ----------------------------------------------------------------------------------------------


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.down(x))


class ResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True)
        )
        self.layer1 = BasicBlock(8, 8, 1)
        self.layer2 = BasicBlock(8, 16, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class UNet(nn.Module):
    """Two levels: max-pool down, transposed-conv and bilinear up, skip concatenations."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU())
        self.bottom = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.up2 = nn.ConvTranspose2d(8, 8, 2, stride=2)
        self.dec2 = nn.Conv2d(16, 4, 3, padding=1)
        self.up1 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec1 = nn.Conv2d(8, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        b = self.bottom(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))
        return self.dec1(torch.cat([self.up1(d2), e1], dim=1))


class DetectionHead(nn.Module):
    """A backbone and three heads: class logits, boxes, objectness (a dict and a tuple out)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.GroupNorm(2, 8), nn.SiLU())
        self.cls = nn.Conv2d(8, 5 * 3, 1)
        self.box = nn.Conv2d(8, 4 * 3, 3, padding=1)
        self.obj = nn.Conv2d(8, 3, 1)

    def forward(self, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        h = self.backbone(x)
        n = h.shape[0]
        logits = self.cls(h).permute(0, 2, 3, 1).reshape(n, -1, 5)
        boxes = self.box(h).permute(0, 2, 3, 1).reshape(n, -1, 4).sigmoid()
        return {"logits": logits, "boxes": boxes}, self.obj(h).flatten(1)


class MixerBlock(nn.Module):
    def __init__(self, tokens: int, channels: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(channels)
        self.token_mlp = nn.Sequential(
            nn.Linear(tokens, 2 * tokens), nn.GELU(), nn.Linear(2 * tokens, tokens)
        )
        self.norm2 = nn.LayerNorm(channels)
        self.channel_mlp = nn.Sequential(
            nn.Linear(channels, 2 * channels), nn.GELU(), nn.Linear(2 * channels, channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, tokens, channels)
        x = x + self.token_mlp(self.norm1(x).transpose(1, 2)).transpose(1, 2)  # linear on a transposed view
        return x + self.channel_mlp(self.norm2(x))


class MLPMixer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, stride=4)  # 16×16 → 4×4 = 16 tokens
        self.blocks = nn.Sequential(MixerBlock(16, 8), MixerBlock(16, 8))
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.patch(x).flatten(2).transpose(1, 2)
        return self.head(self.blocks(t).mean(1))


class ConvNeXtBlock(nn.Module):
    """Depthwise 7×7, LayerNorm on channels-last, pointwise MLP as Linear layers, layer scale, residual."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, 4 * dim)
        self.pw2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.pw2(F.gelu(self.pw1(self.norm(y)))) * self.gamma
        return x + y.permute(0, 3, 1, 2)


class SqueezeExcite(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.norm = nn.InstanceNorm2d(8, affine=True)
        self.act = nn.Hardswish()
        self.fc1 = nn.Conv2d(8, 2, 1)
        self.fc2 = nn.Conv2d(2, 8, 1)
        self.prelu = nn.PReLU(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.norm(self.conv(x)))
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(y, 1)))))
        return self.prelu(y * s)


def conv1d_stack() -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(2, 4, 4, padding="same"),  # even kernel: one more padding pixel after than before
        nn.ReLU(),
        nn.Conv1d(4, 4, 3, dilation=2, padding=2, groups=2),
        nn.MaxPool1d(2),
        nn.AvgPool1d(3, stride=1, padding=1),
        nn.Conv1d(4, 6, 3, stride=2, padding_mode="circular", padding=1),
        nn.AdaptiveMaxPool1d(2),
        nn.Flatten(),
        nn.Linear(12, 3),
    )


def conv3d_stack() -> nn.Module:
    return nn.Sequential(
        nn.Conv3d(2, 4, 3, padding=1),
        nn.BatchNorm3d(4),
        nn.ReLU(),
        nn.MaxPool3d(2),
        nn.Conv3d(4, 4, (1, 3, 3), padding=(0, 1, 1), groups=4),
        nn.AdaptiveAvgPool3d(1),
        nn.Flatten(),
    )


def transposed_convs() -> nn.Module:
    return nn.Sequential(
        nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
        nn.ReLU(),
        nn.ConvTranspose2d(6, 2, 4, stride=2, padding=1, dilation=1, bias=False),
    )


class Transposed1d3d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.t1 = nn.ConvTranspose1d(3, 2, 4, stride=3)
        self.t3 = nn.ConvTranspose3d(2, 2, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 3, 5)
        y = self.t1(x)  # (N, 2, 16)
        return self.t3(y.reshape(y.shape[0], 2, 2, 2, 4))


def grouped_dilated() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(4, 8, 3, groups=4, dilation=2, padding=2),
        nn.Conv2d(8, 8, 3, groups=8, padding=1, bias=False),  # depthwise
        nn.Conv2d(8, 8, 4, padding="same", padding_mode="zeros"),  # even kernel, 'same'
        nn.Conv2d(8, 4, 3, padding=1, padding_mode="reflect"),
        nn.ReLU6(),
    )


def pooling_variants() -> nn.Module:
    return nn.Sequential(
        nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
        nn.MaxPool2d(2, dilation=2),
        nn.AdaptiveMaxPool2d((2, 3)),
        nn.AdaptiveAvgPool2d((3, 2)),
        nn.LeakyReLU(0.1),
    )


class FoldUnfold(nn.Module):
    """Patches out with F.unfold, mixed by a linear layer, summed back with F.fold (overlapping)."""

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Linear(2 * 3 * 3, 2 * 3 * 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 2, 6, 6)
        cols = F.unfold(x, 3, padding=1, stride=2)  # (N, 18, 9)
        cols = self.mix(cols.transpose(1, 2)).transpose(1, 2)
        return F.fold(cols, (6, 6), 3, padding=1, stride=2)


class PixelShuffleUp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * 4, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.refine = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.refine(self.shuffle(self.conv(x))).clamp(0, 1)


def weight_norms() -> nn.Module:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = torch.nn.utils.weight_norm(nn.Linear(6, 8))
        spectral = torch.nn.utils.spectral_norm(nn.Linear(8, 8))
    new = torch.nn.utils.parametrizations.weight_norm(nn.Linear(8, 4))
    return nn.Sequential(old, nn.Tanh(), spectral, nn.ReLU(), new)


def zoo_fashion() -> nn.Module:
    from convwise.models import build

    return build("fashion_separable_cnn")


# --- sequence models -------------------------------------------------------------------------------------


class Encoder(nn.Module):
    """nn.TransformerEncoder with a key padding mask (the eval fast path would use nested tensors)."""

    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        return self.encoder(x, src_key_padding_mask=pad)


class Decoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, 2)

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        causal = nn.Transformer.generate_square_subsequent_mask(tgt.shape[1])
        return self.decoder(tgt, memory, tgt_mask=causal, tgt_is_causal=True)


class Seq2SeqTransformer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.src_emb = nn.Embedding(20, 8)
        self.tgt_emb = nn.Embedding(20, 8)
        self.transformer = nn.Transformer(8, 2, 1, 1, 16, dropout=0.0)  # sequence first
        self.out = nn.Linear(8, 20)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:  # (N, S), (N, T) ids
        s, t = self.src_emb(src).transpose(0, 1), self.tgt_emb(tgt).transpose(0, 1)
        causal = nn.Transformer.generate_square_subsequent_mask(t.shape[0])
        return self.out(self.transformer(s, t, tgt_mask=causal))


class GPTBlock(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.GELU(approximate="tanh"), nn.Linear(4 * dim, dim)
        )
        self.drop = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(n, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=0.1 if self.training else 0.0)
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(n, t, c)))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Token and position embeddings, causal blocks, the LM head tied to the token embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.tok = nn.Embedding(32, 16)
        self.pos = nn.Embedding(12, 16)
        self.blocks = nn.ModuleList([GPTBlock(16, 2) for _ in range(2)])
        self.ln = nn.LayerNorm(16)
        self.head = nn.Linear(16, 32, bias=False)
        self.head.weight = self.tok.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


class LSTMTagger(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            4, 6, num_layers=2, bidirectional=True, proj_size=3, batch_first=True, dropout=0.2
        )
        self.head = nn.Linear(6, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out)


class GRUClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(30, 6)
        self.gru = nn.GRU(6, 5, num_layers=2, bidirectional=True, dropout=0.3)
        self.head = nn.Linear(10, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # (N, T)
        out, _ = self.gru(self.emb(ids).transpose(0, 1))  # sequence first
        return self.head(out[-1])


class ElmanRNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bias=False, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0]


class PackedLSTM(nn.Module):
    """An LSTM on a packed batch of sequences of different lengths."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(3, 4, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, T, 3)
        n, t = x.shape[0], x.shape[1]
        lengths = torch.full((n,), t - 1)  # every row one step of padding (counts per sample stay equal)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True)
        out, _ = self.lstm(packed)
        return nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=t)[0]


class CellLoop(nn.Module):
    """LSTMCell and GRUCell stepped over time by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTMCell(3, 4)
        self.gru = nn.GRUCell(4, 4, bias=False)
        self.rnn = nn.RNNCell(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, T, 3)
        h = c = x.new_zeros(x.shape[0], 4)
        g = x.new_zeros(x.shape[0], 4)
        outs = []
        for step in range(x.shape[1]):
            h, c = self.lstm(x[:, step], (h, c))
            g = self.gru(h, g)
            outs.append(self.rnn(g))
        return torch.stack(outs, 1)


class Seq2SeqAttention(nn.Module):
    """GRU encoder, GRU decoder with dot-product (Luong) attention over the encoder states."""

    def __init__(self) -> None:
        super().__init__()
        self.src = nn.Embedding(25, 6)
        self.tgt = nn.Embedding(25, 6)
        self.encoder = nn.GRU(6, 8, batch_first=True)
        self.decoder = nn.GRU(6, 8, batch_first=True)
        self.combine = nn.Linear(16, 8)
        self.out = nn.Linear(8, 25)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        enc, h = self.encoder(self.src(src))  # (N, S, 8)
        dec, _ = self.decoder(self.tgt(tgt), h)  # (N, T, 8)
        weights = torch.softmax(torch.bmm(dec, enc.transpose(1, 2)), dim=-1)  # (N, T, S)
        context = torch.bmm(weights, enc)
        return self.out(torch.tanh(self.combine(torch.cat([dec, context], dim=-1))))


class MHABatchFirst(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True, dropout=0.1)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        out, weights = self.attn(x, x, x, key_padding_mask=pad)
        return out + weights.sum(-1, keepdim=True)


class CrossAttention(nn.Module):
    """MHA with its own key/value widths, bias_k/bias_v and a zero attention slot; no weights returned."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 4, kdim=5, vdim=3, add_bias_kv=True, add_zero_attn=True)

    def forward(self, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:  # (N, L, 8), (N, S, 5)
        k = kv
        v = kv[..., :3]
        out, _ = self.attn(q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), need_weights=False)
        return out


class EinsumAttention(nn.Module):
    """Hand-written attention: einsum scores, a masked_fill, softmax, einsum with the values."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(8, 24, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        scores = torch.einsum("nld,nsd->nls", q, k) / 8**0.5
        t = x.shape[1]
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        return torch.einsum("nls,nsd->nld", scores.softmax(-1), v)


class Bags(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mean_bag = nn.EmbeddingBag(40, 6, mode="mean")
        self.max_bag = nn.EmbeddingBag(40, 6, mode="max")
        self.emb = nn.Embedding(40, 6, padding_idx=0)
        self.head = nn.Linear(18, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # (N, L): one bag per row
        summed = self.emb(ids).sum(1)
        return self.head(torch.cat([self.mean_bag(ids), self.max_bag(ids), summed], dim=1))


class SwiGLU(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.RMSNorm(8)
        self.gate = nn.Linear(8, 16, bias=False)
        self.up = nn.Linear(8, 16, bias=False)
        self.down = nn.Linear(16, 8, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


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
