"""MagicAnimate's context windows: the song is denoised 16 frames at a time, windows overlapping
by 4, the noise predictions of a frame averaged over the windows that hold it.

MagicAnimate schedules them with AnimateDiff-CLI's "uniform" schedule at its first step with
stride 1, which comes down to windows starting every ``size - overlap`` frames, the last ones
wrapping around to the first frames (``closed_loop``), the same windows at every step.
"""

from __future__ import annotations

from typing import List


def context_windows(num_frames: int, size: int = 16, overlap: int = 4, closed_loop: bool = True) -> List[List[int]]:
    if num_frames <= 0:
        return []
    if num_frames <= size:
        return [list(range(num_frames))]
    hop = size - overlap
    end = num_frames if closed_loop else num_frames - overlap
    return [[(j + k) % num_frames for k in range(size)] for j in range(0, end, hop)]


def padded_length(num_frames: int, size: int = 16) -> int:
    """MagicAnimate pads the driving frames (repeating the last) to a whole number of windows."""
    return -(-num_frames // size) * size
