"""A minimal, fast PNG writer for pass images (8/16-bit gray, RGB, RGBA).

OpenCV's and Pillow's PNG writers spend most of their time choosing a filter per
row (libpng's adaptive filtering): 20-30 ms for a 512x512 RGB frame even at zlib
level 1, which alone would blow the 900-frames-in-90-s budget across 8 passes. Pass
images are flat or smooth, so the "Up" filter on every row compresses as well,
costs one numpy subtraction, and zlib releases the GIL so two writer threads run
in parallel. The files are ordinary PNGs (read back bit-exactly by OpenCV, Pillow
and every decoder; see tests/test_passes_render.py).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_SIG = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 3: 2, 4: 6}
_UP = 2  # PNG filter type "Up"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(img: np.ndarray, level: int = 1) -> bytes:
    """PNG bytes of a (H,W) or (H,W,C) uint8/uint16 array (channels in RGB order)."""
    a = np.asarray(img)
    if a.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG needs uint8 or uint16, got {a.dtype}")
    h, w = a.shape[:2]
    c = 1 if a.ndim == 2 else a.shape[2]
    if c not in _COLOR_TYPE:
        raise ValueError(f"PNG needs 1, 3 or 4 channels, got {c}")
    depth = 16 if a.dtype == np.uint16 else 8
    raw = (a.astype(">u2") if depth == 16 else np.ascontiguousarray(a)).view(np.uint8).reshape(h, -1)
    rows = np.empty((h, raw.shape[1] + 1), np.uint8)
    rows[:, 0] = _UP
    rows[0, 1:] = raw[0]
    np.subtract(raw[1:], raw[:-1], out=rows[1:, 1:])  # wraps modulo 256, as PNG wants
    ihdr = struct.pack(">IIBBBBB", w, h, depth, _COLOR_TYPE[c], 0, 0, 0)
    return _SIG + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)) + _chunk(b"IEND", b"")


def write_png(path, img: np.ndarray, level: int = 1) -> None:
    with open(path, "wb") as f:
        f.write(encode_png(img, level))
