"""Objects in front of the person (a held helmet, a ball): a layer of their own, not background.

The pose model's body mask calls a held object background where it sticks out of the body
(and body where it covers it), so it used to be smeared into the hole the body leaves and
torn as the body moved. A generic foreground cue (the selfie segmenter's mask, which takes what
a person holds) shows what sticks out; GrabCut (OpenCV) grows that into the body mask by colour
(the part of the helmet over the suit); it is an occluder when the body's bones run on behind
it (mediapipe places the joints it cannot see, e.g. the hand under the helmet). What lies beside the body (a flag
behind the shoulder, another person) does not. The layer is written as RGBA (occluder.png) for
the animator to composite over the dancer at its photo position, and the background plate is
filled under it too, so nothing of it is smeared into the hole.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

WORK_LONG_SIDE = 384         # GrabCut's resolution: a colour model, no detail needed
MIN_AREA_FRAC = 0.01         # of the person's area: smaller regions are GrabCut's noise
OVER_BODY_FRAC = 0.3         # this much of a region over the body's bones -> in front
BONES = ((11, 12), (11, 23), (12, 24), (23, 24), (11, 13), (13, 15), (12, 14), (14, 16), (23, 25), (24, 26))


def _body_region(shape, mask_bin: np.ndarray, pts, vis) -> np.ndarray:
    """Where the body is: the torso and capsules around the landmarks' bones (mediapipe places
    the joints it cannot see too, so the bones run on behind what hides them)."""
    import cv2

    h, w = shape
    region = np.zeros((h, w), np.uint8)
    if pts is not None:
        P = np.asarray(pts, dtype=np.float64)
        sw = float(np.hypot(*(P[11] - P[12])))
        r = max(2, int(0.25 * sw))
        torso = P[[11, 12, 24, 23]]
        if all(np.isfinite(torso).ravel()):
            cv2.fillConvexPoly(region, np.round(torso).astype(np.int32), 1)
        for a, b in BONES:
            # every bone, seen or not: a joint hidden behind an object is exactly the cue
            if np.isfinite(P[[a, b]]).all():
                # (points may lie outside the picture: OpenCV clips the line)
                lim = 4 * max(h, w)
                pa, pb = (tuple(int(v) for v in np.clip(np.round(P[j]), -lim, lim)) for j in (a, b))
                cv2.line(region, pa, pb, 1, 2 * r)
    return region > 0


def _grabcut(rgb, gm, iters=5):
    """GrabCut at WORK_LONG_SIDE on the seed labels ``gm``; the labels back at full size."""
    import cv2

    h, w = gm.shape
    f = min(1.0, WORK_LONG_SIDE / max(h, w))
    small = cv2.resize(rgb, (max(8, round(w * f)), max(8, round(h * f))), interpolation=cv2.INTER_AREA)
    sm = cv2.resize(gm, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
    fgl = (sm == cv2.GC_FGD) | (sm == cv2.GC_PR_FGD)
    bgl = (sm == cv2.GC_BGD) | (sm == cv2.GC_PR_BGD)
    if not fgl.any() or not bgl.any():
        return None
    try:
        cv2.setRNGSeed(0)  # GrabCut's GMMs start from k-means: same photo, same result
        cv2.grabCut(np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_RGB2BGR)), sm, None,
                    np.zeros((1, 65)), np.zeros((1, 65)), iters, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return None  # a degenerate colour model (flat picture)
    return cv2.resize(((sm == cv2.GC_FGD) | (sm == cv2.GC_PR_FGD)).astype(np.uint8), (w, h),
                      interpolation=cv2.INTER_NEAREST) > 0


def find_occluder(rgb: np.ndarray, body: np.ndarray, foreground: np.ndarray,
                  pts: Optional[np.ndarray] = None, vis: Optional[np.ndarray] = None) -> Optional[np.ndarray]:
    """(h,w) float32 alpha of what is in front of the person, or None when nothing is.

    ``body``: the pose model's body mask (what it believes is the person, hidden parts
    included); ``foreground``: a segmentation that also takes what the person holds (the selfie
    segmenter's mask does). 1. seeds: foreground beside the body, touching it; 2. GrabCut
    grows the seeds into the body mask by colour (the helmet's part over the suit);
    3. kept when the body's bones run on behind it and it hides less than half the body.
    """
    import cv2

    h, w = body.shape
    person = body > 0.5
    if not person.any():
        return None
    vis = np.ones(33) if vis is None else np.asarray(vis)
    # 1. seeds
    grown_body = cv2.dilate(person.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    extra = ((foreground > 0.5) & ~grown_body).astype(np.uint8)
    extra = cv2.morphologyEx(extra, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(extra, connectivity=8)
    touch = cv2.dilate(person.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    min_area = MIN_AREA_FRAC * float(person.sum())
    seeds = np.zeros((h, w), bool)
    for i in range(1, n):
        comp = lab == i
        if stats[i, cv2.CC_STAT_AREA] >= min_area and (comp & touch).any():
            seeds |= comp
    if not seeds.any():
        return None
    # 2. grow into the body by colour; the head and neck (above the shoulders) are surely body
    gm = np.full((h, w), cv2.GC_BGD, np.uint8)
    gm[person] = cv2.GC_PR_BGD
    gm[seeds] = cv2.GC_PR_FGD
    gm[cv2.erode(seeds.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0] = cv2.GC_FGD
    if pts is not None:
        top = float(min(pts[11][1], pts[12][1]))
        head = np.zeros((h, w), bool)
        head[: max(0, int(top))] = True
        gm[head & person] = cv2.GC_BGD
    fg = _grabcut(rgb, gm)
    if fg is None:
        return None
    n, lab = cv2.connectedComponents(fg.astype(np.uint8), connectivity=8)
    ids = set(np.unique(lab[seeds & fg])) - {0}
    region = np.isin(lab, list(ids)) if ids else seeds
    # 3. in front of the body: bones run on under it, and it does not swallow the body
    bones = _body_region((h, w), person, pts, vis)
    if float((region & bones).sum()) < OVER_BODY_FRAC * float(region.sum()):
        return None
    if float((region & person).sum()) > 0.5 * float(person.sum()):
        return None
    # a soft edge along the photo's own edges (the same guided filter the person's alpha uses)
    a = cv2.ximgproc.guidedFilter(np.ascontiguousarray(rgb), region.astype(np.float32), 3, (0.01 * 255) ** 2)
    a = np.clip(a, 0.0, 1.0)
    a[a < 0.02] = 0.0
    a[a > 0.98] = 1.0
    return a.astype(np.float32)
