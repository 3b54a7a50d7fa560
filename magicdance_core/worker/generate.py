"""Run the dance generator for the add-on and the worker: whole song or a time range.

Resolution order: ``motion.api.generate_dance`` (the model; it falls back to the
choreographer itself when no checkpoint exists), then
``choreo.compose.choreograph``, then :mod:`.fallback` on a bare checkout.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from ..body.motion_file import Motion
from ..errors import BadInput


def load_analysis(music, progress=None):
    """A MusicAnalysis from a song path (analysed now), a music.json, or an analysis (as is)."""
    if hasattr(music, "beats_s"):
        return music
    from ..audio.analysis import MusicAnalysis, analyze_music

    if str(music).lower().endswith(".json"):   # a music.json written by analyze (features beside it)
        return MusicAnalysis.from_json(music)
    return analyze_music(music, progress=progress)


def slice_analysis(a, start_s: float, end_s: float):
    """The analysis of the part [start_s, end_s) of the song, times shifted to start at 0."""
    fps = int(a.fps)
    f0 = max(0, int(round(start_s * fps)))
    f1 = min(int(a.n_frames), int(round(end_s * fps)))
    if f1 <= f0:
        raise BadInput(f"empty time range {start_s:.2f}-{end_s:.2f} s")
    t0 = f0 / fps

    def cut(x):
        x = np.asarray(x)
        return x[f0:f1] if x.ndim >= 1 and len(x) >= f1 else x

    def shift(b):
        b = np.asarray(b, float)
        return b[(b >= t0) & (b < f1 / fps)] - t0

    changes = {k: cut(getattr(a, k)) for k in ("onset_env", "rms", "edge35", "beat_onehot", "downbeat_onehot")
               if hasattr(a, k)}
    return dataclasses.replace(a, duration_s=(f1 - f0) / fps, beats_s=shift(a.beats_s),
                               downbeats_s=shift(a.downbeats_s), **changes)


def available_generator() -> str:
    try:
        from ..motion import api  # noqa: F401

        if hasattr(api, "generate_dance"):
            return "motion.api"
    except ImportError:
        pass
    try:
        from ..choreo import compose  # noqa: F401

        if hasattr(compose, "choreograph"):
            return "choreo.compose"
    except ImportError:
        pass
    return "fallback"


def generate_motion(music, *, style: Optional[str] = None, seed: int = 0, steps: Optional[int] = None,
                    constraints=None, start_s: Optional[float] = None, end_s: Optional[float] = None,
                    generator: Optional[str] = None, beat_pulse: Optional[float] = None, progress=None) -> Motion:
    """A Motion for ``music`` (path or MusicAnalysis), optionally for a time range only.

    ``generator``: "model" or "choreo" (motion.api's choice; None = the model);
    ``beat_pulse``: the model's beat pulse (None = the checkpoint's; see motion/beatsync.py)."""
    analysis = load_analysis(music, progress=progress)
    if start_s is not None or end_s is not None:
        analysis = slice_analysis(analysis, start_s or 0.0, analysis.duration_s if end_s is None else end_s)
    which = available_generator()
    if which == "motion.api":
        from ..motion.api import generate_dance

        m = generate_dance(analysis, style=style or None, seed=int(seed), steps=steps,
                           constraints=constraints, generator=generator or "model", beat_pulse=beat_pulse,
                           progress=progress)
    elif which == "choreo.compose":
        from ..choreo.compose import choreograph

        m = choreograph(analysis, style=style or "house", seed=int(seed), progress=progress)
    else:
        from .fallback import groove

        m = groove(analysis, seed=int(seed), progress=progress)
    m.meta.setdefault("generator", which)
    if style:
        m.meta.setdefault("style", style)
    m.meta.setdefault("seed", int(seed))
    return m


def build_constraints(reference: Motion, lock_mask: np.ndarray, joint_mask: np.ndarray, edges=(False, False)):
    """Editing constraints for the model (``motion.constraints.Constraints``), or None.

    reference: the take over the regenerated range; lock_mask (T,24): joints with a locked
    key at a frame; joint_mask (24,): joints to keep on every frame (the unselected bones
    when only some are regenerated); edges: (start, end) — pin the range's first/last
    frames to the take so the model joins it seamlessly.  The Blender side re-applies
    locked keys exactly in every case, so generators without constraints still keep them.
    """
    try:
        from ..motion.constraints import Constraints
    except ImportError:
        return None
    from ..body.skeleton import JOINT_NAMES

    T = reference.num_frames
    cons = Constraints(T)
    lock_mask = np.asarray(lock_mask, bool).reshape(T, 24)
    for f in np.nonzero(lock_mask.any(1))[0]:
        cons.add_joints([JOINT_NAMES[j] for j in np.nonzero(lock_mask[f])[0]], reference, frames=[int(f)])
    kept = [JOINT_NAMES[j] for j in np.nonzero(np.asarray(joint_mask, bool))[0]]
    if kept:
        cons.add_joints(kept, reference)
    k = min(2, T)
    if edges[0]:
        cons.add_joints(list(JOINT_NAMES), reference, frames=list(range(k)))
    if edges[1]:
        cons.add_joints(list(JOINT_NAMES), reference, frames=list(range(T - k, T)))
    return None if cons.empty else cons
