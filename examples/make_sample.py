"""Writes examples/sample.png: a small synthetic scene (no dependencies beyond the stdlib)."""
import math, struct, zlib

W, H = 480, 320

def pixel(x, y):
    if y < 140:  # sky gradient
        t = y / 140
        return (int(120 + 80 * t), int(170 + 50 * t), 235)
    if y < 200:  # grass
        return (70, 140 + (x * 7 + y * 3) % 20, 60)
    return (90, 90, 95) if (x // 40 + y // 200) % 7 else (200, 200, 200)  # road

img = [[pixel(x, y) for x in range(W)] for y in range(H)]

def rect(x0, y0, x1, y1, c):
    for y in range(y0, y1):
        for x in range(x0, x1):
            img[y][x] = c

def disc(cx, cy, r, c):
    for y in range(cy - r, cy + r):
        for x in range(cx - r, cx + r):
            if (x - cx) ** 2 + (y - cy) ** 2 < r * r and 0 <= x < W and 0 <= y < H:
                img[y][x] = c

rect(60, 215, 190, 265, (200, 30, 40)); disc(90, 268, 14, (20, 20, 20)); disc(160, 268, 14, (20, 20, 20))
rect(280, 190, 300, 290, (60, 60, 160)); disc(290, 178, 13, (230, 190, 160))
rect(360, 60, 420, 200, (150, 110, 80)); disc(390, 50, 35, (40, 120, 40))
disc(80, 60, 25, (250, 230, 90))

raw = b"".join(b"\x00" + bytes(v for p in row for v in p) for row in img)
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
open(__file__.replace("make_sample.py", "sample.png"), "wb").write(png)
