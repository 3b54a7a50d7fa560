"""Does the motion model keep time by itself? (issue: "The motion model keeps time by itself")

For each song of a split of ``benchmarks/songs/manifest.json`` (default: the untouched **test**
split), the first 30 s are danced by every generator (the shipped checkpoint with its shipped
sampling, beat guidance included; the same network with beat guidance off, "network alone";
optionally a candidate checkpoint; the choreographer) with a few seeds, and every dance is scored
as it comes out of the generator (``raw``: sampled and smoothed, no clean-up) and after each
clean-up (``default``: what ``magicdance motion`` ships, the turn limit and the foot fix, no
retiming; ``snap``: accents snapped onto the beats, no pulse; ``snap+pulse``: ``--snap-to-beat``
with the pulse, the default retiming until a9c622e). A control row puts rhythmless motion
(smoothed noise on every joint, no beat in it) through the same presets: a figure the clean-up
alone can produce shows up there. With ``--previous REV`` the release at that git revision dances the
same songs and seeds with its own defaults (``previous_release.py``, in its own process) and is
scored in the same table.

Per dance: Bailando beat alignment (sigma 3 frames) against the song's beats from the project's
tracker, against the same beats shifted by half a beat (a dance that hears the beat scores
clearly lower there), and against librosa's default ``beat_track`` beats (an independent
tracker) and their half-beat shift; whether the movement tempo is the song's (or half/double);
foot slide by the issue's definition (a foot on the floor when its joint is within 5 cm of its
lowest height in the clip in both frames; share of those frame pairs faster than 0.3 m/s
horizontally: ``metrics.floor_skate``); ``metrics.foot_skate_ratio`` (feet within 5 cm of the
skeleton's contact height moving faster than 0.5 m/s); pops (frames in which a joint moves more
than 0.25 m, per 1000 frames); body speed relative to the pelvis (m/s; training data 0.344).
Per generator and preset: the mean and the worst song.

Style by the label (choreographer guide off): for each style, the model's raw dance on the first
songs is classified by a nearest-centroid classifier on the training corpus's windows
(``run.py: style_classifier``); accuracy (chance 1/7).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/motion/timing.py --split test \\
        [--candidate runs/phase/checkpoint.safetensors] [--previous 41a98ae] --corpus runs/corpus_v2 \\
        --out benchmarks/motion/timing_test.json

Songs are fetched from their Debian packages by ``benchmarks/songs/fetch.py`` (sha256-checked).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "motion"))
sys.path.insert(0, str(ROOT / "benchmarks" / "songs"))

# clean-up presets scored for every dance: name -> (cleanup preset, setting overrides)
PRESETS = {"raw": ("raw", {}),                                    # the generator's output as it is
           "default": ("default", {}),                            # what `magicdance motion` ships
           "snap": ("snap", {}),                                  # accents snapped onto the beats
           "snap+pulse": ("default", {"beat_sync": 1.0, "beat_pulse": 0.5})}   # the retiming shipped until a9c622e


def half_beat_shift(beats: np.ndarray) -> np.ndarray:
    """The midpoints between consecutive beats: the beat grid moved by half a beat."""
    b = np.asarray(beats, float)
    return (b[:-1] + b[1:]) / 2.0 if len(b) > 1 else b


def rhythmless(T: int, seed: int, like=None):
    """Smoothed noise on every joint (and a little on the pelvis): motion with no beat in it.
    Amplitude and smoothness roughly those of a dance (per-channel std of ``like`` if given)."""
    from scipy.ndimage import gaussian_filter1d

    from magicdance_core.body.motion_file import Motion

    rng = np.random.default_rng(seed)
    poses = gaussian_filter1d(rng.standard_normal((T, 24, 3)), sigma=6.0, axis=0)
    poses /= poses.std(axis=0, keepdims=True) + 1e-9
    amp = 0.25 if like is None else np.asarray(like.poses).std(axis=0, keepdims=True)
    poses = poses * amp
    if like is not None:
        poses = poses + np.asarray(like.poses).mean(axis=0, keepdims=True)
    trans = np.zeros((T, 3))
    trans[:, 1] = 0.0 if like is None else float(np.median(like.trans[:, 1]))
    trans[:, [0, 2]] = gaussian_filter1d(rng.standard_normal((T, 2)), sigma=20.0, axis=0) * 0.05
    return Motion(poses=poses.astype(np.float32), trans=trans.astype(np.float32))


def scores(joints, beats, lr_beats, song_bpm) -> dict:
    from magicdance_core import metrics

    ba = metrics.beat_align_bailando
    mv = metrics.movement_tempo(joints)
    step = np.linalg.norm(np.diff(joints, axis=0), axis=2)           # (T-1, 24) metres per frame
    rel = np.linalg.norm(np.diff(joints - joints[:, :1], axis=0), axis=2)
    return {"ba": ba(joints, beats), "ba_half": ba(joints, half_beat_shift(beats)),
            "ba_librosa": ba(joints, lr_beats), "ba_librosa_half": ba(joints, half_beat_shift(lr_beats)),
            "tempo_follows": float(metrics.tempo_follows(song_bpm, mv)),
            "floor_slide": metrics.floor_skate(joints)["ratio"],
            "foot_skate": metrics.foot_skate_ratio(joints),
            # frames in which some joint moves more than 0.25 m (7.5 m/s): a pop, per 1000 frames
            "pops_per_1000": float((step.max(axis=1) > 0.25).mean() * 1000.0),
            "body_speed": float(rel.mean() * 30.0)}                  # m/s, pelvis removed (data 0.344)


HIGHER_IS_WORSE = ("ba_half", "ba_librosa_half", "floor_slide", "foot_skate", "pops_per_1000")


def summarise(per_song: dict) -> dict:
    """{metric: mean, metric_worst: worst song (lowest ba, highest ba_half and slide)}."""
    keys = next(iter(per_song.values())).keys()
    out = {}
    for k in keys:
        vals = np.array([v[k] for v in per_song.values()])
        out[k] = float(vals.mean())
        worst = vals.max() if k in HIGHER_IS_WORSE else vals.min()
        out[k + "_worst"] = float(worst)
        name = list(per_song)[int(np.argmax(vals) if k in HIGHER_IS_WORSE else np.argmin(vals))]
        out[k + "_worst_song"] = name
    for name, (a, b) in (("ba_margin", ("ba", "ba_half")), ("ba_librosa_margin", ("ba_librosa", "ba_librosa_half"))):
        margin = np.array([v[a] - v[b] for v in per_song.values()])
        out[name], out[name + "_worst"] = float(margin.mean()), float(margin.min())
        out[name + "_worst_song"] = list(per_song)[int(np.argmin(margin))]
    return out


def previous_release_joints(rev: str, songs, seeds: int, cache: Path) -> dict:
    """{(song, seed): Motion-like with .joints} danced by the release at git revision ``rev``, in a
    subprocess whose PYTHONPATH is that release's ``magicdance_core`` (``previous_release.py``)."""
    import os
    import subprocess
    import tempfile
    from types import SimpleNamespace

    with tempfile.TemporaryDirectory(prefix="md_previous_") as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "magicdance_core"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        jobs = []
        for name, a, _ in songs:
            music = Path(tmp) / f"{name}.music.json"
            a.to_json(music)
            for seed in range(seeds):
                jobs.append({"analysis": str(music), "seed": seed, "out": str(Path(tmp) / f"{name}.{seed}.npy"),
                             "key": [name, seed]})
        request = Path(tmp) / "request.json"
        request.write_text(json.dumps(jobs))
        env = dict(os.environ, PYTHONPATH=str(tree))
        print(f"previous release {rev}: {len(jobs)} dances", flush=True)
        subprocess.run([sys.executable, str(Path(__file__).with_name("previous_release.py")), str(request)],
                       check=True, env=env, cwd=tmp)
        seconds = json.loads(request.with_suffix(".seconds.json").read_text())
        print(f"previous release: median {np.median(seconds):.2f} s per dance", flush=True)
        return {tuple(j["key"]): SimpleNamespace(joints=np.load(j["out"]), seconds=t) for j, t in zip(jobs, seconds)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="test", choices=("tune", "test", "all"))
    ap.add_argument("--checkpoint", default=None, help="the shipped one by default")
    ap.add_argument("--candidate", default=None, help="a second checkpoint, scored side by side")
    ap.add_argument("--previous", default=None, metavar="REV",
                    help="a git revision of an earlier release (e.g. 41a98ae, the last before DancePipeline): "
                         "its own generate_dance defaults are danced and scored side by side")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--corpus", default=None, help="training corpus (for the style classifier)")
    ap.add_argument("--style-songs", type=int, default=3)
    ap.add_argument("--cache", default="/tmp/motion_timing_cache")
    ap.add_argument("--songs-cache", default=None)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/motion/timing_test.json"))
    args = ap.parse_args()

    import librosa

    from fetch import songs as fetch_songs
    from run import crop, style_classifier

    from magicdance_core.audio.analysis import MusicAnalysis, analyze_music
    from magicdance_core.audio.decode import load_audio
    from magicdance_core.motion import cleanup as chain_steps
    from magicdance_core.motion.pipeline import DancePipeline

    clip_s = 30.0
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    songs = []
    for name, path in fetch_songs(args.split, args.songs_cache):
        cached = cache / f"{name}.music.json"
        full = MusicAnalysis.from_json(cached) if cached.is_file() else analyze_music(path)
        if not cached.is_file():
            full.to_json(cached)
        a = crop(full, clip_s)
        y, sr = load_audio(path)
        y = np.asarray(y, np.float32)[: int(clip_s * sr)]
        _, lr = librosa.beat.beat_track(y=y, sr=sr, units="time")
        songs.append((name, a, np.asarray(lr, float)))
        print(f"{name}: {a.tempo_bpm:.1f} BPM, {len(a.beats_s)} beats (librosa {len(lr)})", flush=True)

    shipped = DancePipeline.from_pretrained(args.checkpoint)
    # generator name -> (pipeline, call overrides): the shipped sampling, and its network alone
    gens = {"shipped": (shipped, {}), "network alone (no beat guidance)": (shipped, {"beat_guidance": 0.0})}
    if args.candidate:
        gens["candidate"] = (DancePipeline.from_pretrained(args.candidate), {})
    gens["choreographer"] = (DancePipeline.from_pretrained(generator="choreo"), {})

    rows: dict = {}
    timings: dict = {}
    previous = previous_release_joints(args.previous, songs, args.seeds, cache) if args.previous else {}
    if previous:
        timings[f"previous release {args.previous}"] = [m.seconds for m in previous.values()]

    def add(row, name, motion_by_preset, beats, lr, bpm):
        for preset, m in motion_by_preset.items():
            rows.setdefault(f"{row} / {preset}", {}).setdefault(name, []).append(scores(m.joints, beats, lr, bpm))

    def presets_of(pipe, raw, analysis):
        out = {}
        for row, (preset, overrides) in PRESETS.items():
            s = pipe.check_inputs(cleanup=preset, **overrides)[3]
            chain = chain_steps.build_chain(preset, s, analysis.beats_s)
            out[row] = chain_steps.run_chain(raw, chain, chain_steps.Pinned.none(raw.num_frames))
        return out

    for name, a, lr in songs:
        for seed in range(args.seeds):
            for g, (pipe, overrides) in gens.items():
                t0 = time.perf_counter()
                raw = pipe(a, seed=seed, cleanup="raw", **overrides)
                timings.setdefault(g, []).append(time.perf_counter() - t0)
                add(g, name, presets_of(pipe, raw, a), a.beats_s, lr, a.tempo_bpm)
                if g == "shipped" and (name, seed) in previous:
                    add(f"previous release {args.previous}", name, {"as shipped": previous[name, seed]},
                        a.beats_s, lr, a.tempo_bpm)
                if g == "shipped":
                    ctrl = rhythmless(raw.num_frames, 1000 + seed, like=raw)
                    add("control (rhythmless)", name, presets_of(pipe, ctrl, a), a.beats_s, lr, a.tempo_bpm)
        print(f"{name} done", flush=True)

    table = {}
    for row, per in rows.items():
        per_song = {n: {k: float(np.mean([d[k] for d in ds])) for k in ds[0]} for n, ds in per.items()}
        table[row] = summarise(per_song)
        table[row]["per_song"] = per_song

    styles_out = {}
    if args.corpus:
        classify, self_acc = style_classifier(args.corpus, shipped.styles)
        if classify is not None:
            styles_out["classifier_accuracy_on_corpus"] = self_acc
            for g, (pipe, overrides) in gens.items():
                if g == "choreographer":
                    continue
                hits = []
                for name, a, _ in songs[: args.style_songs]:
                    for k, st in enumerate(pipe.styles):
                        m = pipe(a, style=st, seed=0, cleanup="raw", choreo_guide=0.0, **overrides)
                        hits.append(classify(m.joints) == k)
                styles_out[g] = float(np.mean(hits))
                print(f"style accuracy {g}: {styles_out[g]:.2f}", flush=True)

    out = {"split": args.split, "songs": [n for n, _, _ in songs], "seeds": args.seeds, "clip_s": clip_s,
           "checkpoint": args.checkpoint or "shipped", "candidate": args.candidate, "previous": args.previous,
           "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
           "seconds_per_dance": {g: float(np.median(t)) for g, t in timings.items()},
           "rows": table, "style_accuracy_no_guide": styles_out}
    Path(args.out).write_text(json.dumps(out, indent=1))
    cols = ("ba", "ba_worst", "ba_half", "ba_margin_worst", "ba_librosa", "ba_librosa_half",
            "ba_librosa_margin_worst", "tempo_follows", "floor_slide", "floor_slide_worst", "foot_skate",
            "pops_per_1000", "body_speed")
    print("| row | " + " | ".join(cols) + " |")
    for row, t in table.items():
        print(f"| {row} | " + " | ".join(f"{t[c]:.3f}" for c in cols) + " |")
    print(json.dumps(styles_out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
