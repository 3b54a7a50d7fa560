"""The training-window dataset format (documented in docs/choreo.md) and its writer.

A dataset folder holds ``index.json`` and shards ``shard_00000.npz`` ... with
  music    (N,150,35) float32  EDGE's 35-dim baseline music features at 30 fps
  poses    (N,150,24,3) float32 axis-angle local rotations (motion-file layout)
  trans    (N,150,3) float32   pelvis position, metres, Y up
  contacts (N,150,4) float32   left ankle, left toe, right ankle, right toe
  style    (N,) int16          index into index.json "styles" (-1 = unknown)
  song     (N,) int32          index into index.json "songs"
  start    (N,) int32          first frame of the window in its song
  phase    (N,150,4) float32   sin/cos of the beat phase and of the bar phase of the beats the
                               dance was made on (``motion.music_input.metrical_phase``)
Windows are 5 s (150 frames) with a 2.5 s (75 frame) stride.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..fileio import atomic_path, atomic_write_text
from ..choreo.styles import STYLES

WINDOW = 150
STRIDE = 75
FORMAT = "magicdance-windows-1"
STYLE_NAMES = tuple(STYLES)


def window_starts(n_frames: int, window: int = WINDOW, stride: int = STRIDE) -> list:
    if n_frames < window:
        return []
    return list(range(0, n_frames - window + 1, stride))


class WindowWriter:
    """Collects windows song by song and writes shards of ``shard_size`` windows atomically."""

    def __init__(self, out_dir, shard_size: int = 512, source: str = "") -> None:
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.shard_size = shard_size
        self.buf: dict = {k: [] for k in ("music", "poses", "trans", "contacts", "style", "song", "start", "phase")}
        self.shards: list = []
        self.songs: list = []
        self.source = source
        self.n_windows = 0

    def add_song(self, music: np.ndarray, poses: np.ndarray, trans: np.ndarray, contacts: np.ndarray,
                 style: str | None, info: dict, phase: np.ndarray | None = None) -> int:
        """Cut one song's aligned arrays (frames at 30 fps) into windows; returns how many.

        ``phase``: (frames, 4) metrical phase of the beats danced to; zeros when unknown."""
        n = min(len(music), len(poses))
        if phase is None:
            phase = np.zeros((n, 4), np.float32)
        song_id = len(self.songs)
        self.songs.append({**info, "frames": int(n), "style": style})
        sidx = STYLE_NAMES.index(style) if style in STYLE_NAMES else -1
        count = 0
        for s in window_starts(n):
            e = s + WINDOW
            self.buf["music"].append(np.asarray(music[s:e], np.float32))
            self.buf["poses"].append(np.asarray(poses[s:e], np.float32))
            self.buf["trans"].append(np.asarray(trans[s:e], np.float32))
            self.buf["contacts"].append(np.asarray(contacts[s:e], np.float32))
            self.buf["phase"].append(np.asarray(phase[s:e], np.float32))
            self.buf["style"].append(sidx)
            self.buf["song"].append(song_id)
            self.buf["start"].append(s)
            count += 1
            if len(self.buf["style"]) >= self.shard_size:
                self._flush()
        self.n_windows += count
        return count

    def _flush(self) -> None:
        if not self.buf["style"]:
            return
        name = f"shard_{len(self.shards):05d}.npz"
        arrays = {k: np.stack(v) if k in ("music", "poses", "trans", "contacts", "phase") else np.asarray(v) for k, v in self.buf.items()}
        arrays["style"] = arrays["style"].astype(np.int16)
        arrays["song"] = arrays["song"].astype(np.int32)
        arrays["start"] = arrays["start"].astype(np.int32)
        with atomic_path(self.out / name) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
        self.shards.append({"file": name, "windows": int(len(arrays["style"]))})
        self.buf = {k: [] for k in self.buf}

    def close(self, extra: dict | None = None) -> Path:
        self._flush()
        index = {"format": FORMAT, "fps": 30, "window": WINDOW, "stride": STRIDE, "music_dim": 35,
                 "styles": list(STYLE_NAMES), "windows": self.n_windows, "hours": round(sum(s["frames"] for s in self.songs) / 30 / 3600, 4),
                 "source": self.source, "shards": self.shards, "songs": self.songs, **(extra or {})}
        path = self.out / "index.json"
        atomic_write_text(path, json.dumps(index, indent=1))
        return path


def load_index(folder) -> dict:
    from ..errors import BadInput

    p = Path(folder) / "index.json"
    if not p.is_file():
        raise BadInput(f"not a dataset folder (no index.json): {folder}")
    idx = json.loads(p.read_text())
    if idx.get("format") != FORMAT:
        raise BadInput(f"unknown dataset format {idx.get('format')!r} in {p}")
    return idx


def iter_shards(folder):
    """Yield each shard's arrays as a dict."""
    idx = load_index(folder)
    for sh in idx["shards"]:
        with np.load(Path(folder) / sh["file"]) as z:
            yield {k: z[k] for k in z.files}
