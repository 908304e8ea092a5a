#!/usr/bin/env python3
"""PyTorch twin of data/models/resnet-mnist.gnm: the same G and D, layer for
layer, to check gannet's parameter counts (test/test_model.c keeps them as
RESNET_G_PARAMS and RESNET_D_PARAMS) and to compare its forward FLOPs per
sample with the dcgan preset's (also built here).

usage: python3 test/resnet_twin.py

Padding: gannet's 'same' for a 3x3 stride-2 convolution on an even size pads
(0, 1) as TensorFlow does; PyTorch's padding=1 pads (1, 1). The output sizes
and parameter counts are the same, which is what this script checks.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

C = 48      # channels throughout (the model file's choice)
ZDIM = 128  # G's input


def bn(c):
    # gannet's momentum=0.9 (Keras' convention) is PyTorch's momentum=0.1
    return nn.BatchNorm2d(c, momentum=0.1, eps=1e-5)


class UpBlock(nn.Module):
    """BN-ReLU-upsample2-conv3x3-BN-ReLU-conv3x3, plus upsample2-conv1x1, added."""

    def __init__(self, c):
        super().__init__()
        self.bn1, self.conv1 = bn(c), nn.Conv2d(c, c, 3, padding=1)
        self.bn2, self.conv2 = bn(c), nn.Conv2d(c, c, 3, padding=1)
        self.shortcut = nn.Conv2d(c, c, 1)

    def forward(self, x):
        h = self.conv1(F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest"))
        h = self.conv2(F.relu(self.bn2(h)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DownBlock(nn.Module):
    """conv3x3-ReLU-conv3x3/2, plus conv1x1/2, added; no batch norm."""

    def __init__(self, cin, c):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.shortcut = nn.Conv2d(cin, c, 1, stride=2)

    def forward(self, x):
        return self.conv2(F.relu(self.conv1(x))) + self.shortcut(x)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(ZDIM, 7 * 7 * C)
        self.blocks = nn.Sequential(UpBlock(C), UpBlock(C))
        self.bn, self.conv = bn(C), nn.Conv2d(C, 1, 3, padding=1)

    def forward(self, z):
        h = self.dense(z).view(-1, 7, 7, C).permute(0, 3, 1, 2)  # gannet reshapes NHWC
        return torch.tanh(self.conv(F.relu(self.bn(self.blocks(h)))))


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(DownBlock(1, C), DownBlock(C, C))
        self.dense = nn.Linear(7 * 7 * C, 2)

    def forward(self, x):
        h = F.relu(self.blocks(x)).permute(0, 2, 3, 1).flatten(1)  # gannet flattens NHWC
        return torch.softmax(self.dense(h), dim=1)


class DcganG(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense, self.bn0 = nn.Linear(100, 7 * 7 * 256), nn.BatchNorm1d(7 * 7 * 256)
        self.deconv1, self.bn1 = nn.ConvTranspose2d(256, 128, 4, 2, 1), nn.BatchNorm2d(128)
        self.deconv2 = nn.ConvTranspose2d(128, 1, 4, 2, 1)

    def forward(self, z):
        h = F.relu(self.bn0(self.dense(z))).view(-1, 7, 7, 256).permute(0, 3, 1, 2)
        return torch.tanh(self.deconv2(F.relu(self.bn1(self.deconv1(h)))))


class DcganD(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 4, 2, 1)
        self.conv2, self.bn = nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128)
        self.dense = nn.Linear(7 * 7 * 128, 2)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.bn(self.conv2(h)), 0.2).permute(0, 2, 3, 1).flatten(1)
        return torch.softmax(self.dense(h), dim=1)


def forward_flops(net, x):
    """2 * multiply-adds of the convolutions and dense layers, per sample."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Linear):
            total[0] += 2 * m.in_features * m.out_features
        elif isinstance(m, nn.Conv2d):
            total[0] += 2 * out[0].numel() * m.in_channels * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.ConvTranspose2d):
            total[0] += 2 * inp[0][0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1]

    hs = [m.register_forward_hook(hook) for m in net.modules()]
    net.eval()
    with torch.no_grad():
        y = net(x)
    for h in hs:
        h.remove()
    return total[0], tuple(y.shape[1:])


def main():
    rows = [("resnet-mnist G", Generator(), torch.zeros(1, ZDIM)),
            ("resnet-mnist D", Discriminator(), torch.zeros(1, 1, 28, 28)),
            ("dcgan G", DcganG(), torch.zeros(2, 100)),
            ("dcgan D", DcganD(), torch.zeros(1, 1, 28, 28))]
    for name, net, x in rows:
        params = sum(p.numel() for p in net.parameters())
        flops, shape = forward_flops(net, x)
        print(f"{name}: {params} parameters, output {shape}, {flops} forward FLOPs per sample")


if __name__ == "__main__":
    main()
