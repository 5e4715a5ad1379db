"""The pre-activation ResNet in PyTorch, layer for layer this library's
`preactResNet` for small images: shared by `bench/torch_resnet.py` and
`python/torch_fashion_resnet.py`, so both time and train one network.

A 3x3 stem convolution without bias; three stages of (depth - 2) / 6 blocks
(width, 2 width, 4 width channels; the second and third start with stride 2),
each BN -> ReLU -> conv3x3(stride) -> BN -> ReLU -> dropout -> conv3x3, where a
shape change makes the shortcut a strided 1x1 convolution (no bias) of the
pre-activated input (the block's first BN -> ReLU runs before the split and
feeds both branches), the identity otherwise; then BN -> ReLU -> global
average pooling -> linear to the classes. PyTorch has no Jumpout: nn.Dropout
stands in for it.

Importing this module imports torch: callers that must report a missing torch
import it inside their own `try`.
"""

from torch import nn


def bn_relu(channels):
    return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class PreActBlock(nn.Module):
    """y = inner(a) + shortcut(a), a = BN -> ReLU of x, on a shape change;
    y = (BN -> ReLU -> inner)(x) + x otherwise."""

    def __init__(self, cin, cout, stride, dropout):
        super().__init__()
        self.pre = bn_relu(cin)
        self.inner = nn.Sequential(
            conv3x3(cin, cout, stride),
            bn_relu(cout),
            nn.Dropout(dropout),
            conv3x3(cout, cout),
        )
        self.projection = None
        if stride != 1 or cin != cout:
            self.projection = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)

    def forward(self, x):
        a = self.pre(x)
        if self.projection is None:
            return self.inner(a) + x
        return self.inner(a) + self.projection(a)


def preact_resnet(depth=20, width=16, in_channels=1, classes=10, dropout=0.1):
    """The network, with PyTorch's default initialisation; `depth` is 6n + 2
    and `dropout` the rate of each block's nn.Dropout."""
    blocks = (depth - 2) // 6
    layers = [conv3x3(in_channels, width)]
    channels = width
    for stage, out in enumerate((width, 2 * width, 4 * width)):
        for b in range(blocks):
            stride = 2 if b == 0 and stage > 0 else 1
            layers.append(PreActBlock(channels, out, stride, dropout))
            channels = out
    layers += [bn_relu(channels), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, classes)]
    return nn.Sequential(*layers)
