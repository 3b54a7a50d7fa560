"""A song analysed in a second process while this one loads the motion model.

A fresh ``magicdance motion`` spends about 2.5 s analysing the song (1.5 s of it importing
librosa and loading its numba kernels) and about 2 s importing torch and loading the model.
Threads cannot overlap the two (both are Python-bound under the GIL), a forked process can:
on two cores the start-up drops by the shorter of the two. The child is forked before torch is
imported, so it carries nothing heavy, and it returns the :class:`MusicAnalysis` by pickle.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def _analyse(path: str):
    from .analysis import analyze_music

    return analyze_music(path)


class BackgroundAnalysis:
    """``result()`` gives what the pipeline takes as music: the analysis of an audio file (done in
    a forked process started here), or a music.json path as it was. Use as a context manager:
    leaving it stops the process (Ctrl-C, errors) and leaves nothing behind."""

    def __init__(self, song) -> None:
        self._song = song
        self._pool = None
        self._future = None
        if Path(song).suffix.lower() != ".json" and "fork" in multiprocessing.get_all_start_methods():
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
            self._future = self._pool.submit(_analyse, str(song))

    def result(self, progress=None):
        if self._future is None:
            return self._song
        if progress is not None:
            progress("analyze", 0.0, "beats and features (in parallel with the model loading)")
        out = self._future.result()   # a BadInput of the child's is raised here, as it was
        if progress is not None:
            progress("analyze", 1.0, "done")
        return out

    def __enter__(self) -> "BackgroundAnalysis":
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            if self._future is not None and not self._future.done():
                for p in list(getattr(self._pool, "_processes", {}).values()):
                    p.terminate()   # cancelled or failed: do not wait for an analysis nobody reads
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
