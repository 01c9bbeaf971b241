"""The one table of module families: which `torch.nn` types are convs, norms, activations, pools, linears.

Every part of convwise that asks "what kind of layer is this module?" asks here: the profiler's `kind`
column, the model diagram's box colours, BatchNorm folding, in-place activation fusing and the roofline.
A 2-D convolution (a plain `nn.Conv2d` or a convwise layer) gets the variant kind `classify_conv` gives
(standard, grouped, depthwise, pointwise, separable, ...); other modules get their family.

>>> from torch import nn
>>> family(nn.BatchNorm2d(8)), family(nn.ReLU6()), family(nn.AdaptiveAvgPool2d(1)), family(nn.Dropout())
('norm', 'activation', 'pool', 'pass_through')
>>> layer_kind(nn.Conv2d(8, 8, 3, groups=8)), layer_kind(nn.Conv1d(8, 8, 3)), layer_kind(nn.ReLU())
('depthwise', 'conv1d', None)
"""

from __future__ import annotations

from typing import Literal

from torch import nn

from convwise.core import ConvwiseError, LayerSpec

#: Convolutions, by number of spatial axes (transposed convolutions are not among them).
CONVS: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
#: Transposed convolutions.
TRANSPOSED_CONVS: tuple[type[nn.Module], ...] = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
#: BatchNorm layers (1-D, 2-D, 3-D, synchronised, lazy): running statistics that Keras counts as
#: non-trainable parameters and that fold into the conv before them.
BATCH_NORMS: tuple[type[nn.Module], ...] = (nn.modules.batchnorm._BatchNorm,)
#: Every normalisation layer: batch and instance norms, group, layer, local-response (and RMS) norm.
NORMS: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.LocalResponseNorm,
    *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()),  # torch >= 2.4
)
#: Element-wise activations (and the softmax family, which normalises along one axis).
ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.Hardtanh,  # nn.ReLU6 is a Hardtanh
    nn.SELU,
    nn.CELU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Sigmoid,
    nn.Tanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.Softplus,
    nn.Threshold,
    nn.Softmax,
    nn.LogSoftmax,
)
#: Pooling layers: max, average, adaptive and power-average pooling.
POOLS: tuple[type[nn.Module], ...] = (
    nn.modules.pooling._MaxPoolNd,
    nn.modules.pooling._AvgPoolNd,
    nn.modules.pooling._AdaptiveAvgPoolNd,
    nn.modules.pooling._AdaptiveMaxPoolNd,
    nn.modules.pooling._LPPoolNd,
)
#: Fully connected layers.
LINEARS: tuple[type[nn.Module], ...] = (nn.Linear,)
#: Layers that compute nothing at inference: identity, reshapes, dropout.
PASS_THROUGH: tuple[type[nn.Module], ...] = (
    nn.Identity,
    nn.Flatten,
    nn.Unflatten,
    nn.modules.dropout._DropoutNd,
)

#: Activations that can run in place (`inplace=True`) on a conv's fresh output: element-wise, each output
#: depends only on its input, and the module has an `inplace` flag (`convwise.deploy.fuse`).
INPLACE_ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.Hardtanh,
    nn.LeakyReLU,
    nn.ELU,
    nn.SiLU,
    nn.Hardswish,
)
#: Activations `convwise.deploy.fuse` folds into the conv before them (oneDNN post-ops; the roofline predicts
#: them free only where deploy did fuse them).
CONV_FUSED_ACTIVATIONS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.Hardtanh)

Family = Literal["conv", "transposed_conv", "norm", "activation", "pool", "linear", "pass_through", "other"]

#: The families in the order `family` tests them.
FAMILIES: tuple[tuple[Family, tuple[type[nn.Module], ...]], ...] = (
    ("conv", CONVS),
    ("transposed_conv", TRANSPOSED_CONVS),
    ("norm", NORMS),
    ("activation", ACTIVATIONS),
    ("pool", POOLS),
    ("linear", LINEARS),
    ("pass_through", PASS_THROUGH),
)

_SPATIAL_DIMS: tuple[tuple[type[nn.Module], int], ...] = (
    (nn.Conv1d, 1),
    (nn.Conv2d, 2),
    (nn.Conv3d, 3),
    (nn.BatchNorm1d, 1),
    (nn.BatchNorm2d, 2),
    (nn.BatchNorm3d, 3),
)


def is_conv2d(module: nn.Module) -> bool:
    """True for a 2-D convolution: a convwise layer (`ConvVariant`, `SpecConv2d`) or an `nn.Conv2d`.

    A lazy `nn.LazyConv2d` counts only once its shape is known (it becomes an `nn.Conv2d`).

    >>> from convwise.layers import SeparableConv2d
    >>> is_conv2d(SeparableConv2d(4, 8, 3)), is_conv2d(nn.Conv2d(4, 8, 3)), is_conv2d(nn.Conv1d(4, 8, 3))
    (True, True, False)
    """
    from convwise.layers.conv import ConvVariant, SpecConv2d

    if isinstance(module, (ConvVariant, SpecConv2d)):
        return True
    return isinstance(module, nn.Conv2d) and not isinstance(module, nn.LazyConv2d)


def conv2d_spec(module: nn.Module) -> LayerSpec | None:
    """The `LayerSpec` `classify_conv` gives a 2-D conv; None for other modules or an unclassifiable conv.

    >>> conv2d_spec(nn.Conv2d(4, 4, 3, groups=4)).kind, conv2d_spec(nn.Linear(4, 4))
    ('depthwise', None)
    """
    from convwise.layers.classify import classify_conv

    if not is_conv2d(module):
        return None
    try:
        return classify_conv(module)
    except ConvwiseError:
        return None


def family(module: nn.Module) -> Family:
    """The family of a module: conv, transposed_conv, norm, activation, pool, linear, pass_through or other.

    Convwise conv layers are `conv`; a container module (e.g. `nn.Sequential`) is `other`.

    >>> family(nn.Conv3d(1, 1, 1)), family(nn.ConvTranspose2d(1, 1, 2)), family(nn.Sequential())
    ('conv', 'transposed_conv', 'other')
    """
    if is_conv2d(module):
        return "conv"
    for name, types in FAMILIES:
        if isinstance(module, types):
            return name
    return "other"


def spatial_dims(module: nn.Module) -> int | None:
    """Spatial axes of a convolution or BatchNorm layer (1, 2 or 3); None for any other module.

    >>> spatial_dims(nn.Conv1d(1, 1, 1)), spatial_dims(nn.BatchNorm2d(1)), spatial_dims(nn.ReLU())
    (1, 2, None)
    """
    for cls, dims in _SPATIAL_DIMS:
        if isinstance(module, cls):
            return dims
    return None


def layer_kind(module: nn.Module) -> str | None:
    """The `kind` a profile report gives a module, None for modules with no kind of their own.

    A classified 2-D conv: its variant kind (`classify_conv`); an unclassifiable one `conv2d`; 1-D and 3-D
    convs `conv1d` / `conv3d`; transposed convs `transposed_conv`; `linear`; batch and instance norms
    `batch_norm` (the modules with running statistics). Activations, pooling and other modules: None.

    >>> layer_kind(nn.Conv2d(4, 8, 1)), layer_kind(nn.ConvTranspose1d(1, 1, 2)), layer_kind(nn.BatchNorm1d(4))
    ('pointwise', 'transposed_conv', 'batch_norm')
    """
    spec = conv2d_spec(module)
    if spec is not None:
        return spec.kind
    fam = family(module)
    if fam == "conv":
        return f"conv{spatial_dims(module) or 2}d"
    if fam in ("transposed_conv", "linear"):
        return fam
    if isinstance(module, nn.modules.batchnorm._NormBase):
        return "batch_norm"
    return None
