#!/usr/bin/env python3
"""PyTorch twins of data/models/dcgan-SxSxC.gnm: the networks of PyTorch's dcgan
example (pytorch/examples dcgan/main.py, as ../shared/peers/torch_dcgan_example.py
builds them: ngf = ndf = 64, nz = 100, bias-free convolutions, one logit), at 32,
64 and 128 pixels, 1 or 3 channels, to check gannet's parameter counts
(test/test_model.c keeps them in dcgan_twins[]) and FLOPs per sample.

usage: /usr/bin/python3 test/dcgan_twin.py

At 32x32 the example drops G's last 64-map stage and D's first 64-map stage
(D starts at 128 maps); at 128x128 one stage of 1024 maps is added to each.
"""
import torch.nn as nn

NZ, NGF, NDF = 100, 64, 64
G_CHANS = {32: [8, 4, 2], 64: [8, 4, 2, 1], 128: [16, 8, 4, 2, 1]}
D_CHANS = {32: [2, 4, 8], 64: [1, 2, 4, 8], 128: [1, 2, 4, 8, 16]}


def gen(size, nc):
    chans = [NGF * m for m in G_CHANS[size]]
    layers = [nn.ConvTranspose2d(NZ, chans[0], 4, 1, 0, bias=False), nn.BatchNorm2d(chans[0]), nn.ReLU(True)]
    for i, o in zip(chans, chans[1:]):
        layers += [nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)]
    layers += [nn.ConvTranspose2d(chans[-1], nc, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def disc(size, nc):
    chans = [NDF * m for m in D_CHANS[size]]
    layers = [nn.Conv2d(nc, chans[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    for i, o in zip(chans, chans[1:]):
        layers += [nn.Conv2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.LeakyReLU(0.2, True)]
    layers += [nn.Conv2d(chans[-1], 1, 4, 1, 0, bias=False)]
    return nn.Sequential(*layers)


def count(m):
    return sum(p.numel() for p in m.parameters())


def main():
    import torch
    for size in (32, 64, 128):
        for nc in (1, 3):
            g, d = gen(size, nc), disc(size, nc)
            img = g(torch.zeros(2, NZ, 1, 1))
            assert img.shape == (2, nc, size, size), img.shape
            assert d(img).shape == (2, 1, 1, 1)
            print(f"dcgan-{size}x{size}x{nc}: G {count(g)} D {count(d)}")


if __name__ == "__main__":
    main()
