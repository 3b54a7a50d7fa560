"""Background plate: the photo with the person removed and the hole filled.

Method chosen by measurement (benchmarks/dance/inpaint/RESULTS.md, benchmarks/dance/inpaint_compare.py:
held-out person-shaped holes over known background of 7 benchmark photos, tune/test split).
OpenCV offers cv2.inpaint (TELEA, NS: fast diffusion) and opencv-contrib's cv2.xphoto.inpaint
(SHIFTMAP: copies patches, FSR_FAST / FSR_BEST: frequency-selective reconstruction). On the tune
photos TELEA and NS tie (12.9 dB, SSIM 0.31, under 1.5 s); FSR_FAST is 25x slower for no gain on
test; shift-map copies whole neighbouring objects into the hole and scores last. NS stays the
default; the others are there for users to try (``magicdance photo --inpaint METHOD``).
The hole is large (a whole person), so we fill it at reduced resolution and paste the result
back only inside the hole.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

METHODS = ("telea", "ns", "shiftmap", "fsr_fast", "fsr_best")
DEFAULT_METHOD = "ns"
WORK_LONG_SIDE = 384     # inpainting resolution: the hole is smooth at this scale anyway


def dilated_hole(mask: np.ndarray, frac: float = 0.02) -> np.ndarray:
    """Binary hole: the person mask grown a little so no halo of the person stays behind."""
    import cv2

    r = max(3, int(round(frac * max(mask.shape))))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate((mask > 0.1).astype(np.uint8), k) > 0


def inpaint(rgb: np.ndarray, hole: np.ndarray, method: str = DEFAULT_METHOD,
            not_source: Optional[np.ndarray] = None) -> np.ndarray:
    """Fill ``hole`` (bool (h,w)) in ``rgb`` (uint8) with one of METHODS. ``not_source`` (bool):
    pixels that stay as they are but must not be filled from (other people beside the hole: the
    fill would smear them into it); they are filled too, internally, and only the hole is kept."""
    import cv2

    if not hole.any():
        return rgb.copy()
    write = hole
    if not_source is not None:
        hole = hole | not_source
    h, w = rgb.shape[:2]
    f = min(1.0, WORK_LONG_SIDE / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA) if f < 1 else rgb
    sh = cv2.resize(hole.astype(np.uint8), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    if f < 1:
        sh = cv2.dilate(sh.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    if method in ("telea", "ns"):
        flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
        out = cv2.inpaint(bgr, sh.astype(np.uint8) * 255, max(3, int(0.02 * max(bgr.shape))), flag)
    elif method in ("shiftmap", "fsr_fast", "fsr_best"):
        flag = dict(shiftmap=cv2.xphoto.INPAINT_SHIFTMAP, fsr_fast=cv2.xphoto.INPAINT_FSR_FAST,
                    fsr_best=cv2.xphoto.INPAINT_FSR_BEST)[method]
        out = np.zeros_like(bgr)
        cv2.xphoto.inpaint(bgr, (~sh).astype(np.uint8) * 255, out, flag)  # xphoto's mask marks *valid* pixels
    else:
        raise ValueError(f"unknown inpainting method {method!r}; one of {METHODS}")
    filled = cv2.cvtColor(out, cv2.COLOR_BGR2RGB)
    if f < 1:
        filled = cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC)
    res = rgb.copy()
    res[write] = filled[write]
    return res


def background_plate(rgb: np.ndarray, mask: np.ndarray, method: str = DEFAULT_METHOD,
                     others: Optional[np.ndarray] = None) -> np.ndarray:
    """The photo with the person (``mask``) removed. ``others``: other people's pixels (they stay
    in the plate, but the hole is not filled from them)."""
    hole = dilated_hole(mask)
    not_source = None if others is None else (others & ~hole)
    if not_source is not None and not not_source.any():
        not_source = None
    return inpaint(rgb, hole, method, not_source)
