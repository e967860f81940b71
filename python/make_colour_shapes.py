"""A reproducible folder of small colour images for `vqvae train --data images:DIR`: each image is a
flat background of one colour with one to three filled shapes (rectangles and discs) of other
colours, drawn from a seeded generator, written as 8-bit RGB PNG files.

    python3 python/make_colour_shapes.py OUT_DIR [--count 1000] [--size 32] [--seed 0]

Only the standard library (random, zlib, struct): the same arguments give the same bytes anywhere.
"""
import argparse
import os
import random
import struct
import zlib


def png_bytes(pixels, size):
    """An 8-bit RGB PNG of a size x size image given as rows of (r, g, b) tuples."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def colour(rng):
    """A saturated colour: one channel high, one low, one anywhere."""
    c = [rng.randint(200, 255), rng.randint(0, 60), rng.randint(0, 255)]
    rng.shuffle(c)
    return tuple(c)


def image(rng, size):
    background = colour(rng)
    pixels = [[background] * size for _ in range(size)]
    for _ in range(rng.randint(1, 3)):
        fill = colour(rng)
        cx, cy, r = rng.randint(4, size - 5), rng.randint(4, size - 5), rng.randint(3, size // 3)
        disc = rng.random() < 0.5
        for y in range(max(0, cy - r), min(size, cy + r + 1)):
            for x in range(max(0, cx - r), min(size, cx + r + 1)):
                if not disc or (x - cx) ** 2 + (y - cy) ** 2 <= r * r:
                    pixels[y][x] = fill
    return pixels


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.count < 1 or args.size < 10:
        ap.error("--count must be at least 1 and --size at least 10")
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for i in range(args.count):
        path = os.path.join(args.out, f"shape-{i:05d}.png")
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(png_bytes(image(rng, args.size), args.size))
        os.replace(tmp, path)
    print(f"wrote {args.count} {args.size}x{args.size} RGB images to {args.out}")


if __name__ == "__main__":
    main()
