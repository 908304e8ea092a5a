#!/usr/bin/python3
"""Writes test/data/golden_iter.bin, the reference that test/test_golden_iter.c
checks gannet against: whole GAN iterations of small generators G and
discriminators D, computed independently in PyTorch in float64, as the seed
notebook's train_for_n defines them:

  D step: B real images (the minibatch indices gannet drew) and B fakes that
          G (training mode) makes from gannet's noise; D (training mode) on
          [real; fake] with targets [1 - s, real] and [fake] (class 1 = real,
          s the label smoothing); softmax cross-entropy; Adam on D. A D with
          batch normalisation sees the two halves as separate batches and
          the loss is the mean of the two halves' losses.
  G step: B fresh noise vectors; G, then D (training mode, D's weights
          frozen), the generator loss on D's logits (minimax log(1 - D),
          non-saturating -log D, ml -exp(logit D)); Adam on G.
  Hinge cases (loss 1) replace both losses, on z = l1 - l0: D minimises the
  mean over its rows of relu(1 - z) (real) and relu(1 + z) (fake), G the
  mean of -z.
  A D that ends in one logit z (the radford pair: PyTorch's dcgan example in
  small, bias-free convolutions, "conv" layers listed in NO_BIAS) has binary
  cross-entropy from z (BCEWithLogitsLoss) for D, and z in place of l1 - l0
  everywhere else.
  An iteration: the d_pretrain pre-training D steps (first iteration only),
  d_steps D steps, one G step.

The random draws (real-batch indices, noise, dropout masks) are gannet's,
exported by the test itself; the settings of each case come with them:

    build/test/test_golden_iter --export-draws DRAWS
    /usr/bin/python3 test/gen_golden_iter.py DRAWS [output path]

Layouts as in test/gen_golden.py (activations NHWC, dense weights (out, in)
over (h, w, c), conv and deconv weights (out, in, kh, kw)).

Arrays (the file format of gen_golden.py), P a pair of networks (seed,
dcgan), N a network (G, D), i a gannet layer index, X a case, T an iteration:
    data                     the data set, 12 images of 8x8x1, values 0..255
    adam_t0                  Adam steps taken before the first iteration
    net.P.N.i.w, net.P.N.i.b initial weights and bias (gamma, beta for BN)
    net.P.N.i.w.m, .w.v, .b.m, .b.v   initial Adam moments
    net.P.N.state            initial running mean and variance, per BN layer
    case.X.cfg, case.X.draws the case's settings and a checksum of its draws
    case.X.itT.N.i.w, .b     parameters after iteration T + 1
    case.X.itT.N.state       running statistics after iteration T + 1
    case.X.itT.stats         d_loss, g_loss, D(x), D(G(z)) of that iteration
"""
import os
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import (adam, conv_out, deconv_out, f32, init_params, shapes,  # noqa: E402
                        to_nchw, to_nhwc, uniform)

torch.set_default_dtype(torch.float64)

SEED = 20261202
DATA_N, SIDE, ZDIM = 12, 8, 4
ADAM_T0 = 4

# The networks, layer by layer, exactly as test_golden_iter.c builds them.
PAIRS = {
    "seed": (
        [("dense", 32), ("batchnorm", 0.99, 1e-3), ("relu",), ("reshape", 4, 4, 2),
         ("upsample", 2), ("conv", 2, 3, 1, "same"), ("batchnorm", 0.99, 1e-3), ("relu",),
         ("conv", 1, 1, 1, "same"), ("sigmoid",)],
        [("conv", 2, 3, 2, "same"), ("relu",), ("leaky_relu", 0.2), ("dropout", 0.25),
         ("flatten",), ("dense", 4), ("leaky_relu", 0.2), ("dropout", 0.25), ("dense", 2),
         ("softmax",)],
    ),
    "dcgan": (
        [("dense", 32), ("batchnorm", 0.9, 1e-5), ("relu",), ("reshape", 2, 2, 8),
         ("deconv", 4, 4, 2, "same"), ("batchnorm", 0.9, 1e-5), ("relu",),
         ("deconv", 1, 4, 2, "same"), ("tanh",)],
        [("conv", 4, 4, 2, "same"), ("leaky_relu", 0.2), ("conv", 8, 4, 2, "same"),
         ("batchnorm", 0.9, 1e-5), ("leaky_relu", 0.2), ("flatten",), ("dropout", 0.2),
         ("dense", 2), ("softmax",)],
    ),
    "radford": (
        [("deconv", 8, 4, 1, "valid"), ("batchnorm", 0.9, 1e-5), ("relu",),
         ("deconv", 1, 4, 2, "same"), ("tanh",)],
        [("conv", 4, 4, 2, "same"), ("leaky_relu", 0.2), ("conv", 8, 2, 2, "same"),
         ("batchnorm", 0.9, 1e-5), ("leaky_relu", 0.2), ("conv", 1, 2, 1, "valid")],
    ),
}
PAIR_NAMES = ["seed", "dcgan", "radford"]  # the index case.X.cfg holds
# (pair, network, layer) of the layers without a bias: their b is empty
NO_BIAS = {("radford", "G", 0), ("radford", "G", 3), ("radford", "D", 0), ("radford", "D", 2),
           ("radford", "D", 5)}
CFG_KEYS = ["pair", "batch", "zdim", "iters", "d_steps", "d_pretrain", "g_loss", "smoothing",
            "noise", "range", "seed", "g_lr", "d_lr", "beta1", "beta2", "eps", "loss"]
MINIMAX, NONSATURATING, ML = 0, 1, 2  # gn_gen_loss
RANGE_PM1 = 1                         # gn_pixel_range
HINGE = 1                             # gn_loss_kind (0: cross-entropy)


def read_arrays(path):
    """{name: float64 tensor} from a GNGOLDEN file, in file order."""
    with open(path, "rb") as f:
        buf = f.read()
    assert buf[:8] == b"GNGOLDEN", "%s: bad magic" % path
    (n,), off, out = struct.unpack_from("<I", buf, 8), 12, {}
    for _ in range(n):
        (ln,) = struct.unpack_from("<I", buf, off)
        name = buf[off + 4:off + 4 + ln].decode("ascii")
        off += 4 + ln
        (cnt,) = struct.unpack_from("<I", buf, off)
        out[name] = torch.tensor(struct.unpack_from("<%df" % cnt, buf, off + 4))
        off += 4 + 4 * cnt
    return out


def write_arrays(path, arrays):
    with open(path, "wb") as f:
        f.write(b"GNGOLDEN")
        f.write(struct.pack("<I", len(arrays)))
        for name, t in arrays:
            data = t.detach().reshape(-1).float().contiguous()
            f.write(struct.pack("<I", len(name)))
            f.write(name.encode("ascii"))
            f.write(struct.pack("<I", data.numel()))
            f.write(struct.pack("<%df" % data.numel(), *data.tolist()))


def forward(layers, params, state, x, masks, margins):
    """Training-mode forward of x (NCHW). masks: {layer: NHWC mask times
    1 / (1 - rate)}. Returns the output, the logits (softmax input) and the
    updated running statistics (float32, as gannet keeps them). margins
    collects how far the inputs of ReLU and LeakyReLU sit from their kink."""
    a, new_state, logits = x, {}, None
    for i, L in enumerate(layers):
        kind, n = L[0], a.shape[0]
        if kind == "dense":
            w, b = params[i]
            a = (to_nhwc(a).reshape(n, -1) @ w.t() + b).reshape(n, -1, 1, 1)
        elif kind == "conv":
            w, b = params[i]
            _, k, s, pad = L[1:]
            _, pt, pb = conv_out(a.shape[2], k, s, pad)
            _, pl, pr = conv_out(a.shape[3], k, s, pad)
            a = F.conv2d(F.pad(a, (pl, pr, pt, pb)), w, b if b.numel() else None, stride=s)
        elif kind == "deconv":
            w, b = params[i]
            _, k, s, pad = L[1:]
            oh, pt, _ = deconv_out(a.shape[2], k, s, pad)
            ow, pl, _ = deconv_out(a.shape[3], k, s, pad)
            full = F.conv_transpose2d(a, w.transpose(0, 1), None, stride=s)
            a = full[:, :, pt:pt + oh, pl:pl + ow]
            if b.numel():
                a = a + b.view(1, -1, 1, 1)
        elif kind == "batchnorm":
            gamma, beta = params[i]
            mom, eps = f32(L[1]), f32(L[2])
            rmean, rvar = state[i]
            mean = a.mean(dim=(0, 2, 3))
            var = ((a - mean.view(1, -1, 1, 1)) ** 2).mean(dim=(0, 2, 3))
            new_state[i] = (f32(mom * rmean + (1 - mom) * mean.detach()),
                            f32(mom * rvar + (1 - mom) * var.detach()))
            xhat = (a - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + eps)
            a = gamma.view(1, -1, 1, 1) * xhat + beta.view(1, -1, 1, 1)
        elif kind in ("relu", "leaky_relu"):
            live = a[a != 0] if kind == "leaky_relu" else a  # a ReLU's zeros pass no gradient
            if live.numel():
                margins.append(live.abs().min().item())
            a = F.relu(a) if kind == "relu" else F.leaky_relu(a, f32(L[1]))
        elif kind == "sigmoid":
            a = torch.sigmoid(a)
        elif kind == "tanh":
            a = torch.tanh(a)
        elif kind == "softmax":
            logits = a.reshape(n, -1)
            a = torch.softmax(a, dim=1)
        elif kind == "dropout":
            a = a * to_nchw(masks[i].reshape(n, a.shape[2], a.shape[3], a.shape[1]))
        elif kind == "upsample":
            a = a.repeat_interleave(L[1], dim=2).repeat_interleave(L[1], dim=3)
        elif kind == "reshape":
            h, w, c = L[1:]
            a = to_nhwc(a).reshape(n, h, w, c).permute(0, 3, 1, 2)
        elif kind == "flatten":
            a = to_nhwc(a).reshape(n, -1, 1, 1)
    for i in state:
        new_state.setdefault(i, state[i])
    if logits is None:  # no softmax: the output is the logits (one per image: the radford pair)
        logits = a.reshape(a.shape[0], -1)
    return a, logits, new_state


class Net:
    """A network's layers, float32 parameters, running statistics and Adam state."""

    def __init__(self, layers, params, state, m, v, lr, t0):
        self.layers, self.params, self.state = layers, params, state
        self.m, self.v, self.lr, self.t = m, v, lr, t0

    def run(self, x, masks, margins, nhwc_in=True):
        x = to_nchw(x) if nhwc_in else x
        out, logits, self.state = forward(self.layers, self.params, self.state, x, masks, margins)
        return out, logits

    def leaves(self):
        return [t for i in sorted(self.params) for t in self.params[i]]

    def adam_step(self, grads, b1, b2, eps):
        """One Adam step, weights rounded to float32 as gannet keeps them."""
        self.t += 1
        new, k = {}, 0
        for i in sorted(self.params):
            pair = []
            for j, w in enumerate(self.params[i]):
                key = (i, j)
                w1, self.m[key], self.v[key] = adam(w.detach(), grads[k], self.m[key],
                                                    self.v[key], self.t, self.lr, b1, b2, eps)
                pair.append(f32(w1))
                k += 1
            new[i] = tuple(pair)
        self.params = new


def real_logit(logits):
    """z, the logit of "real": l1 - l0 of a two-class head, or the one logit."""
    return logits[:, 0] if logits.shape[1] == 1 else logits[:, 1] - logits[:, 0]


def cross_entropy(logits, targets):
    """Softmax cross-entropy over two logits; binary cross-entropy from one
    (targets' column 1, the probability of real)."""
    if logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(logits[:, 0], targets[:, 1])
    return -(targets * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()


def generator_loss(kind, logits):
    z = real_logit(logits)
    if kind == MINIMAX:
        return (-F.softplus(z)).mean()            # minimise log(1 - D)
    if kind == ML:
        return (-torch.exp(torch.clamp(z, max=30.0))).mean()  # minimise -exp(logit D)
    return F.softplus(-z).mean()                  # minimise -log D


def logit_diff(logits, margins, signs=None):
    """z = l1 - l0 (real minus fake class), or the one logit; with signs,
    records how far 1 - sign * z sits from the hinge's kink."""
    z = real_logit(logits)
    if signs is not None:
        margins.append((1 - signs * z).abs().min().item())
    return z


def hinge_d_loss(logits, B, margins):
    """Mean over the 2B rows of relu(1 - z) (real rows) and relu(1 + z) (fake rows)."""
    signs = torch.cat([torch.ones(B), -torch.ones(B)])
    return F.relu(1 - signs * logit_diff(logits, margins, signs)).mean()


def grads_of(loss, leaves):
    """The gradients of loss; an empty bias (a layer without one) gets an empty one."""
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    return [g if g is not None else torch.zeros_like(t) for g, t in zip(grads, leaves)]


def masks_of(draws, prefix, layers, half=""):
    return {i: draws["%s.mask%d%s" % (prefix, i, half)]
            for i, L in enumerate(layers) if L[0] == "dropout"}


def d_step(c, G, D, data, draws, prefix, margins, hp):
    """One D step; returns d_loss, D(x), D(G(z))."""
    B, zdim = c["batch"], c["zdim"]
    idx = draws[prefix + ".idx"].long()
    real = data[idx]
    real = f32(f32(real / 127.5) - 1) if c["range"] == RANGE_PM1 else f32(real / 255)
    real = real.reshape(B, SIDE, SIDE, 1)
    with torch.no_grad():
        fake, _ = G.run(draws[prefix + ".z"].reshape(B, zdim, 1, 1), {}, margins, nhwc_in=False)
    fake = f32(to_nhwc(fake))
    s = f32(c["smoothing"])
    t_real = torch.tensor([[s, f32(1 - s)]]).repeat(B, 1)
    t_fake = torch.tensor([[1.0, 0.0]]).repeat(B, 1)
    leaves = [t.clone().requires_grad_(True) for t in D.leaves()]
    D.params = {i: (leaves[2 * k], leaves[2 * k + 1]) for k, i in enumerate(sorted(D.params))}
    split = any(L[0] == "batchnorm" for L in D.layers)
    if split:
        _, lr_ = D.run(real, masks_of(draws, prefix, D.layers, "real"), margins)
        _, lf_ = D.run(fake, masks_of(draws, prefix, D.layers, "fake"), margins)
        logits = torch.cat([lr_, lf_])
        loss = 0.5 * (cross_entropy(lr_, t_real) + cross_entropy(lf_, t_fake))
    else:
        _, logits = D.run(torch.cat([real, fake]), masks_of(draws, prefix, D.layers), margins)
        loss = cross_entropy(logits, torch.cat([t_real, t_fake]))
    if c["loss"] == HINGE:  # the same for both: the mean over 2B rows is the mean of the halves
        loss = hinge_d_loss(logits, B, margins)
    D.adam_step(grads_of(loss, leaves), *hp)
    p = torch.sigmoid(real_logit(logits)).detach()
    return loss.item(), p[:B].mean().item(), p[B:].mean().item()


def g_step(c, G, D, draws, prefix, margins, hp):
    """One G step through a frozen D; returns g_loss."""
    B, zdim = c["batch"], c["zdim"]
    leaves = [t.clone().requires_grad_(True) for t in G.leaves()]
    G.params = {i: (leaves[2 * k], leaves[2 * k + 1]) for k, i in enumerate(sorted(G.params))}
    fake, _ = G.run(draws[prefix + ".z"].reshape(B, zdim, 1, 1), {}, margins, nhwc_in=False)
    _, logits = D.run(to_nhwc(fake), masks_of(draws, prefix, D.layers), margins)
    if c["loss"] == HINGE:
        loss = -logit_diff(logits, margins).mean()
    else:
        loss = generator_loss(c["g_loss"], logits)
    G.adam_step(grads_of(loss, leaves), *hp)
    return loss.item()


def net_arrays(prefix, net):
    out = []
    for i in sorted(net.params):
        w, b = net.params[i]
        out += [("%s.%d.w" % (prefix, i), w), ("%s.%d.b" % (prefix, i), b)]
    st = [t.reshape(-1) for i in sorted(net.state) for t in net.state[i]]
    out.append(("%s.state" % prefix, torch.cat(st) if st else torch.zeros(0)))
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: gen_golden_iter.py DRAWS [output]  (DRAWS from test_golden_iter --export-draws)")
    draws = read_arrays(sys.argv[1])
    out_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "data", "golden_iter.bin")
    gen = torch.Generator().manual_seed(SEED)
    data = torch.floor(torch.rand((DATA_N, SIDE * SIDE), generator=gen, dtype=torch.float32)
                       .double() * 256)
    arrays = [("data", data), ("adam_t0", torch.tensor([float(ADAM_T0)]))]
    start = {}
    for pname in PAIR_NAMES:
        g_layers, d_layers = PAIRS[pname]
        nets = {}
        for nm, layers, shape in (("G", g_layers, None), ("D", d_layers, (SIDE, SIDE, 1))):
            params, state = init_params(layers, shape or (1, 1, ZDIM), gen)
            for i in params:
                if (pname, nm, i) in NO_BIAS:
                    params[i] = (params[i][0], torch.zeros(0))
            m = {(i, j): uniform(gen, t.shape, -1e-3, 1e-3) for i in sorted(params)
                 for j, t in enumerate(params[i])}
            v = {(i, j): uniform(gen, t.shape, 5e-7, 2e-6) for i in sorted(params)
                 for j, t in enumerate(params[i])}
            nets[nm] = (layers, params, state, m, v)
            pre = "net.%s.%s" % (pname, nm)
            for i in sorted(params):
                for j, wb in enumerate("wb"):
                    arrays += [("%s.%d.%s" % (pre, i, wb), params[i][j]),
                               ("%s.%d.%s.m" % (pre, i, wb), m[(i, j)]),
                               ("%s.%d.%s.v" % (pre, i, wb), v[(i, j)])]
            st = [t for i in sorted(state) for t in state[i]]
            arrays.append(("%s.state" % pre, torch.cat(st) if st else torch.zeros(0)))
        start[pname] = nets
    for g_layers, _ in PAIRS.values():
        assert shapes(g_layers, (1, 1, ZDIM))[-1] == (SIDE, SIDE, 1)

    names = [k[5:-4] for k in draws if k.startswith("case.") and k.endswith(".cfg")]
    for name in names:
        c = dict(zip(CFG_KEYS, draws["case.%s.cfg" % name].tolist()))
        for k in ("pair", "batch", "zdim", "iters", "d_steps", "d_pretrain", "g_loss", "range", "loss"):
            c[k] = int(c[k])
        assert c["zdim"] == ZDIM, "case %s: zdim %d, the networks take %d" % (name, c["zdim"], ZDIM)
        pname = PAIR_NAMES[c["pair"]]
        hp = (f32(c["beta1"]), f32(c["beta2"]), f32(c["eps"]))
        mk = {}
        for nm, lr in (("G", c["g_lr"]), ("D", c["d_lr"])):
            layers, params, state, m, v = start[pname][nm]
            mk[nm] = Net(layers, dict(params), dict(state), dict(m), dict(v), f32(lr), ADAM_T0)
        G, D = mk["G"], mk["D"]
        arrays += [("case.%s.cfg" % name, draws["case.%s.cfg" % name]),
                   ("case.%s.draws" % name, draws["case.%s.draws" % name])]
        margins = []
        for t in range(c["iters"]):
            pre = "case.%s.it%d" % (name, t)
            steps = ["pre%d" % p for p in range(c["d_pretrain"])] if t == 0 else []
            steps += ["d%d" % k for k in range(c["d_steps"])]
            for s in steps:
                d_loss, d_real, d_fake = d_step(c, G, D, data, draws, "%s.%s" % (pre, s),
                                                margins, hp)
            g_loss = g_step(c, G, D, draws, pre + ".g", margins, hp)
            arrays += net_arrays(pre + ".G", G) + net_arrays(pre + ".D", D)
            arrays.append((pre + ".stats", torch.tensor([d_loss, g_loss, d_real, d_fake])))
            print("%-15s iteration %d: d_loss %.6f g_loss %.6f D(x) %.4f D(G(z)) %.4f"
                  % (name, t + 1, d_loss, g_loss, d_real, d_fake))
        print("%-15s smallest distance from a kink %.2e" % (name, min(margins)))
        assert min(margins) > 1e-5, "an input sits at a kink: choose another SEED"

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    write_arrays(out_path, arrays)
    print("wrote %s (%d arrays, %d bytes)" % (out_path, len(arrays), os.path.getsize(out_path)))


if __name__ == "__main__":
    main()
