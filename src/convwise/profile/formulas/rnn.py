"""Formulas of recurrent layers (``torch.lstm`` / ``gru`` / ``rnn_tanh`` / ``rnn_relu`` and their cells).

Costed from the call's weights, whichever kernel runs it (oneDNN's fused ``mkldnn_rnn_layer`` on CPU, a
cuDNN kernel, or the step-by-step reference): for every token (time step × batch row, or each element
of a packed sequence), every layer and every direction, with G gates (LSTM 4, GRU 3, RNN 1), hidden
size H, recurrent width R (H, or the LSTM's ``proj_size``) and layer input width I:

- the input and hidden products: linear layers I → G·H and R → G·H (`convwise.core.linear_counts`),
  with both biases (``b_ih``, ``b_hh``) as bias additions; an LSTM projection H → R (no bias);
- the gate arithmetic as other ops, per token: LSTM 13·H (gate sums 4H, three sigmoids 3H, tanh H,
  c = f·c + i·g 3H, tanh(c) H, h = o·tanh(c) H); GRU 10·H (sums 2H, sigmoids 2H, r·(W_hn h + b_hn) H,
  + W_in x H, tanh H, h = n + z·(h − n) 3H); RNN 2·H (sum, activation);
- dropout between layers while training: one op per element of each inner layer's output.
"""

from __future__ import annotations

from typing import Any

import torch

from convwise.core import linear_counts
from convwise.profile.formulas.table import OpCost, numel

#: Gates and per-token, per-H gate arithmetic of each recurrent kind.
_KINDS: dict[str, tuple[int, int]] = {"lstm": (4, 13), "gru": (3, 10), "rnn": (1, 2)}


def _cell_cost(kind: str, w_ih: Any, w_hh: Any, w_hr: Any, tokens: int, bias: bool) -> OpCost:
    gates, elementwise = _KINDS[kind]
    hidden = int(w_ih.shape[0]) // gates
    ih = linear_counts(int(w_ih.shape[1]), gates * hidden, tokens, bias)
    hh = linear_counts(int(w_hh.shape[1]), gates * hidden, tokens, bias)
    counts = ih + hh
    if w_hr is not None:
        counts = counts + linear_counts(hidden, int(w_hr.shape[0]), tokens, False)
    return OpCost(counts.mults, counts.acc_adds, counts.bias_adds, other_ops=elementwise * hidden * tokens)


def _layer_weights(
    params: list[Any], has_biases: bool, layers: int, directions: int
) -> list[tuple[Any, Any, Any]]:
    per = len(params) // (layers * directions)
    out = []
    for i in range(layers * directions):
        group = params[i * per : (i + 1) * per]
        w_ih, w_hh = group[0], group[1]
        extra = group[4:] if has_biases else group[2:]
        out.append((w_ih, w_hh, extra[0] if extra else None))
    return out


def rnn_call_formula(kind: str) -> Any:
    """The formula of ``torch.<kind>`` (padded input or packed data + batch sizes)."""

    def formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
        # lstm(input, hx: tuple, …) vs lstm(data, batch_sizes: Tensor, …); gru/rnn(input, hx, params: list, …)
        packed = isinstance(args[1 if kind == "lstm" else 2], torch.Tensor)
        if packed:  # (data, batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidirectional)
            data, params, has_biases, layers, dropout, train, bidirectional = (
                args[0],
                args[3],
                args[4],
                args[5],
                args[6],
                args[7],
                args[8],
            )
            tokens = int(data.shape[0])
        else:  # (input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
            data, params, has_biases, layers, dropout, train, bidirectional = (
                args[0],
                args[2],
                args[3],
                args[4],
                args[5],
                args[6],
                args[7],
            )
            tokens = numel(data) // int(data.shape[-1])
        directions = 2 if bidirectional else 1
        weights = _layer_weights(list(params), bool(has_biases), int(layers), directions)
        cost = OpCost()
        for w_ih, w_hh, w_hr in weights:
            cost = cost + _cell_cost(kind, w_ih, w_hh, w_hr, tokens, bool(has_biases))
        if train and float(dropout) > 0 and int(layers) > 1:
            width = directions * int(weights[0][1].shape[1])  # w_hh: (G·H, R)
            cost = cost + OpCost(other_ops=(int(layers) - 1) * tokens * width)
        return cost

    formula.__doc__ = f"torch.{kind}: every layer and direction of the recurrence, for every token."
    return formula


def cell_call_formula(kind: str) -> Any:
    """The formula of ``torch.<kind>_cell(input, hx, w_ih, w_hh, b_ih, b_hh)``: one step."""

    def formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
        x, w_ih, w_hh = args[0], args[2], args[3]
        bias = len(args) > 4 and args[4] is not None
        tokens = numel(x) // int(x.shape[-1])
        return _cell_cost(kind, w_ih, w_hh, None, tokens, bias)

    formula.__doc__ = f"torch.{kind}_cell: one step of the recurrence for every row."
    return formula
