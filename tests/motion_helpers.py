"""Small synthetic dance data for the motion tests (music-driven sway, written as dataset shards)."""

import json
from pathlib import Path

import numpy as np

from magicdance_core.body.skeleton import REST_PELVIS_HEIGHT


def synthetic_windows(n=24, window=150, seed=0):
    """Windows whose joint swings follow a beat-like music feature, so music matters."""
    rng = np.random.default_rng(seed)
    t = np.arange(window) / 30.0
    poses = np.zeros((n, window, 24, 3), np.float32)
    trans = np.zeros((n, window, 3), np.float32)
    music = np.zeros((n, window, 35), np.float32)
    style = np.zeros(n, np.int64)
    for i in range(n):
        bpm = rng.uniform(80, 140)
        ph = rng.uniform(0, 2 * np.pi)
        beat = np.sin(2 * np.pi * bpm / 60 * t + ph)
        music[i, :, 0] = beat
        music[i, :, 1:34] = rng.normal(0, 0.1, (window, 33))
        # EDGE's beat column: a one-hot where the beat-like feature peaks
        peaks = (beat[1:-1] > beat[:-2]) & (beat[1:-1] >= beat[2:])
        music[i, 1:-1, 34] = peaks
        style[i] = i % 3
        amp = 0.3 + 0.2 * style[i]
        poses[i, :, 16, 2] = amp * beat           # left shoulder
        poses[i, :, 17, 2] = -amp * beat          # right shoulder
        poses[i, :, 3, 0] = 0.1 * beat            # spine
        trans[i, :, 1] = REST_PELVIS_HEIGHT + 0.02 * beat
        trans[i, :, 0] = 0.05 * np.sin(0.5 * t + ph)
    contacts = np.ones((n, window, 4), np.float32)
    return dict(music=music, poses=poses, trans=trans, contacts=contacts, style=style)


def write_dataset(folder, n=24, seed=0, shards=2):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    d = synthetic_windows(n, seed=seed)
    per = int(np.ceil(n / shards))
    for s in range(shards):
        sl = slice(s * per, (s + 1) * per)
        np.savez(folder / f"shard_{s:03d}.npz", **{k: v[sl] for k, v in d.items()})
    (folder / "index.json").write_text(json.dumps({"styles": ["a", "b", "c"], "shards": shards}))
    return folder
