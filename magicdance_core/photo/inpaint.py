"""Background plate: the photo with the person removed and the hole filled.

Method chosen by measurement (benchmarks/dance/inpaint/RESULTS.md, benchmarks/dance/inpaint_compare.py:
held-out person-shaped holes over known background of 7 benchmark photos, tune/test split).
OpenCV offers cv2.inpaint (TELEA, NS: fast diffusion) and opencv-contrib's cv2.xphoto.inpaint
(SHIFTMAP: copies patches, FSR_FAST / FSR_BEST: frequency-selective reconstruction). On the tune
photos TELEA and NS tie (12.9 dB, SSIM 0.31, under 1.5 s); FSR_FAST is 25x slower for no gain on
test; shift-map copies whole neighbouring objects into the hole and scores last. NS stays the
default. NS fills a large hole with a smooth smear (a flat blur where a crowd or a lawn stood);
``ns_texture`` adds the background's fine grain copied in from beside the hole (``add_texture``):
the same PSNR on the held-out holes, SSIM 0.02-0.04 lower, more detail — but thin objects are
fine detail too (the cameraman's tripod legs came along as ghosts) and the dance benchmark's pose
re-detection fell with it (camera 0.67 -> 0.52), so it is an option, not the default. The others
are there for users to try (``magicdance photo --inpaint METHOD``).
The hole is large (a whole person), so the diffusion fill runs at reduced resolution and only the
hole is pasted back.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

METHODS = ("telea", "ns", "ns_texture", "shiftmap", "fsr_fast", "fsr_best")
DEFAULT_METHOD = "ns"
WORK_LONG_SIDE = 384     # inpainting resolution: the hole is smooth at this scale anyway
BAD_SOURCE = 1e4         # add_texture: the error of a shift whose source is not known background


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
    if method in ("telea", "ns", "ns_texture"):
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
    if method == "ns_texture":
        res = add_texture(res, write, hole)
    return res


def add_texture(plate: np.ndarray, hole: np.ndarray, unknown: np.ndarray, sigma: float = 0.015,
                ramp: float = 3.0) -> np.ndarray:
    """Structure plus texture (after Bertalmio et al. 2003): the diffusion fill is smooth, a flat
    blur where a crowd or grass stood. Its detail (the plate minus its Gaussian blur, sigma =
    ``sigma`` x the long side) is copied into ``hole`` from a stretch of known background of the
    hole's own shape beside it (one shift per pixel, the nearest shift of the hole's size that
    lands on known background whose blurred colour is closest to the fill's). Only the
    high-frequency band is copied, so a neighbouring object's colour does not move into the
    hole — but a thin one (a tripod leg, a railing) is all high frequency and comes along as a
    ghost, which is why this is not the default; it fades in over ``ramp`` sigmas from the
    hole's edge. ``unknown`` (bool) may not be a source (the hole and other people). Written here: OpenCV's shift-map copies whole objects
    (RESULTS.md) and has no band-limited mode. About 1 s on a 1280 px photo (load_photo's limit)."""
    import cv2
    from scipy.ndimage import distance_transform_edt

    if not hole.any():
        return plate.copy()
    h, w = hole.shape
    s = max(1.0, sigma * max(h, w))
    img = plate.astype(np.float32)
    low = cv2.GaussianBlur(img, (0, 0), s)
    detail = img - low
    # a source pixel must be known background, clear of the unknown by the blur's reach (3 sigma)
    r = int(np.ceil(3 * s))
    bad = cv2.dilate(unknown.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))) > 0
    ys, xs = np.nonzero(hole)
    y0, x0 = ys.min(), xs.min()
    bh, bw = ys.max() + 1 - y0, xs.max() + 1 - x0
    best = np.full((bh, bw), np.inf, np.float32)     # running argmin over the shifts (no stack: big photos)
    pick = np.zeros((bh, bw), np.int64)
    shifts = []
    for k in (0.5, 1.0, 1.5, 2.0):
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1)):
            d = (int(round(dy * k * bh)), int(round(dx * k * bw)))
            sy, sx = ys + d[0], xs + d[1]
            ok = (sy >= 0) & (sy < h) & (sx >= 0) & (sx < w)
            ok[ok] = ~bad[sy[ok], sx[ok]]
            if not ok.any():
                continue
            valid = np.zeros((bh, bw), bool)
            valid[ys[ok] - y0, xs[ok] - x0] = True
            e = np.full((bh, bw), BAD_SOURCE, np.float32)
            e[valid] = np.abs(low[sy[ok], sx[ok]] - low[ys[ok], xs[ok]]).sum(1) + 8.0 * k
            # smoothed, so a region takes one shift and its grain stays in one piece; never a
            # shift whose own source is unknown
            e = cv2.GaussianBlur(e, (0, 0), 4 * s)
            e[~valid] = np.inf
            take = e < best
            best[take] = e[take]
            pick[take] = len(shifts)
            shifts.append(d)
    have = np.isfinite(best[ys - y0, xs - x0])      # some shift lands on known background
    if not have.any():
        return plate
    d = np.asarray(shifts)[pick[ys - y0, xs - x0][have]]
    src = np.stack([ys[have] + d[:, 0], xs[have] + d[:, 1]], 1)
    fade = np.clip(distance_transform_edt(hole)[ys, xs] / (ramp * s), 0.0, 1.0)[have, None]
    out = img.copy()
    hy, hx = ys[have], xs[have]
    out[hy, hx] = low[hy, hx] + fade * detail[src[:, 0], src[:, 1]] + (1 - fade) * detail[hy, hx]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def background_plate(rgb: np.ndarray, mask: np.ndarray, method: str = DEFAULT_METHOD,
                     others: Optional[np.ndarray] = None) -> np.ndarray:
    """The photo with the person (``mask``) removed. ``others``: other people's pixels (they stay
    in the plate, but the hole is not filled from them)."""
    hole = dilated_hole(mask)
    not_source = None if others is None else (others & ~hole)
    if not_source is not None and not not_source.any():
        not_source = None
    return inpaint(rgb, hole, method, not_source)
