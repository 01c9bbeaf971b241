"""A small CNN of your own, as `convwise` TARGET commands take it: `examples/my_net.py:build`.

    convwise summary examples/my_net.py:build
    convwise whatif examples/my_net.py:build --to separable

`INPUT_SHAPE` (C, H, W) tells convwise the input, so `--input` is not needed.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

INPUT_SHAPE = (3, 32, 32)


def build(num_classes: int = 10) -> nn.Module:
    """A stem, two 3×3 convolutions and a linear classifier (57,002 parameters for 10 classes)."""
    stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
    body = nn.Sequential(
        nn.Conv2d(32, 64, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1),
        nn.ReLU(),
    )
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes))
    return nn.Sequential(OrderedDict(stem=stem, body=body, head=head))
