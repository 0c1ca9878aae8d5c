"""An image folder of PNGs, one subfolder per class, as zipit reads calibration and test images.

    python3 make_images.py images --classes 10 --per-class 6

The images are synthetic (a colour and a stripe pattern per class) and of mixed sizes, so the
folder exercises zipit's resize and crop; use your own photos the same way. PNGs are written with
the standard library (zlib), so nothing beyond Python is needed, not even Pillow.
"""
import argparse
import random
import struct
import zlib
from pathlib import Path


def write_png(path, width, height, pixel):
    """An 8-bit RGB PNG; pixel(x, y) -> (r, g, b)."""
    rows = b"".join(b"\0" + bytes(c for x in range(width) for c in pixel(x, y)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, truecolour, no interlace
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--per-class", type=int, default=6)
    parser.add_argument("--size", type=int, default=256, help="the longer side of the largest images")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    s = args.size
    for c in range(args.classes):
        folder = Path(args.folder) / f"class{c}"
        folder.mkdir(parents=True, exist_ok=True)
        base = (25 * c % 256, (255 - 20 * c) % 256, 40 + 15 * c % 200)
        period = 4 + c % 5
        for i in range(args.per_class):
            w, h = rng.choice([(s, s), (s, s * 3 // 4), (s * 3 // 4, s)])
            noise = rng.randrange(64)
            write_png(folder / f"{i}.png", w, h,
                      lambda x, y: (255, 255, 255) if (x + y * (c % 3)) // period % 2 else
                      tuple((v + noise + (x * y) % 17) % 256 for v in base))
    print(f"{args.folder}: {args.classes} classes x {args.per_class} PNGs")


if __name__ == "__main__":
    main()
