"""Music in the scene: 30 fps, frame range = the song, sound strip, beat markers, analysis.

The analysis (tempo, beats, downbeats, duration; not the per-frame features,
which are cheap to recompute) is kept on the scene as a JSON string in
``scene["md_music"]`` so it survives save/reload without any registered
property; the music path is inside it.  Markers made here are named with the
``md:`` prefix so re-importing replaces ours and leaves the user's alone.
"""

from __future__ import annotations

import json
import math
import os

import bpy
import numpy as np

from magicdance_core import FPS
from magicdance_core.errors import BadInput
from magicdance_core.fileio import require_file

STRIP_NAME = "MagicDance music"
MARKER_PREFIX = "md:"
SCENE_KEY = "md_music"

# Analyses of this session, by (path, size, mtime): Generate re-uses them.
_CACHE: dict = {}


def _strips(seq):
    # 4.4+ names the collection ``strips``; 4.2/4.3 call it ``sequences``.
    return seq.strips if hasattr(seq, "strips") else seq.sequences


def analyze(path: str, progress=None):
    """MusicAnalysis of ``path`` (cached for this session)."""
    from magicdance_core.audio.analysis import analyze_music

    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if key not in _CACHE:
        _CACHE.clear()   # one song at a time is plenty
        _CACHE[key] = analyze_music(path, progress=progress)
    return _CACHE[key]


def frame_of(scene, t_s) -> np.ndarray:
    """Scene frame of time ``t_s`` (seconds from the song's start)."""
    return scene.frame_start + np.rint(np.asarray(t_s, np.float64) * FPS).astype(int)


def clear_markers(scene) -> None:
    for m in [m for m in scene.timeline_markers if m.name.startswith(MARKER_PREFIX)]:
        scene.timeline_markers.remove(m)


def add_beat_markers(scene, beats_s, downbeats_s) -> int:
    clear_markers(scene)
    down = {int(f) for f in frame_of(scene, downbeats_s)}
    n = 0
    bar = 0
    for f in sorted({int(f) for f in frame_of(scene, beats_s)} | down):
        if f in down:
            bar += 1
            scene.timeline_markers.new(f"{MARKER_PREFIX}bar {bar}", frame=f)
        else:
            scene.timeline_markers.new(f"{MARKER_PREFIX}beat", frame=f)
        n += 1
    return n


def import_music(scene, path, markers: bool = True, analysis=None, progress=None):
    """Put the song at ``path`` into ``scene``; returns the MusicAnalysis.

    Raises BadInput (nothing in the scene changed) when the file is missing or
    not decodable audio.
    """
    path = str(require_file(path, "music file"))
    if analysis is None:
        analysis = analyze(path, progress=progress)   # decodes: BadInput on a bad file
    n_frames = max(1, int(math.ceil(analysis.duration_s * FPS - 1e-6)))
    try:
        sound = bpy.data.sounds.load(path, check_existing=True)
    except RuntimeError as e:
        raise BadInput(f"Blender cannot read the music file {path}: {e}") from None
    scene.render.fps = int(FPS)
    scene.render.fps_base = 1.0
    if scene.frame_start < 0:
        scene.frame_start = 1
    scene.frame_end = scene.frame_start + n_frames - 1
    scene.use_audio_scrub = True
    scene.sync_mode = "AUDIO_SYNC"
    seq = scene.sequence_editor or scene.sequence_editor_create()
    strips = _strips(seq)
    old = strips.get(STRIP_NAME)
    if old is not None:
        strips.remove(old)
    strip = strips.new_sound(STRIP_NAME, path, channel=1, frame_start=scene.frame_start)
    strip.sound = sound
    if markers:
        add_beat_markers(scene, analysis.beats_s, analysis.downbeats_s)
    else:
        clear_markers(scene)
    scene[SCENE_KEY] = json.dumps({
        "path": path,
        "duration_s": float(analysis.duration_s),
        "sample_rate": int(analysis.sample_rate),
        "tempo_bpm": float(analysis.tempo_bpm),
        "beats_s": [round(float(b), 5) for b in analysis.beats_s],
        "downbeats_s": [round(float(b), 5) for b in analysis.downbeats_s],
        "frame_start": int(scene.frame_start),
    })
    return analysis


def scene_music(scene):
    """The stored analysis summary (a dict) or None."""
    raw = scene.get(SCENE_KEY)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def music_strip(scene):
    seq = scene.sequence_editor
    return None if seq is None else _strips(seq).get(STRIP_NAME)
