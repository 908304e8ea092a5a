#!/usr/bin/python3
"""Writes test/data/golden.bin, the reference that test/test_golden.c checks
gannet against: one GAN training step of a small generator G and
discriminator D, computed independently in PyTorch in float64.

The step: G forward (training mode) on z, D forward (training mode) on G's
output, softmax cross-entropy of D's logits against targets, D backward with
its input gradient, G backward from that gradient, one Adam step of each
network from a given optimizer state, then G and D forward again in
inference mode with the updated weights and running statistics.

Every array is stored in gannet's layouts: activations NHWC, dense weights
(out, in) with the input flattened in (h, w, c) order, conv2d weights
(out, in, kh, kw), deconv2d weights (out, in, kh, kw) where out is the
deconvolution's output channels, parameters per layer, weights then bias.

Layout of golden.bin (little-endian):
    8 bytes   magic "GNGOLDEN"
    u32       number of arrays
    then, per array:
    u32       name length, then the name (ASCII, no terminator)
    u32       element count, then that many float32

Names ("G" or "D" for the network, i the gannet layer index):
    z, targets                      G's input (3, 8), the targets (3, 2)
    adam                            t0, G lr, D lr, beta1, beta2, eps
    G.i.w, G.i.b                    initial weights and bias (gamma, beta for BN)
    G.state0                        initial running mean and variance, per BN layer
    G.m0, G.v0                      Adam moments before the step (whole slab)
    G.out, D.logits, loss           forward results (D.logits: softmax input)
    D.dx, G.dx                      input gradients of D (an image) and of G (z)
    G.i.dw, G.i.db                  parameter gradients
    G.state1                        running statistics after the training forward
    G.m1, G.v1                      Adam moments after the step
    G.i.w1, G.i.b1                  parameters after the Adam step
    G.out_infer, D.logits_infer     inference-mode forward after the step
(and the same for D).

Usage: /usr/bin/python3 test/gen_golden.py [output path]
"""
import os
import struct
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

N = 3        # batch
ZDIM = 8
SEED = 20240611

# The networks, layer by layer, exactly as test_golden.c builds them.
# conv/deconv: (kind, filters, kernel, stride, padding)
G_LAYERS = [
    ("dense", 54),
    ("batchnorm", 0.99, 1e-3),
    ("relu",),
    ("reshape", 3, 3, 6),
    ("deconv", 5, 2, 1, "valid"),   # 3x3 -> 4x4
    ("upsample", 2),                # -> 8x8
    ("conv", 4, 3, 1, "same"),
    ("batchnorm", 0.99, 1e-3),
    ("relu",),
    ("deconv", 4, 4, 2, "same"),    # -> 16x16, padding (1, 1)
    ("leaky_relu", 0.2),
    ("deconv", 3, 3, 2, "same"),    # -> 32x32, padding (0, 1)
    ("conv", 1, 5, 2, "same"),      # -> 16x16, padding (1, 2)
    ("sigmoid",),
]
D_LAYERS = [
    ("conv", 5, 5, 2, "same"),      # 16x16 -> 8x8, padding (1, 2)
    ("batchnorm", 0.9, 1e-5),
    ("leaky_relu", 0.2),
    ("conv", 7, 3, 1, "valid"),     # -> 6x6
    ("relu",),
    ("maxpool", 2, 2),              # -> 3x3
    ("tanh",),
    ("flatten",),
    ("dense", 2),
    ("softmax",),
]
G_INPUT = (1, 1, ZDIM)
D_INPUT = (16, 16, 1)

ADAM_T0 = 4                 # steps already taken: this one is step 5
G_LR, D_LR = 1e-3, 5e-4
BETA1, BETA2, EPS = 0.9, 0.999, 1e-7


def f32(x):
    """x rounded to float32, kept as float64."""
    return x.float().double() if torch.is_tensor(x) else struct.unpack("<f", struct.pack("<f", x))[0]


def conv_out(n, k, s, pad):
    """Output size and padding (lo, hi) of a convolution, 'same' as Keras."""
    if pad == "valid":
        return (n - k) // s + 1, 0, 0
    out = (n + s - 1) // s
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def deconv_out(n, k, s, pad):
    """Output size and cropping (lo, hi) of a transposed convolution."""
    if pad == "valid":
        return (n - 1) * s + k, 0, 0
    total = k - s
    return n * s, total // 2, total - total // 2


def shapes(layers, shape):
    """Input shape (h, w, c) of every layer, then the output shape."""
    out = [shape]
    for L in layers:
        h, w, c = shape
        kind = L[0]
        if kind == "dense":
            shape = (1, 1, L[1])
        elif kind == "conv":
            shape = (conv_out(h, L[2], L[3], L[4])[0], conv_out(w, L[2], L[3], L[4])[0], L[1])
        elif kind == "deconv":
            shape = (deconv_out(h, L[2], L[3], L[4])[0], deconv_out(w, L[2], L[3], L[4])[0], L[1])
        elif kind == "upsample":
            shape = (h * L[1], w * L[1], c)
        elif kind == "maxpool":
            shape = ((h - L[1]) // L[2] + 1, (w - L[1]) // L[2] + 1, c)
        elif kind == "reshape":
            shape = tuple(L[1:])
        elif kind == "flatten":
            shape = (1, 1, h * w * c)
        out.append(shape)
    return out


def uniform(gen, shape, lo, hi):
    """Float32 uniform values in [lo, hi), as float64."""
    return (lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float32)).double()


def init_params(layers, in_shape, gen):
    """{layer index: (w, b)} in gannet's layouts, and the running statistics."""
    params, state = {}, {}
    sh = shapes(layers, in_shape)
    for i, L in enumerate(layers):
        h, w, c = sh[i]
        if L[0] == "dense":
            fan_in = h * w * c
            lim = (3.0 / fan_in) ** 0.5
            params[i] = (uniform(gen, (L[1], fan_in), -lim, lim), uniform(gen, (L[1],), -0.1, 0.1))
        elif L[0] in ("conv", "deconv"):
            lim = (3.0 / (c * L[2] * L[2])) ** 0.5
            if L[0] == "deconv":
                lim *= L[3]  # each output sees about k*k/stride^2 input pixels
            params[i] = (uniform(gen, (L[1], c, L[2], L[2]), -lim, lim),
                         uniform(gen, (L[1],), -0.1, 0.1))
        elif L[0] == "batchnorm":
            params[i] = (uniform(gen, (c,), 0.8, 1.2), uniform(gen, (c,), -0.1, 0.1))
            state[i] = (uniform(gen, (c,), -0.1, 0.1), uniform(gen, (c,), 0.5, 1.5))
    return params, state


def to_nchw(x_nhwc):
    return x_nhwc.permute(0, 3, 1, 2)


def to_nhwc(x_nchw):
    return x_nchw.permute(0, 2, 3, 1)


def forward(layers, params, state, x, train, margins=None):
    """Runs the network on x (NCHW). Returns the output, the logits (the
    softmax input, or the output) and, in training, the updated running
    statistics. margins collects how far inputs sit from the kinks of ReLU,
    LeakyReLU and max pooling, where a float32 rounding could change a
    gradient."""
    a = x
    new_state = {}
    logits = None
    for i, L in enumerate(layers):
        kind = L[0]
        n = a.shape[0]
        if kind == "dense":
            w, b = params[i]
            flat = to_nhwc(a).reshape(n, -1)
            a = (flat @ w.t() + b).reshape(n, -1, 1, 1)
        elif kind == "conv":
            w, b = params[i]
            _, k, s, pad = L[1:]
            _, pt, pb = conv_out(a.shape[2], k, s, pad)
            _, pl, pr = conv_out(a.shape[3], k, s, pad)
            a = F.conv2d(F.pad(a, (pl, pr, pt, pb)), w, b, stride=s)
        elif kind == "deconv":
            w, b = params[i]
            _, k, s, pad = L[1:]
            oh, pt, _ = deconv_out(a.shape[2], k, s, pad)
            ow, pl, _ = deconv_out(a.shape[3], k, s, pad)
            full = F.conv_transpose2d(a, w.transpose(0, 1), None, stride=s)
            a = full[:, :, pt:pt + oh, pl:pl + ow] + b.view(1, -1, 1, 1)
        elif kind == "batchnorm":
            gamma, beta = params[i]
            mom, eps = L[1], L[2]
            rmean, rvar = state[i]
            if train:
                mean = a.mean(dim=(0, 2, 3))
                var = ((a - mean.view(1, -1, 1, 1)) ** 2).mean(dim=(0, 2, 3))
                new_state[i] = (mom * rmean + (1 - mom) * mean.detach(),
                                mom * rvar + (1 - mom) * var.detach())
            else:
                mean, var = rmean, rvar
            xhat = (a - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + eps)
            a = gamma.view(1, -1, 1, 1) * xhat + beta.view(1, -1, 1, 1)
        elif kind == "relu":
            if margins is not None:
                margins.append(("ReLU %d" % i, a.abs().min().item()))
            a = F.relu(a)
        elif kind == "leaky_relu":
            if margins is not None:
                margins.append(("LeakyReLU %d" % i, a.abs().min().item()))
            a = F.leaky_relu(a, L[1])
        elif kind == "sigmoid":
            a = torch.sigmoid(a)
        elif kind == "tanh":
            a = torch.tanh(a)
        elif kind == "softmax":
            logits = a
            a = torch.softmax(a, dim=1)
        elif kind == "upsample":
            a = a.repeat_interleave(L[1], dim=2).repeat_interleave(L[1], dim=3)
        elif kind == "maxpool":
            k, s = L[1], L[2]
            if margins is not None:
                win = a.unfold(2, k, s).unfold(3, k, s).reshape(*a.shape[:2], -1, k * k)
                top = win.sort(dim=-1, descending=True).values
                live = top[..., 0] > 0  # all-zero windows pass no gradient through the ReLU
                gap = (top[..., 0] - top[..., 1])[live]
                margins.append(("MaxPool %d" % i, gap.min().item()))
            a = F.max_pool2d(a, k, s)
        elif kind == "reshape":
            h, w, c = L[1:]
            a = to_nhwc(a).reshape(n, h, w, c).permute(0, 3, 1, 2)
        elif kind == "flatten":
            a = to_nhwc(a).reshape(n, -1, 1, 1)
    return a, (logits if logits is not None else a), new_state


def slab(arrays):
    """The parameter slab: per layer, weights then bias."""
    return torch.cat([t.reshape(-1) for i in sorted(arrays) for t in arrays[i]])


def state_slab(state):
    return torch.cat([t.reshape(-1) for i in sorted(state) for t in state[i]])


def unslab(params, flat):
    """Splits a slab like `params` into per-layer (w, b)."""
    out, off = {}, 0
    for i in sorted(params):
        w, b = params[i]
        out[i] = (flat[off:off + w.numel()].reshape(w.shape),
                  flat[off + w.numel():off + w.numel() + b.numel()].reshape(b.shape))
        off += w.numel() + b.numel()
    return out


def adam(w, g, m, v, t, lr, b1, b2, eps):
    """One Keras-form Adam step at step t (1-based)."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
    return w - lr * (m / bc1) / (torch.sqrt(v / bc2) + eps), m, v


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "data", "golden.bin")
    gen = torch.Generator().manual_seed(SEED)
    gp, gs = init_params(G_LAYERS, G_INPUT, gen)
    dp, ds = init_params(D_LAYERS, D_INPUT, gen)
    z = uniform(gen, (N, ZDIM), -1, 1)
    targets = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9]])
    np_g = sum(w.numel() + b.numel() for w, b in gp.values())
    np_d = sum(w.numel() + b.numel() for w, b in dp.values())
    m0 = {"G": uniform(gen, (np_g,), -1e-3, 1e-3), "D": uniform(gen, (np_d,), -1e-3, 1e-3)}
    v0 = {"G": uniform(gen, (np_g,), 5e-7, 2e-6), "D": uniform(gen, (np_d,), 5e-7, 2e-6)}

    # the training step, with autograd on every parameter and on z
    for p in list(gp.values()) + list(dp.values()):
        for t in p:
            t.requires_grad_(True)
    zt = z.clone().requires_grad_(True)
    margins = []
    g_out, _, gs1 = forward(G_LAYERS, gp, gs, zt.reshape(N, ZDIM, 1, 1), True, margins)
    g_out.retain_grad()
    _, logits, ds1 = forward(D_LAYERS, dp, ds, g_out, True, margins)
    logits = logits.reshape(N, 2)
    loss = -(targets * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
    loss.backward()
    for what, m in margins:
        print("margin %-14s %.2e" % (what, m))
        assert m > 1e-5, "an input sits at a kink: choose another SEED"

    grads = {"G": {i: (w.grad, b.grad) for i, (w, b) in gp.items()},
             "D": {i: (w.grad, b.grad) for i, (w, b) in dp.items()}}
    gp = {i: (w.detach(), b.detach()) for i, (w, b) in gp.items()}
    dp = {i: (w.detach(), b.detach()) for i, (w, b) in dp.items()}

    # one Adam step, with the hyperparameters as gannet holds them (float32)
    b1, b2, eps = f32(BETA1), f32(BETA2), f32(EPS)
    new, m1, v1 = {}, {}, {}
    for name, params, lr in (("G", gp, f32(G_LR)), ("D", dp, f32(D_LR))):
        w1, m1[name], v1[name] = adam(slab(params), slab(grads[name]), m0[name],
                                      v0[name], ADAM_T0 + 1, lr, b1, b2, eps)
        new[name] = unslab(params, f32(w1))
    gs1 = {i: (f32(a), f32(b)) for i, (a, b) in gs1.items()}
    ds1 = {i: (f32(a), f32(b)) for i, (a, b) in ds1.items()}

    # inference after the step, from the float32 parameters and statistics
    with torch.no_grad():
        g_inf, _, _ = forward(G_LAYERS, new["G"], gs1, z.reshape(N, ZDIM, 1, 1), False)
        _, d_inf, _ = forward(D_LAYERS, new["D"], ds1, f32(g_inf), False)

    arrays = [
        ("z", z),
        ("targets", targets),
        ("adam", torch.tensor([ADAM_T0, G_LR, D_LR, BETA1, BETA2, EPS])),
    ]
    for name, params, state in (("G", gp, gs), ("D", dp, ds)):
        for i, (w, b) in params.items():
            arrays += [("%s.%d.w" % (name, i), w), ("%s.%d.b" % (name, i), b)]
        arrays += [("%s.state0" % name, state_slab(state)), ("%s.m0" % name, m0[name]),
                   ("%s.v0" % name, v0[name])]
    arrays += [
        ("G.out", to_nhwc(g_out.detach())),
        ("D.logits", logits.detach()),
        ("loss", loss.detach().reshape(1)),
        ("D.dx", to_nhwc(g_out.grad)),
        ("G.dx", zt.grad),
    ]
    for name, state1 in (("G", gs1), ("D", ds1)):
        for i, (dw, db) in grads[name].items():
            arrays += [("%s.%d.dw" % (name, i), dw), ("%s.%d.db" % (name, i), db)]
        arrays += [("%s.state1" % name, state_slab(state1)), ("%s.m1" % name, m1[name]),
                   ("%s.v1" % name, v1[name])]
        for i, (w, b) in new[name].items():
            arrays += [("%s.%d.w1" % (name, i), w), ("%s.%d.b1" % (name, i), b)]
    arrays += [("G.out_infer", to_nhwc(g_inf)), ("D.logits_infer", d_inf.reshape(N, 2))]

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "wb") as f:
        f.write(b"GNGOLDEN")
        f.write(struct.pack("<I", len(arrays)))
        for name, t in arrays:
            data = t.detach().reshape(-1).float().contiguous()
            f.write(struct.pack("<I", len(name)))
            f.write(name.encode("ascii"))
            f.write(struct.pack("<I", data.numel()))
            f.write(struct.pack("<%df" % data.numel(), *data.tolist()))
    print("loss %.6f, G %d parameters, D %d parameters" % (loss.item(), np_g, np_d))
    print("wrote %s (%d arrays, %d bytes)" % (out_path, len(arrays), os.path.getsize(out_path)))


if __name__ == "__main__":
    main()
