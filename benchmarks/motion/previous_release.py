"""Dances from a previous release of the motion code, for ``timing.py --previous REV``.

Run by ``timing.py`` with ``PYTHONPATH`` set to that release's ``magicdance_core`` (exported
with ``git archive``), never to this checkout's: this file imports nothing of the current tree.
It reads a request JSON ``[{"analysis": music.json, "seed": n, "out": joints.npy}, ...]``, dances
each with the release's own ``generate_dance`` defaults (its clean-ups included, as its users got
them) and writes the world joints, plus ``seconds`` per dance beside the request.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def main(request: str) -> int:
    from magicdance_core.audio.analysis import MusicAnalysis
    from magicdance_core.motion.api import generate_dance

    jobs = json.loads(Path(request).read_text())
    seconds = []
    for job in jobs:
        analysis = MusicAnalysis.from_json(job["analysis"])
        t0 = time.perf_counter()
        motion = generate_dance(analysis, seed=int(job["seed"]))
        seconds.append(time.perf_counter() - t0)
        np.save(job["out"], np.asarray(motion.joints, np.float32))
    Path(request).with_suffix(".seconds.json").write_text(json.dumps(seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
