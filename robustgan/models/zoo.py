"""A small zoo of classifiers built by name: compact CNN, a ResNet-style net, and any timm model."""
from __future__ import annotations

from typing import Any, Callable, Dict

from torch import nn


class SmallCNN(nn.Module):
    """Two conv blocks and two dense layers: ≥90% on Fashion-MNIST in a couple of CPU minutes."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 32, image_size: int = 28):
        super().__init__()
        self.image_size = image_size  # it also runs on slightly larger images: recorded, so a mismatch is caught
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        side = image_size // 4
        self.penultimate = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * side * side, 128), nn.ReLU())
        self.classifier = nn.Linear(128, num_classes)

    def forward(self, x):
        return self.classifier(self.penultimate(self.features(x)))


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
        )
        self.skip = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
        )
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.body(x) + self.skip(x))


class SmallResNet(nn.Module):
    """A ResNet with three stages of basic blocks (He et al. 2016), sized for 28×28 / 32×32 inputs."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 16, blocks: int = 1):
        super().__init__()
        layers = [nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        cin = width
        for stage, cout in enumerate([width, 2 * width, 4 * width]):
            for b in range(blocks):
                layers.append(_Block(cin, cout, 2 if stage > 0 and b == 0 else 1))
                cin = cout
        self.features = nn.Sequential(*layers)
        self.penultimate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.classifier(self.penultimate(self.features(x)))


class MLP(nn.Module):
    """A fully connected net (no convolution, no translation prior): a differently shaped model for
    transfer studies. ``image_size`` fixes the input it takes."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 256, image_size: int = 28):
        super().__init__()
        self.image_size = image_size
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size * image_size, 2 * width),
                                      nn.ReLU())
        self.penultimate = nn.Sequential(nn.Linear(2 * width, width), nn.ReLU())
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.classifier(self.penultimate(self.features(x)))


def _timm(name: str, in_channels: int = 3, num_classes: int = 10, **kwargs: Any) -> nn.Module:
    import timm

    return timm.create_model(name, pretrained=False, in_chans=in_channels, num_classes=num_classes, **kwargs)


ARCHITECTURES: Dict[str, Callable[..., nn.Module]] = {
    "small-cnn": SmallCNN,
    "small-resnet": SmallResNet,
    "mlp": MLP,
}


def build_model(arch: str, **kwargs: Any) -> nn.Module:
    """Build ``arch`` ('small-cnn', 'small-resnet', 'mlp', or 'timm:<name>') with random weights."""
    if arch.startswith("timm:"):
        return _timm(arch[len("timm:"):], **kwargs)
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)} or 'timm:<name>'")
    return ARCHITECTURES[arch](**kwargs)
