"""The library's layers that PyTorch lacks as single modules."""

from torch import nn


class Residual(nn.Module):
    """y = body(x) + shortcut(x), or body(x) + x without a shortcut: the
    library's `Residual`, its state under `body.` and `shortcut.`."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


class GlobalAvgPool(nn.Module):
    """[N, C, H, W] -> [N, C]: each channel's mean, the library's `GlobalAvgPool`."""

    def forward(self, x):
        return x.mean(dim=(2, 3))
