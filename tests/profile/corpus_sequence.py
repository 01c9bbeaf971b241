"""Sequence models of the profile corpus (see corpus.py): transformers with masks, a GPT-style LM, recurrent
layers (bidirectional, projections, packed, cells), seq2seq with attention, MultiheadAttention variants,
hand-written attention, embeddings and bags, an RMSNorm / SwiGLU block."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


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
