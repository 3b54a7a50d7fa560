"""Motion diffusion benchmark: quality on unseen real songs and speed vs the `edge` config.

Songs: real game music from Debian packages that the training corpus did not use
(the corpus at runs/corpus_v1 is generated MIDI music only). Get them with

    cd /tmp && apt-get download hedgewars-data singularity-music && \
        dpkg -x hedgewars-data_*.deb songs && dpkg -x singularity-music_*.deb songs

and run (from the repository root)

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/motion/run.py --songs /tmp/songs --out benchmarks/motion/results.json

Protocol: each song is analysed whole (``analyze_music``), its first 30 s are
danced (seed 0, no style, default steps) and measured with
``magicdance_core.metrics``: beat alignment (Bailando and FACT variants), PFC,
foot-skate ratio, jerk, movement tempo vs the song's tempo (and whether it is the
song's, half or double: ``metrics.tempo_follows``, over 3 seeds per song, with the
training corpus's own rate as the reference), pops (frames where a joint moves
> 0.25 m), the pelvis's fastest turn; Div_k across the
songs and across 5 seeds on the first song; a style check (kinetic-feature
distance between styles vs between seeds). Speed: seconds to generate 30 s
with the default checkpoint (model already loaded, analysis given), and the
``edge`` config (random weights, Jukebox-sized input) with 50 DDIM steps on the
same 30 s: its per-step time is measured over a few steps and multiplied by 50
(every DDIM step costs the same), unless --edge-full runs all 50.
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

DEFAULT_SONGS = [
    "usr/share/games/hedgewars/Data/Music/Beach.ogg",
    "usr/share/games/hedgewars/Data/Music/Freeway.ogg",
    "usr/share/games/hedgewars/Data/Music/Rock.ogg",
    "usr/share/games/hedgewars/Data/Music/City.ogg",
    "usr/share/games/hedgewars/Data/Music/pirate.ogg",
    "usr/share/games/hedgewars/Data/Music/Castle.ogg",
    "usr/share/games/singularity/music/Awakening.ogg",
    "usr/share/games/singularity/music/Coherence.ogg",
    "usr/share/games/singularity/music/Nebula.ogg",
    "usr/share/games/singularity/music/Media Threat.ogg",
]
CLIP_S = 30.0


def crop(analysis, seconds: float):
    import copy

    a = copy.copy(analysis)
    n = int(round(seconds * a.fps))
    a.duration_s = min(a.duration_s, seconds)
    for name in ("onset_env", "rms", "beat_onehot", "downbeat_onehot"):
        setattr(a, name, getattr(a, name)[:n])
    a.edge35 = a.edge35[:n]
    a.beats_s = a.beats_s[a.beats_s < seconds]
    a.downbeats_s = a.downbeats_s[a.downbeats_s < seconds]
    if len(a.beats_s) > 2:  # the clip's own tempo: a song's median tempo can differ from its first 30 s
        a.tempo_bpm = float(60.0 / np.median(np.diff(a.beats_s)))
    return a


def mean_speed(joints) -> float:
    """Mean joint speed in m/s (all joints, all frames)."""
    from magicdance_core import metrics

    return float(metrics.joint_speed(joints).mean() * 30.0)


def split_speed(joints) -> tuple:
    """(body speed relative to the pelvis, pelvis speed) in m/s: dancing vs travelling."""
    j = np.asarray(joints, dtype=np.float64)
    local = np.linalg.norm(np.diff(j - j[:, :1], axis=0), axis=-1).mean() * 30.0
    root = np.linalg.norm(np.diff(j[:, 0], axis=0), axis=-1).mean() * 30.0
    return float(local), float(root)


def corpus_speed(folder, style_names) -> dict:
    """Mean joint speed (m/s) of the training windows, overall and per style; {} when absent."""
    if not Path(folder).is_dir():
        return {}
    from magicdance_core.body.fk import forward_kinematics
    from magicdance_core.body.skeleton import REST_OFFSETS
    import glob

    per, parts = {}, []
    for f in sorted(glob.glob(str(Path(folder) / "**" / "*.npz"), recursive=True)):
        with np.load(f) as z:
            if "poses" not in z.files:
                continue
            poses, trans = z["poses"], z["trans"]
            style = z["style"] if "style" in z.files else np.full(len(poses), -1)
        j = forward_kinematics(poses, trans, REST_OFFSETS)  # (N,150,24,3)
        sp = np.linalg.norm(np.diff(j, axis=1), axis=-1).mean(axis=(1, 2)) * 30.0
        for v, st in zip(sp, style):
            per.setdefault(int(st), []).append(float(v))
        for w in j:
            parts.append(split_speed(w))
    out = {"all": round(float(np.mean([v for vs in per.values() for v in vs])), 3)}
    out["body_relative_to_pelvis"], out["pelvis"] = (round(float(v), 3) for v in np.mean(parts, axis=0))
    for i, name in enumerate(style_names):
        if i in per:
            out[name] = round(float(np.mean(per[i])), 3)
    return out


def corpus_tempo(folder, every: int = 3) -> dict:
    """Movement tempo of the training dances vs their songs' tempo (every ``every``-th 5 s window).

    The reference for the generated dances' tempo figures: the corpus's own dances mark the
    beat, half time or double time this often (5 s windows give a noisier tempo than 30 s).
    """
    import glob

    from magicdance_core import metrics
    from magicdance_core.body.fk import forward_kinematics
    from magicdance_core.body.skeleton import REST_OFFSETS

    index = Path(folder) / "index.json"
    if not index.is_file():
        return {}
    songs = json.loads(index.read_text()).get("songs", [])
    pairs = []
    for f in sorted(glob.glob(str(Path(folder) / "*.npz"))):
        with np.load(f) as z:
            if "song" not in z.files:
                continue
            for i in range(0, len(z["poses"]), every):
                s = int(z["song"][i])
                if 0 <= s < len(songs) and songs[s].get("bpm"):
                    j = forward_kinematics(z["poses"][i], z["trans"][i], REST_OFFSETS)
                    pairs.append((float(songs[s]["bpm"]), metrics.movement_tempo(j)))
    if not pairs:
        return {}
    p = np.array(pairs)
    return {"windows": len(p), "tempo_correlation": round(float(np.corrcoef(p.T)[0, 1]), 3),
            "tempo_follow_fraction": round(float(np.mean([metrics.tempo_follows(a, b) for a, b in p])), 3)}


def style_classifier(folder, style_names):
    """Nearest-centroid style classifier on log kinetic features of the corpus's 5 s windows.

    Returns (classify(joints) -> style index, its accuracy on the corpus windows themselves),
    or (None, None) without a corpus. A check of whether a style makes the dance move like
    that style's training dances, not just differently.
    """
    import glob

    from magicdance_core import metrics
    from magicdance_core.body.fk import forward_kinematics
    from magicdance_core.body.skeleton import REST_OFFSETS

    feats, labels = [], []
    for f in sorted(glob.glob(str(Path(folder) / "*.npz"))):
        with np.load(f) as z:
            if "style" not in z.files:
                continue
            for i in range(0, len(z["poses"]), 2):
                j = forward_kinematics(z["poses"][i], z["trans"][i], REST_OFFSETS)
                feats.append(np.log(metrics.kinetic_features(j) + 1e-6))
                labels.append(int(z["style"][i]))
    labels = np.array(labels)
    if not feats or not all((labels == k).any() for k in range(len(style_names))):
        return None, None
    F = np.array(feats)
    mu, sd = F.mean(0), F.std(0) + 1e-6
    cent = np.stack([((F[labels == k] - mu) / sd).mean(0) for k in range(len(style_names))])

    def classify(joints) -> int:
        f = (np.log(metrics.kinetic_features(joints) + 1e-6) - mu) / sd
        return int(np.argmin(((cent - f) ** 2).sum(axis=1)))

    pred = np.argmin(((((F - mu) / sd)[:, None, :] - cent[None]) ** 2).sum(axis=-1), axis=1)
    return classify, float(np.mean(pred == labels))


def pops(joints, limit_m: float = 0.25) -> int:
    """Frames where some joint moves more than ``limit_m`` (8 m/s): a visible pop."""
    j = np.asarray(joints)
    return int((np.linalg.norm(np.diff(j, axis=0), axis=-1).max(axis=-1) > limit_m).sum())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--songs", default="/tmp/songs", help="folder holding the extracted Debian packages")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/motion/results.json"))
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--edge-steps-measured", type=int, default=3)
    ap.add_argument("--edge-full", action="store_true")
    ap.add_argument("--data", default="runs/corpus_v1", help="training corpus: its mean joint speed is the reference")
    ap.add_argument("--tempo-seeds", type=int, default=3, help="seeds per song for the tempo and pop counts")
    ap.add_argument("--cache", default="/tmp/motion_bench_cache", help="analyses are cached here (music.json)")
    args = ap.parse_args()

    import torch

    from magicdance_core import metrics
    from magicdance_core.audio.analysis import MusicAnalysis, analyze_music
    from magicdance_core.motion.api import DEFAULT_CHECKPOINT, DEFAULT_STEPS, generate_dance, load_model
    from magicdance_core.motion.model import DanceDenoiser, edge_config, parameter_count
    from magicdance_core.motion.sampler import DDIMSampler, SamplerSettings, split_windows
    from magicdance_core.motion.turnlimit import max_turn_deg

    ckpt = Path(args.checkpoint) if args.checkpoint else DEFAULT_CHECKPOINT
    steps = args.steps or DEFAULT_STEPS
    songs = [Path(args.songs) / s for s in DEFAULT_SONGS]
    songs = [s for s in songs if s.is_file()]
    if len(songs) < 8:
        print(f"need >= 8 songs under {args.songs}, found {len(songs)}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    lm = load_model(ckpt)
    load_s = time.perf_counter() - t0

    rows, joints_all, gen_times = [], [], []
    analyses = []
    for s in songs:
        cached = Path(args.cache) / (s.stem.replace(" ", "_") + ".music.json")
        if cached.is_file():
            full = MusicAnalysis.from_json(cached)
        else:
            full = analyze_music(s)
            full.to_json(cached)
        a = crop(full, CLIP_S)
        analyses.append(a)
        t0 = time.perf_counter()
        m = generate_dance(a, seed=0, steps=steps, checkpoint=ckpt)
        dt = time.perf_counter() - t0
        gen_times.append(dt)
        j = m.joints
        joints_all.append(j)
        body_speed, pelvis_speed = split_speed(j)
        # tempo and pops over more seeds: one 30 s dance's tempo is a noisy estimate
        extra = [generate_dance(a, seed=k, steps=steps, checkpoint=ckpt) for k in range(1, args.tempo_seeds)]
        tempos = [metrics.movement_tempo(x.joints) for x in [m] + extra]
        rows.append({
            "song": s.name, "tempo_bpm": round(float(a.tempo_bpm), 1),
            "movement_tempo_bpm_seeds": [round(t, 1) for t in tempos],
            "tempo_follows_seeds": [bool(metrics.tempo_follows(a.tempo_bpm, t)) for t in tempos],
            "tempo_follows_beat_interval_seeds": [bool(metrics.tempo_follows(a.tempo_bpm, metrics.beat_interval_tempo(x.joints)))
                                                  for x in [m] + extra],
            "pop_frames_seeds": [pops(x.joints) for x in [m] + extra],
            "max_pelvis_turn_deg_seeds": round(max(max_turn_deg(x.poses) for x in [m] + extra), 1),
            "movement_tempo_bpm": round(metrics.movement_tempo(j), 1),
            "tempo_follows": bool(metrics.tempo_follows(a.tempo_bpm, metrics.movement_tempo(j))),
            "pop_frames": pops(j), "max_pelvis_turn_deg": round(max_turn_deg(m.poses), 1),
            "beat_align_bailando": round(metrics.beat_align_bailando(j, a.beats_s), 4),
            "beat_align_fact": round(metrics.beat_align_fact(j, a.beats_s), 4),
            "pfc": round(metrics.pfc(j), 4), "foot_skate": round(metrics.foot_skate_ratio(j), 4),
            "jerk": round(metrics.jerk(j), 1), "joint_speed": round(mean_speed(j), 3),
            "body_speed_relative_to_pelvis": round(body_speed, 3), "pelvis_speed": round(pelvis_speed, 3),
            "seconds": round(dt, 2), "frames": m.num_frames,
        })
        print(rows[-1], flush=True)
    # the same dances without the pulse, and with the model's own timing (no beat sync at all)
    ablations = {}
    for name, kw in (("without_pulse", {"beat_pulse": 0.0}), ("model_timing", {"beat_sync": False})):
        fol, ba, jk = [], [], []
        for a in analyses:
            for k in range(args.tempo_seeds):
                x = generate_dance(a, seed=k, steps=steps, checkpoint=ckpt, **kw).joints
                fol.append(metrics.tempo_follows(a.tempo_bpm, metrics.movement_tempo(x)))
                ba.append(metrics.beat_align_bailando(x, a.beats_s))
                jk.append(metrics.jerk(x))
        ablations[name] = {"tempo_follow_fraction": round(float(np.mean(fol)), 3),
                           "beat_align_bailando_mean": round(float(np.mean(ba)), 4), "jerk_mean": round(float(np.mean(jk)), 1)}
    seeds = [generate_dance(analyses[0], seed=k, steps=steps, checkpoint=ckpt).joints for k in range(5)]
    style_names = list(lm.cfg.style_names)
    styled = {st: generate_dance(analyses[0], seed=0, steps=steps, checkpoint=ckpt, style=st).joints for st in style_names}
    # reference: the procedural choreographer (which the corpus was made with) on the same clips
    choreo = [generate_dance(a, seed=k, style=st, generator="choreo")
              for a in analyses for k, st in enumerate(("house", "pop", "hiphop"))]
    choreo_tempo = [metrics.tempo_follows(a.tempo_bpm, metrics.movement_tempo(m.joints))
                    for a, m in zip([a for a in analyses for _ in range(3)], choreo)]
    choreo_ba = [metrics.beat_align_bailando(m.joints, a.beats_s) for a, m in zip([a for a in analyses for _ in range(3)], choreo)]
    # movement energy per style: generated on the first 3 songs vs the corpus windows of that style
    data_speed = corpus_speed(args.data, style_names)
    style_speed = {st: round(float(np.mean([mean_speed(generate_dance(a, seed=0, steps=steps, checkpoint=ckpt, style=st).joints)
                                             for a in analyses[:3]])), 3) for st in style_names}
    classify, style_self_acc = style_classifier(args.data, style_names)
    style_acc = choreo_style_acc = None
    if classify is not None:  # does "ballet" move like the corpus's ballet? 4 songs x every style
        hits = [classify(generate_dance(a, seed=0, steps=steps, checkpoint=ckpt, style=st).joints) == k
                for a in analyses[:4] for k, st in enumerate(style_names)]
        style_acc = round(float(np.mean(hits)), 3)
        hits = [classify(generate_dance(a, seed=0, style=st, generator="choreo").joints) == k
                for a in analyses[:4] for k, st in enumerate(style_names)]
        choreo_style_acc = round(float(np.mean(hits)), 3)
    kf = lambda j: metrics.kinetic_features(j)  # noqa: E731
    style_feats = np.stack([kf(j) for j in styled.values()])
    seed_feats = np.stack([kf(j) for j in seeds])
    pd = lambda f: float(np.mean([np.linalg.norm(f[i] - f[k]) for i in range(len(f)) for k in range(i + 1, len(f))]))  # noqa: E731

    # speed: the edge config on the same 30 s (11 windows) vs the default checkpoint
    torch.manual_seed(0)
    edge = DanceDenoiser(edge_config()).eval()
    music = torch.randn(split_windows(np.zeros((int(CLIP_S * 30), 1))).shape[0], 150, 4800)
    n_edge = 50 if args.edge_full else args.edge_steps_measured
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    DDIMSampler(edge, SamplerSettings(steps=n_edge)).sample(music, generator=torch.Generator().manual_seed(0))
    edge_measured = time.perf_counter() - t0
    torch.set_num_threads(threads)
    edge_50 = edge_measured * 50 / n_edge
    small_30 = float(np.median(gen_times))

    tempo_pairs = np.array([[r["tempo_bpm"], r["movement_tempo_bpm"]] for r in rows])
    summary = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads requested, shared 2-core CPU",
        "checkpoint": str(ckpt.relative_to(ROOT)) if ckpt.is_relative_to(ROOT) else str(ckpt),
        "checkpoint_sha256": lm.sha256, "parameters": parameter_count(lm.model), "steps": steps,
        "model_load_s": round(load_s, 2),
        "songs": len(rows),
        "beat_align_bailando_mean": round(float(np.mean([r["beat_align_bailando"] for r in rows])), 4),
        "beat_align_fact_mean": round(float(np.mean([r["beat_align_fact"] for r in rows])), 4),
        "pfc_mean": round(float(np.mean([r["pfc"] for r in rows])), 4),
        "foot_skate_mean": round(float(np.mean([r["foot_skate"] for r in rows])), 4),
        "jerk_mean": round(float(np.mean([r["jerk"] for r in rows])), 1),
        "div_k_across_songs": round(metrics.div_k(joints_all), 3),
        "div_k_across_seeds": round(metrics.div_k(seeds), 3),
        "kinetic_distance_between_styles": round(pd(style_feats), 3), "styles": style_names,
        "kinetic_distance_between_seeds": round(pd(seed_feats), 3),
        "div_k_across_styles": round(metrics.div_k(list(styled.values())), 3),
        "style_accuracy": style_acc, "style_accuracy_chance": round(1.0 / max(1, len(style_names)), 3),
        "style_accuracy_choreographer": choreo_style_acc,
        "style_accuracy_corpus_windows": None if style_self_acc is None else round(style_self_acc, 3),
        "joint_speed_generated_mean": round(float(np.mean([r["joint_speed"] for r in rows])), 3),
        "joint_speed_data_mean": data_speed.get("all"),
        "body_speed_relative_to_pelvis_generated_mean": round(float(np.mean([r["body_speed_relative_to_pelvis"] for r in rows])), 3),
        "body_speed_relative_to_pelvis_data_mean": data_speed.get("body_relative_to_pelvis"),
        "pelvis_speed_generated_mean": round(float(np.mean([r["pelvis_speed"] for r in rows])), 3),
        "pelvis_speed_data_mean": data_speed.get("pelvis"),
        "joint_speed_generated_by_style": style_speed,
        "joint_speed_data_by_style": {k: v for k, v in data_speed.items() if k in style_names},
        "tempo_correlation_song_vs_movement": round(float(np.corrcoef(tempo_pairs.T)[0, 1]), 3),
        "tempo_follow_fraction": round(float(np.mean([f for r in rows for f in r["tempo_follows_seeds"]])), 3),
        "tempo_correlation_all_seeds": round(float(np.corrcoef(
            [[r["tempo_bpm"], t] for r in rows for t in r["movement_tempo_bpm_seeds"]], rowvar=False)[0, 1]), 3),
        "tempo_follow_fraction_beat_interval": round(float(np.mean(
            [f for r in rows for f in r["tempo_follows_beat_interval_seeds"]])), 3),
        "tempo_dances": int(sum(len(r["tempo_follows_seeds"]) for r in rows)),
        "ablations": ablations,
        "tempo_data_reference": corpus_tempo(args.data),
        "choreographer_reference": {"dances": len(choreo), "tempo_follow_fraction": round(float(np.mean(choreo_tempo)), 3),
                                    "beat_align_bailando_mean": round(float(np.mean(choreo_ba)), 4)},
        "pop_frames": int(sum(sum(r["pop_frames_seeds"]) for r in rows)),
        "pop_frames_of": int(sum((r["frames"] - 1) * len(r["pop_frames_seeds"]) for r in rows)),
        "max_pelvis_turn_deg": float(max(r["max_pelvis_turn_deg_seeds"] for r in rows)),
        "seconds_30s_default_median": round(small_30, 2),
        "seconds_30s_default_max": round(float(np.max(gen_times)), 2),
        "edge_parameters": parameter_count(edge),
        "edge_steps_measured": n_edge, "edge_seconds_measured": round(edge_measured, 2),
        "seconds_30s_edge_50_steps": round(edge_50, 1),
        "speed_ratio_edge_over_default": round(edge_50 / small_30, 1),
        "per_song": rows,
    }
    Path(args.out).write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "per_song"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
