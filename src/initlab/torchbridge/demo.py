"""Two small models with PyTorch's default init, for ``initlab inspect --demo``.

Both keep torch's own initialization (``kaiming_uniform_(a=sqrt(5))`` weights and
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) biases), whose weight variance 1 / (3 fan_in) is a sixth of
the 2 / fan_in a ReLU layer needs (He et al. 2015): the signal is expected to shrink layer by
layer until the biases hold it at a floor.
"""

from __future__ import annotations

from initlab.errors import check_positive_int
from initlab.torchbridge.hooks import torch

nn = torch.nn

DEMO_INPUT = {"mlp": (64, 512), "cnn": (16, 3, 32, 32)}


def demo_mlp(depth: int = 20, width: int = 512):
    """``depth`` Linear(width, width) layers, a ReLU after each but the last (torch defaults)."""
    check_positive_int(depth, "depth")
    check_positive_int(width, "width")
    layers = []
    for i in range(depth):
        layers.append(nn.Linear(width, width))
        if i < depth - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def demo_cnn(channels: int = 32, classes: int = 10):
    """A small ReLU CNN for 3 x 32 x 32 images: 6 3x3 convolutions (two average pools between
    pairs), global average pooling, flatten and a linear classifier (torch defaults)."""
    check_positive_int(channels, "channels")
    c = channels
    return nn.Sequential(
        nn.Conv2d(3, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(), nn.Conv2d(2 * c, 2 * c, 3, padding=1),
        nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.ReLU(), nn.Conv2d(2 * c, 2 * c, 3, padding=1),
        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * c, classes))


DEMOS = {"mlp": demo_mlp, "cnn": demo_cnn}
