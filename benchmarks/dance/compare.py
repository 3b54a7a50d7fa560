"""Surface vs puppet animator, side by side in one run, against each job's own DensePose pass.

Per photo: the dance job (``run_dance``, surface animator, DensePose pass, no Blender scene) on the
first ``--seconds`` of examples/song.ogg; then the puppet animates the same dance on the same
fitted body in the same framing; a control (the surface video frozen on its first frame while the
pass dances) must score badly. Measures (magicdance_core.metrics.video, every ``--every``-th
frame): joint on part, body coverage (mean, worst frame), fragments per frame, face SSIM, and the
animators' frames per second (rendering only, 512 long side). A contact sheet per photo
(photo | pass | surface | puppet at 4 times) goes to benchmarks/dance/sheets/.

    .venv/bin/python benchmarks/dance/compare.py                      # shipped examples + the photo set
    .venv/bin/python benchmarks/dance/compare.py --photos examples/mannequin.png --seconds 4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
os.environ.setdefault("OMP_NUM_THREADS", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402


def _timed(frames_iter):
    t0 = time.perf_counter()
    out = list(frames_iter)
    return out, len(out) / max(time.perf_counter() - t0, 1e-9)


def one(photo: Path, song: Path, work: Path, size: int, every: int) -> dict:
    from magicdance_core.animate.base import AnimateOptions, get_animator
    from magicdance_core.animate.dancer import dancer_from_fit
    from magicdance_core.animate.placement import make_placement
    from magicdance_core.body.fit import BodyFit
    from magicdance_core.body.motion_file import load_motion
    from magicdance_core.jobs.pipeline import DanceOptions, run_dance
    from magicdance_core.metrics.video import video_metrics
    from magicdance_core.photo.analyze import PhotoAnalysis

    out = work / f"{photo.stem}.mp4"
    t0 = time.monotonic()
    try:
        res = run_dance(song, photo, out, DanceOptions(size=size, scene=False, passes="densepose"))
    except Exception as e:  # a photo the job refuses is a result too (one line)
        return dict(photo=photo.name, error=f"{type(e).__name__}: {str(e).splitlines()[0]}")
    wall = time.monotonic() - t0
    job = res.job
    pa = PhotoAnalysis.load(job / "photo")
    fit = BodyFit.load(job / "photo" / "body_fit.json")
    motion = load_motion(job / "motion.npz")
    pl = make_placement(pa, size)
    passes = job / "passes"
    row = dict(photo=photo.name, size=[pl.width, pl.height], frames=int(motion.num_frames), job_s=round(wall, 1),
               half_body=bool(fit.half_body), fit=dict((k, fit.report.get(k)) for k in
                                                       ("landmark_error_px_median", "body_inside_person",
                                                        "person_covered_by_body", "facing_yaw_deg")))
    videos = {}
    for name in ("surface", "puppet"):
        an = get_animator(name)
        opt = AnimateOptions(size=size, extra=dict(fit=fit))
        rig = an.prepare(pa, opt)
        frames, fps = _timed(an.animate(rig, dancer_from_fit(motion, fit, pl, passes), opt))
        videos[name] = frames
        m = video_metrics(frames, passes, pa, every=every, static=True)
        row[name] = dict(fps=round(fps, 1), **{k: v for k, v in m.to_dict().items()
                                                if k in ("detected_frames", "joint_on_part", "body_coverage",
                                                         "body_coverage_min", "fragments_per_frame", "fragments_max",
                                                         "face_ssim_mean", "face_ssim_min", "face_frames")})
    row["face_ssim_ceiling"] = _face_ceiling(pa, pl)
    frozen = [videos["surface"][0]] * len(videos["surface"])
    m = video_metrics(frozen, passes, pa, every=every, static=True)
    row["control_frozen"] = {k: v for k, v in m.to_dict().items() if k in ("joint_on_part", "body_coverage")}
    _sheet(photo.stem, pa, pl, passes, videos)
    return row


def _face_ceiling(pa, pl):
    """Face SSIM of the photo itself framed like the video (same metric): what any video of this
    size can reach (a small face loses detail to the resize; the face mesh re-detection jitters)."""
    from magicdance_core.metrics.video import _Detector, aligned_face_ssim

    if pa.face_landmarks is None:
        return None
    det = _Detector(static=True)
    try:
        f = pl.warp(pa.image)
        pts, vis, _ = det.person(f)
        ff = det.face(f, pts, vis) if pts is not None else None
        s = aligned_face_ssim(f, ff, pa.image, pa.face_landmarks, pa.face_box) if ff is not None else None
    finally:
        det.close()
    return None if s is None else round(s, 4)


def _sheet(stem, pa, pl, passes, videos, height=200):
    dp = sorted((passes / "densepose").glob("*.png"))
    n = len(videos["surface"])
    idx = [int(k * (n - 1) / 3) for k in range(4)]
    rows = []
    for label, imgs in (("pass", [cv2.cvtColor(cv2.imread(str(dp[i])), cv2.COLOR_BGR2RGB) for i in idx]),
                        ("surface", [videos["surface"][i] for i in idx]),
                        ("puppet", [videos["puppet"][i] for i in idx])):
        rows.append(np.concatenate([pl.warp(pa.image)] + imgs, 1))
    sheet = np.concatenate(rows, 0)
    s = height * 3 / sheet.shape[0]
    sheet = cv2.resize(sheet, (int(sheet.shape[1] * s), height * 3), interpolation=cv2.INTER_AREA)
    (HERE / "sheets").mkdir(exist_ok=True)
    cv2.imwrite(str(HERE / "sheets" / f"{stem}.jpg"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 80])


def _example_shas() -> set:
    """sha256 of the shipped examples (the photo set's fireman240a.png is examples/fireman.png)."""
    import hashlib

    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in (ROOT / "examples").glob("*.*")
            if p.suffix in (".png", ".jpg")}


def table(res: dict) -> str:
    """RESULTS.md's table from compare.json: each cell surface / puppet / control."""
    f = lambda v: "–" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))  # noqa: E731
    out = ["| photo (split) | video | joint on part | body coverage mean (worst frame) | fragments/frame | "
           "face SSIM (worst) | face SSIM ceiling | frames/s (animator alone) | person re-detected (surface) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        name = f"{r['photo']} ({r.get('split', '-')})"
        if "error" in r:
            out.append(f"| {name} | refused: {r['error'].split(': ', 1)[-1].split(': wrote')[0][:90]} (--landmarks workflow) | | | | | | | |")
            continue
        s, p, c = r["surface"], r["puppet"], r["control_frozen"]
        half = " half body" if r.get("half_body") else ""
        out.append(
            f"| {name} | {r['size'][0]}×{r['size'][1]}{half} | **{f(s['joint_on_part'])}** / {f(p['joint_on_part'])} / {f(c['joint_on_part'])}"
            f" | **{f(s['body_coverage'])}** ({f(s['body_coverage_min'])}) / {f(p['body_coverage'])} ({f(p['body_coverage_min'])}) / {f(c['body_coverage'])}"
            f" | **{f(s['fragments_per_frame'])}** / {f(p['fragments_per_frame'])}"
            f" | **{f(s['face_ssim_mean'])}** ({f(s['face_ssim_min'])}) / {f(p['face_ssim_mean'])} ({f(p['face_ssim_min'])})"
            f" | {f(r.get('face_ssim_ceiling'))} | **{s['fps']:.0f}** / {p['fps']:.0f} | {f(s['detected_frames'])} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", nargs="*", default=None, help="photo files (default: examples + the photo set)")
    ap.add_argument("--split", choices=["tune", "test", "all"], default="all", help="the photo set's split (default: all)")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--every", type=int, default=3)
    ap.add_argument("--table", action="store_true", help="print RESULTS.md's table from compare.json and stop")
    a = ap.parse_args()
    if a.table:
        print(table(json.loads((HERE / "compare.json").read_text())))
        return
    import soundfile

    from magicdance_core.audio.decode import load_audio

    splits = {}
    if a.photos:
        photos = [Path(p) for p in a.photos]
    else:
        import photos as P

        photos = [ROOT / "examples" / n for n in ("mannequin.png", "astronaut.jpg", "fireman.png")]
        # the set's copies of the examples (fireman240a.png; astronaut.png, the same photo) are not run twice
        seen = {p.stem for p in photos}
        for p in P.fetch(split=a.split, progress=lambda *x: None):
            if p.id not in seen and p.entry["sha256"] not in _example_shas():
                photos.append(p.path)
                splits[p.name] = p.split
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        y, sr = load_audio(ROOT / "examples" / "song.ogg")
        song = Path(tmp) / "song.wav"
        soundfile.write(song, y[: int(a.seconds * sr)], sr)
        for p in photos:
            r = one(p, song, Path(tmp), a.size, a.every)
            r["split"] = splits.get(p.name, "example" if p.parent == ROOT / "examples" else "-")
            rows.append(r)
            print(json.dumps(r), flush=True)
    res = dict(machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (shared)",
               command="benchmarks/dance/compare.py " + " ".join(sys.argv[1:]), seconds=a.seconds, rows=rows)
    (HERE / "compare.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
