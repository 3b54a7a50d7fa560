"""Background plate: OpenCV's inpainting methods side by side on held-out holes over known background.

Per photo of the benchmark set that has a real background (cutouts and drawings on flat
transparency are skipped): the person's hole (their mask, grown as the plate grows it) is moved
to where the photo shows only background (nearest free spot beside the person, shrunk until it
fits), and the photo is filled with *both* holes open, as a job does. The fill of the held-out
hole is scored against the photo's true pixels: PSNR (dB) and SSIM (grey, mean of the SSIM map
over the hole). A control fills the hole with the mean colour of its border (should score
worst on SSIM). Methods are chosen on split 'tune' and reported on 'test'.

    .venv/bin/python benchmarks/dance/inpaint_compare.py                         # all methods but fsr_best
    .venv/bin/python benchmarks/dance/inpaint_compare.py --methods ns,fsr_best --photos astronaut.png

Writes benchmarks/dance/inpaint/results.json and one contact sheet PNG per split
(rows: photos; columns: the photo with the held-out hole outlined, then each fill's crop).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import photos as photo_set  # noqa: E402

from magicdance_core.photo.inpaint import METHODS, dilated_hole, inpaint  # noqa: E402

OUT = HERE / "inpaint"
DEFAULT_METHODS = ("flat", "telea", "ns", "ns_people", "ns_texture_people", "shiftmap", "fsr_fast")   # fsr_best: minutes a photo, opt in
# ns_people: the job's plate as it is made, NS with the other people (selfie mask outside the
# dancer) not a source of the fill
OPTIONS = {"ns_people": "ns", "ns_texture_people": "ns_texture"}


def other_people(rgb, mask):
    """The selfie segmentation outside the dancer's mask (the job's ``others``)."""
    from magicdance_core.photo.analyze import _selfie_mask

    return (_selfie_mask(rgb) > 0.5) & ~(np.asarray(mask) > 0.1)


def person_mask(path):
    """The analysis's person mask (the largest selfie blob when no pose is found)."""
    from magicdance_core.errors import BadInput
    from magicdance_core.photo.analyze import _selfie_mask, analyze_photo
    from magicdance_core.photo.load import load_photo

    try:
        a = analyze_photo(path)
        return a.image, a.mask if a.occluder is None else np.maximum(a.mask, a.occluder[:, :, 3] / 255.0), "analysis"
    except BadInput:
        p = load_photo(path)
        import cv2

        m = (_selfie_mask(p.rgb) > 0.5).astype(np.uint8)
        n, lab, st, _ = cv2.connectedComponentsWithStats(m)
        if n <= 1:
            return p.rgb, None, "none"
        return p.rgb, (lab == 1 + int(np.argmax(st[1:, 4]))).astype(np.float32), "selfie (no pose found)"


def held_out_hole(hole: np.ndarray):
    """The hole's shape moved onto background only: (test hole, scale) or (None, 0)."""
    import cv2

    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    shape = hole[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.uint8)
    cx0, cy0 = xs.mean(), ys.mean()
    forbidden = cv2.dilate(hole.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    for s in (1.0, 0.8, 0.6, 0.45, 0.33, 0.25):
        sh = cv2.resize(shape, None, fx=s, fy=s, interpolation=cv2.INTER_NEAREST)
        bh, bw = sh.shape
        if bh >= h - 4 or bw >= w - 4 or sh.sum() < 200:
            continue
        # free placements: the shape overlaps no forbidden pixel (a correlation of the two masks)
        over = cv2.filter2D(forbidden.astype(np.float32), -1, sh.astype(np.float32), anchor=(0, 0),
                            borderType=cv2.BORDER_CONSTANT)[: h - bh - 2 + 1, : w - bw - 2 + 1]
        free = np.argwhere(over[2:, 2:] < 0.5) + 2
        if len(free):
            d = np.hypot(free[:, 1] + bw / 2 - cx0, free[:, 0] + bh / 2 - cy0)
            y, x = free[int(np.argmin(d))]
            test = np.zeros((h, w), bool)
            test[y:y + bh, x:x + bw] = sh > 0
            return test, s
    return None, 0.0


def fill_flat(rgb, hole):
    import cv2

    ring = (cv2.dilate(hole.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0) & ~hole
    out = rgb.copy()
    out[hole] = rgb[ring].mean(axis=0).round().astype(np.uint8)
    return out


def score(truth, fill, hole):
    from skimage.metrics import structural_similarity

    ys, xs = np.nonzero(hole)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    t, f = truth[y0:y1, x0:x1].astype(np.float64), fill[y0:y1, x0:x1].astype(np.float64)
    m = hole[y0:y1, x0:x1]
    mse = float(((t[m] - f[m]) ** 2).mean())
    psnr = 10 * np.log10(255.0 ** 2 / max(mse, 1e-9))
    g = lambda a: a @ np.array([0.299, 0.587, 0.114])  # noqa: E731
    _, smap = structural_similarity(g(t), g(f), data_range=255.0, full=True, win_size=7)
    return round(float(psnr), 2), round(float(smap[m].mean()), 4), detail_ratio(g(t), g(f), m)


def detail_ratio(truth_grey, fill_grey, m, sigma: float = 2.0) -> float:
    """RMS of the fill's fine detail (grey minus its Gaussian blur, sigma 2 px) over the hole,
    relative to the truth's: 1 = as much grain as the background had, near 0 = a smooth smear.
    Says nothing of where the grain is (PSNR and SSIM beside it do): noise would score 1."""
    from scipy.ndimage import gaussian_filter

    hp = lambda a: a - gaussian_filter(a, sigma)  # noqa: E731
    return round(float(np.sqrt((hp(fill_grey)[m] ** 2).mean() / max((hp(truth_grey)[m] ** 2).mean(), 1e-9))), 3)


def main(argv=None):
    import cv2

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    ap.add_argument("--photos", default=None, help="comma list of photo files (default: all with a real background)")
    args = ap.parse_args(argv)
    methods = args.methods.split(",")
    for m in methods:
        if m != "flat" and m not in METHODS and m not in OPTIONS:
            raise SystemExit(f"unknown method {m}; one of flat, {', '.join(METHODS + tuple(OPTIONS))}")
    names = args.photos.split(",") if args.photos else None
    chosen = [p for p in photo_set.fetch(names=names, progress=lambda *a: None)
              if "rgba_cutout" not in p.kind and "drawing" not in p.kind]
    OUT.mkdir(parents=True, exist_ok=True)
    res_path = OUT / "results.json"
    old = json.loads(res_path.read_text()) if res_path.exists() else {}
    rows = {r["photo"] + "/" + r["method"]: r for r in old.get("rows", [])}
    sheets: dict = {}
    for ph in chosen:
        rgb, mask, mask_src = person_mask(ph.path)
        if mask is None:
            print(f"{ph.name}: no person mask, skipped", file=sys.stderr)
            continue
        hole = dilated_hole(mask)
        test, s = held_out_hole(hole)
        if test is None:
            print(f"{ph.name}: no free background for a held-out hole, skipped", file=sys.stderr)
            continue
        both = hole | test
        others = other_people(rgb, mask) & ~both
        crops = []
        ys, xs = np.nonzero(test)
        pad = 8
        y0, y1 = max(0, ys.min() - pad), min(rgb.shape[0], ys.max() + pad + 1)
        x0, x1 = max(0, xs.min() - pad), min(rgb.shape[1], xs.max() + pad + 1)
        for m in methods:
            t0 = time.perf_counter()
            if m == "flat":
                fill = fill_flat(rgb, both)
            elif m in OPTIONS:
                fill = inpaint(rgb, both, OPTIONS[m], not_source=others if others.any() else None)
            else:
                fill = inpaint(rgb, both, m)
            dt = time.perf_counter() - t0
            psnr, ssim, detail = score(rgb, fill, test)
            rows[ph.name + "/" + m] = dict(photo=ph.name, split=ph.split, method=m, psnr_db=psnr, ssim=ssim, detail=detail,
                                           seconds=round(dt, 2), hole_scale=s, hole_px=int(test.sum()),
                                           image=list(rgb.shape[1::-1]), mask=mask_src)
            print(f"{ph.split:5s} {ph.name:18s} {m:17s} PSNR {psnr:6.2f} dB  SSIM {ssim:.3f}  detail {detail:.2f}  {dt:7.2f} s", flush=True)
            c = fill[y0:y1, x0:x1].copy()
            cv2.putText(c, m, (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1, cv2.LINE_AA)
            crops.append(c)
        view = rgb.copy()
        cnt, _ = cv2.findContours(test.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(view, cnt, -1, (255, 255, 0), 2)
        cnt, _ = cv2.findContours(hole.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(view, cnt, -1, (255, 0, 255), 1)
        th = 180
        tiles = [cv2.resize(view, (round(view.shape[1] * th / view.shape[0]), th), interpolation=cv2.INTER_AREA)]
        truth = rgb[y0:y1, x0:x1].copy()
        cv2.putText(truth, "photo", (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1, cv2.LINE_AA)
        for c in [truth] + crops:
            tiles.append(cv2.resize(c, (max(1, round(c.shape[1] * th / c.shape[0])), th), interpolation=cv2.INTER_AREA))
        sheets.setdefault(ph.split, []).append(np.hstack(tiles))
    for split, rws in sheets.items():
        wmax = max(r.shape[1] for r in rws)
        sheet = np.vstack([np.pad(r, ((0, 4), (0, wmax - r.shape[1]), (0, 0)), constant_values=255) for r in rws])
        cv2.imwrite(str(OUT / f"contact_sheet_{split}.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_PNG_COMPRESSION, 9])
    summary = {}
    for split in ("tune", "test"):
        for m in sorted({r["method"] for r in rows.values()}):
            rs = [r for r in rows.values() if r["split"] == split and r["method"] == m]
            if rs:
                summary[f"{split}/{m}"] = dict(
                    photos=len(rs), psnr_mean=round(float(np.mean([r["psnr_db"] for r in rs])), 2),
                    psnr_worst=min(r["psnr_db"] for r in rs), ssim_mean=round(float(np.mean([r["ssim"] for r in rs])), 4),
                    ssim_worst=min(r["ssim"] for r in rs), seconds_mean=round(float(np.mean([r["seconds"] for r in rs])), 2),
                    seconds_worst=max(r["seconds"] for r in rs))
                if all("detail" in r for r in rs):   # rows of runs before the detail column lack it
                    summary[f"{split}/{m}"].update(detail_mean=round(float(np.mean([r["detail"] for r in rs])), 3),
                                                   detail_min=min(r["detail"] for r in rs))
    res_path.write_text(json.dumps(dict(
        machine=f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores",
        command="benchmarks/dance/inpaint_compare.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        summary=summary, rows=sorted(rows.values(), key=lambda r: (r["split"], r["photo"], r["method"]))), indent=1))
    for k, v in summary.items():
        print(k, v)


if __name__ == "__main__":
    main()
