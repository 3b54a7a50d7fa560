"""Soft alpha and colour decontamination along the person's edge.

The segmenters' soft masks are computed at 256 px and upsampled, so their edges are jagged and
do not follow the photo's edges; pasting the photo's edge pixels with such a mask also carries
the old background's colour along (the dark fringe). Two steps fix that:

1. :func:`soft_alpha`: a trimap around the mask's edge; GrabCut (OpenCV) places the edge in the
   band by the photo's colours, then the guided filter (He et al. 2010, opencv-contrib
   ``ximgproc``) with the photo as guide makes it soft where the photo's edge is soft.
   A cutout's own transparency is already the true matte and is used as is.
2. :func:`estimate_foreground`: the person's colour F in ``I = a F + (1 - a) B`` by blur fusion
   (Forte & Pitie 2021, "Approximate fast foreground colour estimation", their MIT reference
   code rewritten on cv2.blur). We do not take pymatting's estimate_foreground_ml for this: it
   needs numba, a large compiled dependency, for what is here a few box blurs.

Compositing ``F`` with ``a`` over any background then shows no trace of the photo's background.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

def _band_px(shape) -> int:
    """Half-width of the uncertain band around the mask's edge: the segmenter works on a 256 px
    grid, so its edge is off by a few of the photo's pixels (measured: fireman at 968 px, the
    mask's edge is 4-8 px off the true cutout)."""
    return max(4, int(round(max(shape[:2]) / 120.0)))


def soft_alpha(rgb: np.ndarray, mask: np.ndarray, cutout_alpha: Optional[np.ndarray] = None) -> np.ndarray:
    """(h,w) float32 alpha in [0,1] of the person: ``mask`` moved onto the photo's edges.

    A trimap from the mask (its eroded inside sure, its eroded outside sure, a band between);
    GrabCut decides the band from the photo's colours, the guided filter then softens that
    edge along the photo's own edges (hair, blur). ``cutout_alpha``: the photo file's own
    transparency (an RGBA cutout) is the true matte: used as is, limited to the chosen person.
    """
    import cv2

    m = np.clip(mask.astype(np.float32), 0.0, 1.0)
    band = _band_px(m.shape)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    if cutout_alpha is not None:
        near = cv2.dilate((m > 0.1).astype(np.uint8), k) > 0
        return np.where(near, np.clip(cutout_alpha.astype(np.float32), 0, 1), 0.0).astype(np.float32)
    inside = (m > 0.5).astype(np.uint8)
    core = cv2.erode(inside, k) > 0
    outside = cv2.erode(1 - inside, k) > 0
    if not (~outside).any():
        return m
    gc = np.where(core, cv2.GC_FGD, np.where(outside, cv2.GC_BGD,
                  np.where(inside > 0, cv2.GC_PR_FGD, cv2.GC_PR_BGD))).astype(np.uint8)
    ys, xs = np.nonzero(~outside)
    pad = 2 * band
    y0, x0 = max(0, ys.min() - pad), max(0, xs.min() - pad)
    y1, x1 = min(m.shape[0], ys.max() + pad + 1), min(m.shape[1], xs.max() + pad + 1)
    sub = np.ascontiguousarray(gc[y0:y1, x0:x1])
    binary = (m > 0.5).astype(np.float32)
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    if (sub == cv2.GC_BGD).any() and ((sub == cv2.GC_FGD) | (sub == cv2.GC_PR_FGD)).any():
        try:
            cv2.setRNGSeed(0)  # GrabCut's GMMs start from k-means: same photo, same result
            cv2.grabCut(crop, sub, None, np.zeros((1, 65)), np.zeros((1, 65)), 3, cv2.GC_INIT_WITH_MASK)
            binary[y0:y1, x0:x1] = ((sub == cv2.GC_FGD) | (sub == cv2.GC_PR_FGD)).astype(np.float32)
        except cv2.error:
            pass  # a degenerate colour model (flat image): keep the segmenter's edge
    # guided filter: a radius of half the band, eps small so the alpha follows colour edges
    # (guide in 0..255, so eps is in squared grey levels: (0.01*255)^2)
    a = cv2.ximgproc.guidedFilter(np.ascontiguousarray(rgb), binary, max(2, band // 2), (0.01 * 255) ** 2)
    a = np.clip(a, 0.0, 1.0)
    a[core] = 1.0
    a[outside] = 0.0
    a[a < 0.02] = 0.0   # snap the filter's faint ripples: a clean 0/1 away from the edge
    a[a > 0.98] = 1.0
    return a.astype(np.float32)


def _blur_fusion(img, a, F, B, r):
    import cv2

    eps = 1e-5
    a3 = a[:, :, None]
    blur = lambda x: cv2.blur(x, (r, r))  # noqa: E731
    ba = blur(a)[:, :, None]
    bF = blur(F * a3) / (ba + eps)
    bB = blur(B * (1 - a3)) / ((1 - ba) + eps)
    F = np.clip(bF + a3 * (img - a3 * bF - (1 - a3) * bB), 0.0, 1.0)
    return F, bB


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(h,w,3) uint8: the person's own colour under ``alpha`` (the background's removed).

    Just outside the edge (within the blur radius) the result continues the person's edge
    colours, so a filtered or resampled composite does not pull in the photo's background.
    """
    img = rgb.astype(np.float32) / 255.0
    a = np.clip(alpha.astype(np.float32), 0, 1)
    long_side = max(a.shape)
    r1 = max(9, int(round(90 * long_side / 1024)))   # the paper's radii (90, 6) at 1 MP scale
    r2 = max(3, int(round(6 * long_side / 1024)))
    F, B = _blur_fusion(img, a, img, img, r1)
    F, _ = _blur_fusion(img, a, F, B, r2)
    out = np.clip(F * 255.0 + 0.5, 0, 255).astype(np.uint8)
    inside = a >= 0.999
    out[inside] = rgb[inside]  # the person's interior keeps the photo's exact pixels
    return out
