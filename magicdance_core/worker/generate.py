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
                    progress=None) -> Motion:
    """A Motion for ``music`` (path or MusicAnalysis), optionally for a time range only."""
    analysis = load_analysis(music, progress=progress)
    if start_s is not None or end_s is not None:
        analysis = slice_analysis(analysis, start_s or 0.0, analysis.duration_s if end_s is None else end_s)
    which = available_generator()
    if which == "motion.api":
        from ..motion.api import generate_dance

        m = generate_dance(analysis, style=style or None, seed=int(seed), steps=steps,
                           constraints=constraints, progress=progress)
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


def build_constraints(reference: Motion, frame_mask: np.ndarray, joint_mask: np.ndarray):
    """Constraints for the model from a reference motion and masks, or None.

    ``frame_mask`` (T,) marks frames whose values are to be kept, ``joint_mask`` (24,)
    the joints kept there.  Uses ``magicdance_core.motion.constraints`` when it offers
    a ``from_motion`` constructor; the Blender side re-applies locked keys exactly
    in every case, so a generator without constraints still yields exact locks.
    """
    try:
        from ..motion.constraints import Constraints
    except ImportError:
        return None
    make = getattr(Constraints, "from_motion", None)
    if make is None:
        return None
    try:
        return make(reference, frame_mask=np.asarray(frame_mask, bool), joint_mask=np.asarray(joint_mask, bool))
    except TypeError:
        return None
