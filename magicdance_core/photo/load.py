"""Read a photo the way a phone or camera meant it: EXIF orientation, any common mode.

JPEG, PNG and WebP (anything Pillow opens) in RGB, RGBA/LA/P (alpha kept as a mask hint and
composited on white), grayscale, CMYK and 16-bit. Photos up to 50 megapixels are accepted and
downscaled for analysis (``scale`` maps analysis pixels back to the original); larger ones are
refused with a clear error rather than risking minutes of decoding and gigabytes of memory.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import BadInput
from ..fileio import PathLike, require_file

MAX_PIXELS = 50_000_000      # refuse beyond this (stated in the error)
MIN_SIDE = 64                # smaller photos cannot show a person usefully
ANALYSIS_LONG_SIDE = 1280    # mediapipe works at 256 px internally; 1280 keeps the face detailed


@dataclass
class LoadedPhoto:
    rgb: np.ndarray              # (h,w,3) uint8 at analysis resolution
    alpha: Optional[np.ndarray]  # (h,w) float32 in [0,1] if the file had transparency
    scale: float                 # original pixels per analysis pixel (>= 1)
    original_size: tuple         # (W, H) after EXIF rotation
    format: str


def _to_rgb8(im):
    """Pillow image of any mode -> (rgb uint8, alpha float or None)."""
    from PIL import Image

    alpha = None
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        g = np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(g[:, :, None], 3, axis=2), None
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if mode in ("RGBA", "LA", "PA") or im.mode == "RGBA":
        im = im.convert("RGBA")
        a = np.asarray(im, dtype=np.float32)
        alpha = a[:, :, 3] / 255.0
        rgb = a[:, :, :3] * alpha[:, :, None] + 255.0 * (1.0 - alpha[:, :, None])  # on white
        if alpha.min() >= 0.999:
            alpha = None
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8), alpha
    if mode != "RGB":
        im = im.convert("RGB")  # L, 1, CMYK (Pillow inverts Adobe CMYK JPEGs), YCbCr, P
    return np.asarray(im, dtype=np.uint8), None


def load_photo(path: PathLike, long_side: int = ANALYSIS_LONG_SIDE) -> LoadedPhoto:
    """Open ``path``; BadInput (one line) for missing, corrupt, tiny or too large photos."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = require_file(path, "PHOTO")
    Image.MAX_IMAGE_PIXELS = None  # we enforce our own limit with a clearer message
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(str(p))
            fmt = im.format or "?"
            W, H = im.size
            if W * H > MAX_PIXELS:
                raise BadInput(f"PHOTO is {W}x{H} = {W * H / 1e6:.0f} megapixels; the limit is "
                               f"{MAX_PIXELS // 1_000_000} MP: downscale it first")
            if min(W, H) < MIN_SIDE:
                raise BadInput(f"PHOTO is only {W}x{H} pixels; at least {MIN_SIDE} px on each side is needed")
            if fmt == "JPEG" and max(W, H) > 2 * long_side:
                im.draft("RGB", (max(long_side, W // 8), max(long_side, H // 8)))  # fast JPEG DCT downscale
            im = ImageOps.exif_transpose(im)
            im.load()
    except BadInput:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise BadInput(f"PHOTO is not an image we can read: {p.name} ({type(e).__name__})") from None
    rgb, alpha = _to_rgb8(im)
    h, w = rgb.shape[:2]
    # the original size after EXIF rotation (draft() may already have shrunk the decode)
    ow, oh = (W, H) if (w >= h) == (W >= H) else (H, W)
    f = min(1.0, long_side / max(h, w))
    if f < 1.0:
        import cv2

        size = (max(1, round(w * f)), max(1, round(h * f)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        if alpha is not None:
            alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    scale = max(ow, oh) / max(rgb.shape[:2])
    return LoadedPhoto(np.ascontiguousarray(rgb), alpha, float(scale), (int(ow), int(oh)), fmt)

