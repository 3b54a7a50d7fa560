"""Jukebox music features (4800 per frame), needed only by EDGE's released checkpoint.

Optional: Jukebox (OpenAI) is a multi-gigabyte model whose weights are licensed
for non-commercial use only (CC BY-NC 4.0), so MagicDance neither ships nor
downloads it. Users who have it installed (the ``jukemirlib`` package with its
weights already cached) can pass the features to ``generate_dance`` as
``music_features``; otherwise :func:`jukebox_features` raises MissingModel.
"""

from __future__ import annotations

from ..errors import MissingModel

LICENCE_NOTE = "Jukebox's weights are licensed for non-commercial use only (CC BY-NC 4.0)."


def jukebox_features(path, fps: int = 30):
    """(T,4800) Jukebox layer-66 features at ``fps`` as EDGE extracts them, if jukemirlib is installed."""
    try:
        import jukemirlib  # noqa: F401
    except ImportError:
        raise MissingModel("EDGE's checkpoint needs Jukebox features: install the optional 'jukemirlib' "
                           "package and its weights yourself (" + LICENCE_NOTE + ")") from None
    import numpy as np

    audio = jukemirlib.load_audio(str(path))
    reps = jukemirlib.extract(audio, layers=[66], downsample_target_rate=fps)
    return np.asarray(reps[66], dtype=np.float32)
