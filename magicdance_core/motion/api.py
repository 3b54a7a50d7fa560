"""``generate_dance``: a one-call shortcut to :class:`~.pipeline.DancePipeline`.

``generate_dance(song, seed=1)`` is ``DancePipeline.from_pretrained()(song, seed=1)``; every
keyword is the pipeline's (``sampling.OPTIONS``, ``cleanup``, ``style``, ``constraints``...).
The pipeline object itself is what the entry points call; this stays for scripts and notebooks.
"""

from __future__ import annotations

from typing import Optional

from ..body.motion_file import Motion
from ..fileio import PathLike
from .pipeline import CHECKPOINT_DIR, DEFAULT_CHECKPOINT, GENERATORS, DancePipeline, LoadedModel, load_model  # noqa: F401

DEFAULT_STEPS = 10   # the generic default; a checkpoint's sampling file may say otherwise


def generate_dance(music, *, checkpoint: Optional[PathLike] = None, generator: str = "model",
                   beat_sync=None, **call) -> Motion:
    """A dance for ``music`` from the pipeline of ``checkpoint`` (default: the shipped one) or the
    choreographer (``generator="choreo"``). ``beat_sync``: a strength, or False (off) / True (on at
    the checkpoint's strength, 1 if it has none)."""
    pipe = DancePipeline.from_pretrained(checkpoint, generator)
    if isinstance(beat_sync, bool):
        beat_sync = (pipe.sampling["beat_sync"] or 1.0) if beat_sync else 0.0
    return pipe(music, beat_sync=beat_sync, **call)
