"""librosa's beat tracker with every numba kernel cached on disk.

librosa 0.11 compiles one kernel of its beat tracker (``__beat_local_score``) with
``cache=False``: every fresh process spent seconds of LLVM time on it before the first song was
analysed (its other kernels are cached). Importing ``librosa.beat`` through :func:`librosa_beat`
compiles that kernel once and keeps it in numba's cache beside the others; the kernel and its
results are unchanged (tests/test_audio_beats.py compares beats).
"""

from __future__ import annotations

import sys
import threading

_LOCK = threading.Lock()


def librosa_beat():
    """The ``librosa.beat`` module, imported with caching on for all of its numba kernels."""
    mod = sys.modules.get("librosa.beat")
    if mod is not None:
        return mod
    with _LOCK:
        import numba

        original = numba.guvectorize

        def cached(*args, **kwargs):
            if kwargs.get("cache") is False:
                kwargs["cache"] = True
            return original(*args, **kwargs)

        numba.guvectorize = cached
        try:
            import librosa.beat as mod
        finally:
            numba.guvectorize = original
        return mod
