"""A figure the person detectors miss (a drawing, a cartoon): its silhouette and a default skeleton.

:func:`figure_mask` finds the figure without a person model: a cutout's transparency, else
GrabCut (OpenCV) started from a rectangle inset from the picture's border (a figure is in the
middle; what touches most of the border is background). :func:`template_skeleton` stands a
mediapipe-33 skeleton in that silhouette by proportions, measured along the silhouette where it
can be (the neck is the narrow row under the head, legs are the two runs of the lower rows), so
the user starts from joints that are already on the figure and only nudges them.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .landmarks_file import INDEX

MIN_FIGURE_FRAC = 0.01    # of the picture: smaller is a speck, not a figure
MAX_FIGURE_FRAC = 0.90    # larger is the whole picture, not a figure in it
WORK_LONG_SIDE = 384      # GrabCut's resolution (its colour model needs no more)


def _largest(binary: np.ndarray) -> np.ndarray:
    import cv2

    n, lab, stats, _ = cv2.connectedComponentsWithStats(binary.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros_like(binary, dtype=bool)
    i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return lab == i


def figure_mask(rgb: np.ndarray, cutout_alpha: Optional[np.ndarray] = None,
                box: Optional[tuple] = None) -> Optional[np.ndarray]:
    """(h,w) float32 mask of the main figure, or None when the picture shows no single figure.

    ``box`` (x0, y0, x1, y1): where the figure is (e.g. around the user's joints); default the
    picture inset by 3 % of its size.
    """
    import cv2

    h, w = rgb.shape[:2]
    if cutout_alpha is not None and 0.01 < float((cutout_alpha > 0.5).mean()) < 0.99:
        m = _largest(cutout_alpha > 0.5)
        return np.where(cv2.dilate(m.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0, cutout_alpha, 0).astype(np.float32)
    f = min(1.0, WORK_LONG_SIDE / max(h, w))
    small = cv2.resize(rgb, (max(8, round(w * f)), max(8, round(h * f))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    if box is None:
        mx, my = max(2, round(0.03 * sw)), max(2, round(0.03 * sh))
        rect = (mx, my, sw - 2 * mx, sh - 2 * my)
    else:
        x0, y0, x1, y1 = (int(round(v * f)) for v in box)
        x0, y0 = max(1, x0), max(1, y0)
        rect = (x0, y0, max(4, min(sw - 1, x1) - x0), max(4, min(sh - 1, y1) - y0))
    gm = np.zeros((sh, sw), np.uint8)
    try:
        cv2.setRNGSeed(0)  # GrabCut's GMMs start from k-means: same photo, same result
        cv2.grabCut(np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_RGB2BGR)), gm, rect,
                    np.zeros((1, 65)), np.zeros((1, 65)), 5, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return None  # a flat picture: nothing to separate
    fg = _largest((gm == cv2.GC_FGD) | (gm == cv2.GC_PR_FGD))
    frac = float(fg.mean())
    if not MIN_FIGURE_FRAC <= frac <= MAX_FIGURE_FRAC:
        return None
    # a figure is in the picture, not the picture's ground or sky: it touches at most two sides
    touches = sum(bool(s.any()) for s in (fg[:2].ravel(), fg[-2:].ravel(), fg[:, :2].ravel(), fg[:, -2:].ravel()))
    if touches > 2:
        return None
    fg = cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    return (cv2.resize(fg.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5).astype(np.float32)


def _runs(row: np.ndarray) -> list:
    """[(start, end)] of the True runs of a 1-D bool array."""
    d = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
    return list(zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0] - 1))


def template_skeleton(mask: np.ndarray) -> tuple:
    """(points (33,2) pixels, visibility (33,)): a standing, frontal skeleton in ``mask`` (> 0.5).

    A figure cut off below (head and shoulders: its bottom is a wide run, not feet) gets its
    hips at that bottom and its legs below it, marked not visible.
    """
    import cv2

    m = mask > 0.5
    ys, xs = np.nonzero(m)
    if len(ys) == 0:
        raise ValueError("empty mask")
    y0, y1 = int(ys.min()), int(ys.max())
    H = max(1, y1 - y0)
    width = m.sum(axis=1).astype(np.float64)
    # cut off below (a bust, a half-body photo): the bottom is a wide run across the figure,
    # where a standing figure ends in feet (two narrow runs)
    bottom = [r[1] - r[0] + 1 for r in _runs(m[int(y1 - 0.01 * H)])]
    cut = bool(bottom) and max(bottom) >= 0.5 * width.max()

    def centre(y):
        y = int(np.clip(round(y), y0, y1))
        row = np.nonzero(m[y])[0]
        return float(row.mean()) if len(row) else float(xs.mean())

    # the head's widest row near the top (lower down, spread arms are wider still), then the
    # neck: the narrowest row below it (the round top of a head is narrow too)
    widest = y0 + int(np.argmax(width[y0:y0 + max(2, int((0.35 if cut else 0.12) * H))]))
    head_w = float(width[widest])
    lo, hi = max(widest + 1, y0 + int(0.08 * H)), y0 + int((0.7 if cut else 0.45) * H)
    neck = None
    if hi > lo:
        y = lo + int(np.argmin(width[lo:hi]))
        if width[y] < 0.95 * head_w:
            neck = y
    if neck is None or neck - y0 < 0.08 * H:
        neck = y0 + int((0.45 if cut else 0.16) * H)
    head_h = neck - y0
    head_w = float(width[y0:neck + 1].max())
    cx_head = centre(y0 + 0.55 * head_h)
    sh_y = neck + 0.25 * head_h
    if cut:   # a standing body is about 7 heads; what is below the picture is not seen
        hip_y = max(float(y1), sh_y + 2.2 * head_h)
        ank_y = hip_y + 3.4 * head_h
    else:
        ank_y = y1 - 0.04 * H
        hip_y = sh_y + 0.45 * (ank_y - sh_y)
    knee_y = hip_y + 0.5 * (ank_y - hip_y)
    cx_t = centre((sh_y + hip_y) / 2)
    sh_half = 0.8 * head_w
    hip_half = 0.45 * head_w

    P = np.zeros((33, 2))

    def put(name, x, y):
        P[INDEX[name]] = (x, y)

    # the figure's left is on the image's right (it faces the viewer)
    ny = y0 + 0.6 * head_h
    put("nose", cx_head, ny)
    for side, sgn in (("left", 1), ("right", -1)):
        ex = 0.18 * head_w
        put(f"{side}_eye_inner", cx_head + sgn * 0.6 * ex, ny - 0.12 * head_h)
        put(f"{side}_eye", cx_head + sgn * ex, ny - 0.12 * head_h)
        put(f"{side}_eye_outer", cx_head + sgn * 1.4 * ex, ny - 0.12 * head_h)
        put(f"{side}_ear", cx_head + sgn * 0.42 * head_w, ny - 0.05 * head_h)
        put(f"mouth_{side}", cx_head + sgn * 0.12 * head_w, ny + 0.15 * head_h)
        put(f"{side}_shoulder", cx_t + sgn * sh_half, sh_y)
        put(f"{side}_hip", cx_t + sgn * hip_half, hip_y)

    # arms: spread out if the silhouette is much wider than the shoulders somewhere along the
    # arm's reach below the shoulders, else hanging along the body down to the hips
    band = range(int(sh_y), int(min(y1, sh_y + 0.5 * (hip_y - sh_y))) + 1)
    for side, sgn in (("left", 1), ("right", -1)):
        sx = cx_t + sgn * sh_half
        reach = []
        for y in band:
            row = np.nonzero(m[y])[0]
            if len(row):
                reach.append((row.max() - sx if sgn > 0 else sx - row.min(), y))
        far, fy = max(reach) if reach else (0.0, sh_y)
        if far > 0.5 * head_w:      # an arm out to the side
            wx, wy = sx + sgn * 0.92 * far, fy
        else:                       # along the body
            wy = hip_y
            row = np.nonzero(m[int(np.clip(wy, y0, y1))])[0]
            edge = (row.max() if sgn > 0 else row.min()) if len(row) else sx
            wx = edge - sgn * 0.15 * head_w
        put(f"{side}_wrist", wx, wy)
        put(f"{side}_elbow", (sx + wx) / 2, (sh_y + wy) / 2)
        d = np.array([wx - sx, wy - sh_y])
        d = d / (np.linalg.norm(d) + 1e-9) * 0.25 * head_w
        put(f"{side}_index", wx + d[0], wy + d[1])
        put(f"{side}_pinky", wx + d[0] + sgn * 0.05 * head_w, wy + d[1])
        put(f"{side}_thumb", wx + 0.6 * d[0] - sgn * 0.08 * head_w, wy + 0.6 * d[1])

    vis = np.ones(33)
    if cut:
        for i in range(23, 33):
            vis[i] = 0.0
    # legs: the two runs of the silhouette's rows (a gap between the legs), else beside the centre
    for name_y, y in (("knee", knee_y), ("ankle", ank_y)):
        runs = [] if y > y1 else [r for r in _runs(m[int(np.clip(y, y0, y1))]) if r[1] - r[0] >= 2]
        if len(runs) >= 2:
            runs = sorted(runs, key=lambda r: r[1] - r[0])[-2:]
            runs.sort()
            xr, xl = (runs[0][0] + runs[0][1]) / 2, (runs[1][0] + runs[1][1]) / 2
        else:
            c = centre(y)
            xr, xl = c - hip_half, c + hip_half
        put(f"left_{name_y}", xl, y)
        put(f"right_{name_y}", xr, y)
    for side, sgn in (("left", 1), ("right", -1)):
        ax, ay = P[INDEX[f"{side}_ankle"]]
        put(f"{side}_heel", ax, ay + 0.02 * H)
        put(f"{side}_foot_index", ax + sgn * 0.1 * head_w, ay + 0.035 * H)

    # every joint on the figure: a point that fell outside moves to the nearest silhouette pixel
    _, lab = cv2.distanceTransformWithLabels((~m).astype(np.uint8), cv2.DIST_L2, 5,
                                             labelType=cv2.DIST_LABEL_PIXEL)
    inside_y, inside_x = np.nonzero(m)
    lut = np.zeros((lab.max() + 1, 2))
    lut[lab[inside_y, inside_x]] = np.stack([inside_x, inside_y], axis=1)
    h, w = m.shape
    for i in range(33):
        if vis[i] < 0.5:
            continue
        x, y = int(np.clip(round(P[i, 0]), 0, w - 1)), int(np.clip(round(P[i, 1]), 0, h - 1))
        if not m[y, x]:
            P[i] = lut[lab[y, x]]
    return P, vis


# bones drawn on the preview (mediapipe's POSE_CONNECTIONS without the face and hand details)
BONES = ((11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24), (23, 25),
         (25, 27), (24, 26), (26, 28), (27, 29), (29, 31), (27, 31), (28, 30), (30, 32), (28, 32), (0, 2), (0, 5))


def draw_skeleton(rgb: np.ndarray, points: np.ndarray, visibility: Optional[np.ndarray] = None) -> np.ndarray:
    """The photo dimmed with the joints on it: the figure's left side green, right side orange,
    a joint not visible as a hollow ring; the main joints labelled (for the user who edits)."""
    import cv2

    from .landmarks_file import NAMES

    vis = np.ones(33) if visibility is None else np.asarray(visibility)
    out = (rgb.astype(np.float32) * 0.6 + 100).clip(0, 255).astype(np.uint8)
    s = max(1, round(max(rgb.shape[:2]) / 400))
    colour = lambda n: (40, 200, 40) if n.startswith("left") or n.endswith("left") else (  # noqa: E731
        (255, 140, 0) if n.startswith("right") or n.endswith("right") else (60, 120, 255))
    P = [tuple(int(round(c)) for c in p) for p in points]
    for a, b in BONES:
        cv2.line(out, P[a], P[b], (30, 30, 30), s, cv2.LINE_AA)
    for i, n in enumerate(NAMES):
        cv2.circle(out, P[i], 3 * s, colour(n), -1 if vis[i] >= 0.5 else s, cv2.LINE_AA)
        if i in (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28):
            cv2.putText(out, n, (P[i][0] + 4 * s, P[i][1] - 2 * s), cv2.FONT_HERSHEY_SIMPLEX, 0.3 * s,
                        (20, 20, 20), s, cv2.LINE_AA)
    return out
