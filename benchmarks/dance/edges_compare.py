"""Person edges over a bright background: the segmenter's mask vs the soft alpha (+ decontaminated colours).

Every RGBA cut-out of the benchmark set has its true matte. Each is pasted on a dark, slightly
noisy wall (the case that shows a dark fringe), analysed as a user's photo would be
(magicdance_core.photo.analyze; for a drawing mediapipe finds no one, so the mask is the
figure segmentation photo/template.figure_mask gives the --landmarks path), and composited
over white three ways: the segmenter's soft mask with the photo's pixels (before), alpha.png
with the photo's pixels, alpha.png with foreground.png (now). Scored in a band of +-3 px around
the true edge: darkening vs the true composite (grey levels, mean and 95th percentile) and the
alpha's mean absolute error. Control: the mask thresholded at 0.5 (a hard stencil).

    .venv/bin/python benchmarks/dance/edges_compare.py

Writes benchmarks/dance/edges/results.json and contact_sheet.png (per photo: the photo on the
wall, then crops of the composites over white: before, alpha, alpha + foreground, truth).
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import photos as photo_set  # noqa: E402

OUT = HERE / "edges"
WALL = (25.0, 20.0, 30.0)
PAD = 0.15          # wall around the figure, of its long side


def on_wall(path: Path, tmp: Path):
    from PIL import Image

    im = Image.open(path).convert("RGBA")
    if max(im.size) > 800:   # the analysis works at <= 1280 px anyway; keeps the run short
        f = 800 / max(im.size)
        im = im.resize((round(im.width * f), round(im.height * f)), Image.LANCZOS)
    a = np.asarray(im).astype(np.float64)
    alpha = a[:, :, 3] / 255.0
    ys, xs = np.nonzero(alpha > 0.01)
    a, alpha = a[ys.min():ys.max() + 1, xs.min():xs.max() + 1], alpha[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = alpha.shape
    p = int(PAD * max(h, w))
    rng = np.random.default_rng(0)
    wall = np.full((h + 2 * p, w + 2 * p, 3), WALL) + rng.normal(0, 4, (h + 2 * p, w + 2 * p, 3))
    A = np.zeros(wall.shape[:2])
    A[p:p + h, p:p + w] = alpha
    F = np.zeros(wall.shape)
    F[p:p + h, p:p + w] = a[:, :, :3]
    photo = F * A[:, :, None] + wall * (1 - A[:, :, None])
    out = tmp / (path.stem + "_wall.png")
    Image.fromarray(np.clip(photo + 0.5, 0, 255).astype(np.uint8)).save(out)
    return out, A, F


def analyse(path: Path):
    """(image, segmenter mask, alpha, foreground, how the mask was found)."""
    from magicdance_core.errors import BadInput
    from magicdance_core.photo.analyze import analyze_photo
    from magicdance_core.photo.load import load_photo
    from magicdance_core.photo.matte import estimate_foreground, soft_alpha
    from magicdance_core.photo.template import figure_mask

    try:
        r = analyze_photo(path)
        return r.image, r.mask, r.alpha, r.foreground, "mediapipe"
    except BadInput:
        p = load_photo(path)
        m = figure_mask(p.rgb)
        if m is None:
            return None
        # a GrabCut mask is hard-edged: soften it as the segmenters' 256 px masks are
        import cv2

        small = cv2.resize(m, (256, round(256 * m.shape[0] / m.shape[1])), interpolation=cv2.INTER_AREA)
        m = np.clip(cv2.resize(small, (m.shape[1], m.shape[0]), interpolation=cv2.INTER_LINEAR), 0, 1)
        a = soft_alpha(p.rgb, m)
        return p.rgb, m, a, estimate_foreground(p.rgb, a), "figure_mask (no person found)"


def main(argv=None):
    import tempfile

    import cv2

    lum = lambda x: x @ np.array([0.299, 0.587, 0.114])  # noqa: E731
    over = lambda c, a: c.astype(np.float64) * a[:, :, None] + 255.0 * (1 - a[:, :, None])  # noqa: E731
    rows, sheet = [], []
    chosen = [p for p in photo_set.fetch(progress=lambda *a: None) if "rgba_cutout" in p.kind]
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as td:
        for ph in chosen:
            path, A, F = on_wall(ph.path, Path(td))
            got = analyse(path)
            if got is None:
                print(f"{ph.name}: no figure found, skipped", file=sys.stderr)
                continue
            img, mask, alpha, fg, how = got
            if img.shape[:2] != A.shape:
                A = cv2.resize(A, img.shape[1::-1], interpolation=cv2.INTER_AREA)
                F = cv2.resize(F, img.shape[1::-1], interpolation=cv2.INTER_AREA)
            truth = over(F, A)
            edge = (A > 0.5).astype(np.uint8)
            band = (cv2.dilate(edge, np.ones((7, 7))) > 0) & ~(cv2.erode(edge, np.ones((7, 7))) > 0)
            ways = {"stencil (control)": (img, (mask > 0.5).astype(np.float64)), "mask + photo (before)": (img, mask),
                    "alpha + photo": (img, alpha), "alpha + foreground (now)": (fg, alpha)}
            comps = {}
            for name, (c, a) in ways.items():
                comp = over(c, a)
                d = np.clip(lum(truth) - lum(comp), 0, None)[band]
                rows.append(dict(photo=ph.name, split=ph.split, way=name, mask=how,
                                 darkening_mean=round(float(d.mean()), 2), darkening_p95=round(float(np.percentile(d, 95)), 1),
                                 alpha_mae=round(float(np.abs(a - A)[band].mean()), 4)))
                comps[name] = comp
                print(f"{ph.split:5s} {ph.name:20s} {name:26s} darkening {d.mean():6.2f} (p95 {np.percentile(d, 95):6.1f})"
                      f"  alpha MAE {np.abs(a - A)[band].mean():.3f}", flush=True)
            # a crop around the longest stretch of edge: the top third of the figure
            ys, xs = np.nonzero(A > 0.5)
            y0, y1 = ys.min(), ys.min() + (ys.max() - ys.min()) // 3
            x0, x1 = xs.min(), xs.max()
            pad = 6
            crop = lambda x: x[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad]  # noqa: E731
            th = 200
            tiles = [cv2.resize(img, (round(img.shape[1] * th / img.shape[0]), th), interpolation=cv2.INTER_AREA)]
            for name in ("mask + photo (before)", "alpha + photo", "alpha + foreground (now)"):
                c = np.clip(crop(comps[name]), 0, 255).astype(np.uint8)
                tiles.append(cv2.resize(c, (max(1, round(c.shape[1] * th / c.shape[0])), th), interpolation=cv2.INTER_AREA))
            c = np.clip(crop(truth), 0, 255).astype(np.uint8)
            tiles.append(cv2.resize(c, (max(1, round(c.shape[1] * th / c.shape[0])), th), interpolation=cv2.INTER_AREA))
            sheet.append(np.hstack(tiles))
    wmax = max(r.shape[1] for r in sheet)
    big = np.vstack([np.pad(r, ((0, 4), (0, wmax - r.shape[1]), (0, 0)), constant_values=255) for r in sheet])
    cv2.imwrite(str(OUT / "contact_sheet.png"), cv2.cvtColor(big, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    summary = {}
    for split in ("tune", "test"):
        for way in dict.fromkeys(r["way"] for r in rows):
            rs = [r for r in rows if r["split"] == split and r["way"] == way]
            if rs:
                summary[f"{split}/{way}"] = dict(
                    photos=len(rs), darkening_mean=round(float(np.mean([r["darkening_mean"] for r in rs])), 2),
                    darkening_worst=max(r["darkening_mean"] for r in rs),
                    p95_worst=max(r["darkening_p95"] for r in rs),
                    alpha_mae_mean=round(float(np.mean([r["alpha_mae"] for r in rs])), 4),
                    alpha_mae_worst=max(r["alpha_mae"] for r in rs))
    (OUT / "results.json").write_text(json.dumps(dict(
        machine=f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        command="benchmarks/dance/edges_compare.py", summary=summary, rows=rows), indent=1))
    for k, v in summary.items():
        print(k, v)


if __name__ == "__main__":
    main()
