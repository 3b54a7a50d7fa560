"""A minimal beat-synchronous groove, used only when neither the motion model
(``magicdance_core.motion.api``) nor the choreographer (``magicdance_core.choreo.compose``)
is importable — so the add-on still produces an honest, labelled take on a bare
checkout.  Its meta says ``"model": "fallback-groove"``.
"""

from __future__ import annotations

import numpy as np

from ..body.motion_file import Motion
from ..body.skeleton import JOINT_INDEX as J, REST_PELVIS_HEIGHT


def groove(analysis, seed: int = 0, progress=None) -> Motion:
    fps = float(analysis.fps)
    T = max(1, int(analysis.n_frames))
    t = np.arange(T) / fps
    rng = np.random.default_rng(seed)
    beats = np.asarray(analysis.beats_s, float)
    if len(beats) < 2:
        period = 60.0 / max(float(analysis.tempo_bpm or 120.0), 1.0)
        beats = np.arange(0.0, t[-1] + period, period)
    # Beat phase in [0,1) for every frame.
    idx = np.clip(np.searchsorted(beats, t, side="right") - 1, 0, len(beats) - 2)
    phase = np.clip((t - beats[idx]) / np.maximum(beats[idx + 1] - beats[idx], 1e-3), 0, 1)
    phase = np.where(t < beats[0], 0.0, phase)
    beat_no = idx + (t >= beats[0])
    bounce = 0.5 - 0.5 * np.cos(2 * np.pi * phase)         # 0 on the beat, 1 between
    side = np.where(beat_no % 2 == 0, 1.0, -1.0)
    a = rng.uniform(0.6, 1.0, 4)
    poses = np.zeros((T, 24, 3))
    knee = 0.25 * a[0] * (1 - bounce)                        # bend on the beat
    poses[:, J["left_hip"], 0] = -knee * 0.5
    poses[:, J["right_hip"], 0] = -knee * 0.5
    poses[:, J["left_knee"], 0] = knee
    poses[:, J["right_knee"], 0] = knee
    poses[:, J["left_ankle"], 0] = -knee * 0.5
    poses[:, J["right_ankle"], 0] = -knee * 0.5
    sway = 0.12 * a[1] * side * np.sin(np.pi * phase)
    poses[:, J["spine1"], 2] = sway
    poses[:, J["neck"], 2] = -0.5 * sway
    arm = 1.1 * a[2] + 0.3 * side * np.sin(np.pi * phase) * a[3]
    poses[:, J["left_shoulder"], 2] = -arm                   # arms down from the T-pose, swinging
    poses[:, J["right_shoulder"], 2] = arm
    poses[:, J["left_elbow"], 1] = 0.6 * bounce
    poses[:, J["right_elbow"], 1] = -0.6 * bounce
    drop = 0.894 * (1 - np.cos(knee * 0.5)) + 0.45 * (1 - np.cos(knee * 0.5))
    trans = np.zeros((T, 3))
    trans[:, 1] = REST_PELVIS_HEIGHT - drop
    trans[:, 0] = 0.03 * side * np.sin(np.pi * phase)
    contacts = np.ones((T, 4))
    if progress:
        progress("generate", 1.0, "groove")
    return Motion(poses, trans, contacts, fps=fps, meta={"model": "fallback-groove", "seed": int(seed)})
