"""The one table of aten op categories: what kind of work each op does (names without the ``aten.`` prefix).

The formula table (`convwise.profile.formulas`) reads a cost convention from a category (one op per
element, two per element, data movement, …) and the receptive-field tracker (`convwise.profile.receptive`)
reads how an op moves positions (element-wise, views, dimension moves, resampling). An op belongs to one
category; a new op is added here once.
"""

from __future__ import annotations

#: Activations: one op per output element; element-wise.
ACTIVATIONS: tuple[str, ...] = (
    "relu", "relu_", "relu6", "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "elu", "elu_",
    "gelu", "gelu_", "silu", "silu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "hardswish", "hardswish_",
    "hardsigmoid", "hardsigmoid_", "mish", "mish_", "softplus", "threshold", "threshold_", "clamp",
    "clamp_", "clamp_min", "clamp_min_", "clamp_max", "clamp_max_", "_prelu_kernel", "log_sigmoid_forward",
    "glu", "celu", "rrelu_with_noise",
)  # fmt: skip
#: Element-wise arithmetic, comparisons, masking and dropout: one op per output element.
ARITHMETIC: tuple[str, ...] = (
    "add", "add_", "sub", "sub_", "rsub", "mul", "mul_", "div", "div_", "neg", "exp", "exp_", "log",
    "sqrt", "rsqrt", "pow", "abs", "maximum", "minimum", "addcmul", "addcdiv", "reciprocal", "square",
    "erf", "sin", "cos", "lerp", "where", "masked_fill", "masked_fill_", "native_dropout", "bernoulli_",
    "bernoulli", "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "sign", "floor", "ceil", "round",
    "randn", "randn_like", "rand", "rand_like", "normal", "normal_", "uniform_",
)  # fmt: skip
#: Accumulation into indexed positions (index_add, scatter_add …): one op per source element.
ACCUMULATE: tuple[str, ...] = (
    "index_add", "index_add_", "scatter_add", "scatter_add_", "scatter_reduce", "scatter_reduce_",
    "index_reduce", "index_reduce_",
)  # fmt: skip
#: Softmax and its relatives: one op per output element, mixing along one axis.
SOFTMAX: tuple[str, ...] = ("_softmax", "_safe_softmax", "_log_softmax")
#: Normalisations with per-channel statistics (constants at inference): two ops per element, element-wise.
CHANNEL_NORMS: tuple[str, ...] = (
    "native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
    "_native_batch_norm_legit_functional", "cudnn_batch_norm", "miopen_batch_norm", "_fused_rms_norm",
)  # fmt: skip
#: Normalisations whose statistics span the positions (layer / group norm): two ops per element.
POSITION_NORMS: tuple[str, ...] = ("native_layer_norm", "native_group_norm")
#: Copies, casts, broadcasts and fills shaped like their input: data movement, element-wise.
COPIES: tuple[str, ...] = (
    "clone", "contiguous", "detach", "detach_", "alias", "_to_copy", "copy_", "copy", "lift_fresh",
    "lift_fresh_copy", "to", "type_as", "expand", "expand_as", "empty_like", "zeros_like", "ones_like",
    "full_like", "fill_", "zero_",
)  # fmt: skip
#: Padding: data movement; positions keep their field.
PADDING: tuple[str, ...] = (
    "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d", "replication_pad1d",
    "replication_pad2d", "replication_pad3d", "_pad_circular",
)  # fmt: skip
#: Slicing and joining along an axis: data movement; positions keep their field.
SLICES: tuple[str, ...] = (
    "slice",
    "narrow",
    "split",
    "split_with_sizes",
    "unsafe_split",
    "chunk",
    "cat",
    "flip",
)
#: Channel permutations: data movement; positions keep their field.
CHANNEL_SHUFFLES: tuple[str, ...] = ("channel_shuffle", "native_channel_shuffle")
#: Reshaping views: data movement; the spatial layout is followed or ends.
VIEWS: tuple[str, ...] = (
    "view", "_unsafe_view", "reshape", "_reshape_alias", "flatten", "unflatten", "view_as", "as_strided",
)  # fmt: skip
#: Moves, inserts and removes of dimensions: data movement; the spatial axes are followed.
DIM_MOVES: tuple[str, ...] = (
    "squeeze", "unsqueeze", "squeeze_", "unsqueeze_", "select", "unbind", "stack", "permute", "transpose",
    "transpose_", "t", "t_", "movedim",
)  # fmt: skip
#: Resampling without arithmetic (nearest neighbour, pixel shuffles): data movement; the jump is no longer
#: a whole number of input pixels.
RESAMPLING: tuple[str, ...] = (
    "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d", "_upsample_nearest_exact1d",
    "_upsample_nearest_exact2d", "_upsample_nearest_exact3d", "pixel_shuffle", "pixel_unshuffle",
)  # fmt: skip
#: Interpolation: its weights' products and additions per output element (linear 3, bilinear 7, …).
INTERPOLATION: dict[str, int] = {
    "upsample_linear1d": 3,
    "upsample_bilinear2d": 7,
    "_upsample_bilinear2d_aa": 7,
    "upsample_bicubic2d": 31,
    "_upsample_bicubic2d_aa": 31,
    "upsample_trilinear3d": 15,
}
#: Allocation, indexing and other data movement with no layout the receptive field can follow.
OTHER_MOVEMENT: tuple[str, ...] = (
    "empty", "empty_strided", "zeros", "ones", "full", "new_empty", "new_empty_strided", "new_zeros",
    "new_ones", "new_full", "arange", "scalar_tensor", "index", "index_select", "gather", "embedding",
    "index_put_", "index_put", "_unsafe_index", "select_scatter", "slice_scatter", "roll", "repeat", "tril",
    "triu", "diagonal", "repeat_interleave", "im2col", "unfold", "_local_scalar_dense", "item",
    "view_as_real", "view_as_complex", "scatter", "scatter_", "_pack_padded_sequence",
    "_pad_packed_sequence", "_nested_tensor_from_mask_left_aligned", "is_nonzero",
    "_assert_async", "_assert_tensor_metadata", "_assert_scalar",
)  # fmt: skip
#: Reductions over axes (numel(input) − numel(output) operations; a mean: one per input element).
REDUCTIONS: tuple[str, ...] = (
    "sum", "amax", "amin", "max", "min", "argmax", "argmin", "prod", "logsumexp", "var", "std", "mean",
    "var_mean", "std_mean", "all", "any",
)  # fmt: skip
#: Vector norms: two ops per input element (|x|^p and the accumulation; the root is not counted).
VECTOR_NORMS: tuple[str, ...] = ("linalg_vector_norm", "norm", "frobenius_norm")
#: Ops after which positions no longer map to whole input pixels (beside resampling and interpolation).
UNMAPPED: tuple[str, ...] = ("col2im", "grid_sampler_2d", "grid_sampler", "max_unpool2d")

#: Every op that moves data without arithmetic.
MOVEMENT: tuple[str, ...] = (
    *COPIES,
    *PADDING,
    *SLICES,
    *CHANNEL_SHUFFLES,
    *VIEWS,
    *DIM_MOVES,
    *RESAMPLING,
    *OTHER_MOVEMENT,
)
#: Ops that work element by element (or per position, across channels) for the receptive field.
ELEMENTWISE: frozenset[str] = frozenset(
    (*CHANNEL_NORMS, *ACTIVATIONS, *ARITHMETIC, *COPIES, *PADDING, *SLICES, *CHANNEL_SHUFFLES)
)
#: Ops after which the receptive field is unknown (the jump is not a whole number of input pixels).
FIELD_UNKNOWN: frozenset[str] = frozenset((*RESAMPLING, *INTERPOLATION, *UNMAPPED))
