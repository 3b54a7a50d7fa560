"""The clean-up chain: what runs on a sampled (or choreographed) dance, as one declared list.

Every step has one shape, ``step(motion, pinned) -> motion``: it takes a :class:`Motion` and what
the animator pinned (:class:`Pinned`, built from the constraints) and returns a new Motion that
keeps every pinned value exactly. The chain, in order:

1. ``beat_sync``    accents moved onto the beats, with the beat pulse (beatsync.py)
2. ``turn_limit``   the pelvis turns at most ``max_root_turn`` degrees a frame (turnlimit.py);
                    after the retiming, which may speed a turn up
3. ``yaw_limit``    facing softly kept within ``yaw_limit`` degrees of the camera (animate/facing.py)
4. ``travel_limit`` pelvis softly kept within ``travel_limit`` m of frame 0 (animate/facing.py)
5. ``foot_fix``     feet planted with leg IK (footfix.py); last, because every step above moves feet

A step whose setting is 0 (or ``foot_fix`` False) is skipped. Presets name which steps run and
which settings they change over the checkpoint's sampling file; the pipeline writes the preset,
the steps that ran and every setting used into the motion's meta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ..body.motion_file import Motion
from ..errors import BadInput
from .representation import ROOT_SLICE, ROT_START

STEPS = ("beat_sync", "turn_limit", "yaw_limit", "travel_limit", "foot_fix")

# name -> (steps that may run, settings changed over the checkpoint's sampling file)
PRESETS: dict = {
    "default": (STEPS, {}),
    "raw": ((), {}),                                             # the generator's output as it is
    "snap": (STEPS, {"beat_sync": 1.0, "beat_pulse": 0.0}),     # accents snapped onto beats, no pulse
    "nosync": (tuple(s for s in STEPS if s != "beat_sync"), {}),  # the generator's own timing
    # the dance job's: the photo's person stays where they stand, facing the camera
    "stage": (STEPS, {"yaw_limit": 30.0, "travel_limit": 0.15}),
}
# The settings each step reads (what the meta records when it ran).
STEP_SETTINGS = {"beat_sync": ("beat_sync", "beat_pulse"), "turn_limit": ("max_root_turn",),
                 "yaw_limit": ("yaw_limit",), "travel_limit": ("travel_limit",), "foot_fix": ("foot_fix",)}
RESTORE_FRAMES = 15   # width (frames) over which a limit step hands a pinned value back


def check_preset(name: Optional[str], flag: str = "--cleanup") -> str:
    from ..checks import check_choice

    return check_choice("default" if name is None else name, flag, list(PRESETS), "clean-up preset")


@dataclass
class Pinned:
    """What the constraints fix, per frame: (T,24) joint rotations, (T,) root position, (T,) facing."""
    joints: np.ndarray
    root_pos: np.ndarray
    root_yaw: np.ndarray

    @property
    def frames(self) -> np.ndarray:
        return self.joints.any(axis=1) | self.root_pos | self.root_yaw

    @property
    def empty(self) -> bool:
        return not self.frames.any()

    @classmethod
    def none(cls, T: int) -> "Pinned":
        return cls(np.zeros((T, 24), bool), np.zeros(T, bool), np.zeros(T, bool))

    @classmethod
    def of(cls, cons, T: int) -> "Pinned":
        if cons is None:
            return cls.none(T)
        m = cons.mask
        joints = np.stack([m[:, ROT_START + 6 * j:ROT_START + 6 * j + 6].any(axis=1) for j in range(24)], 1)
        return cls(joints, m[:, ROOT_SLICE].any(axis=1), joints[:, 0] | np.isfinite(cons.root_yaw))


def _restore(delta: np.ndarray, pinned: np.ndarray, width: int = RESTORE_FRAMES) -> np.ndarray:
    """A step's change (T,C) brought smoothly to exactly 0 at pinned frames (raised cosine)."""
    from .constraints import blend_edges

    if not pinned.any():
        return delta
    mask = np.repeat(pinned[:, None], delta.shape[1], axis=1)
    out = blend_edges(delta, mask, np.zeros_like(delta), width)
    out[mask] = 0.0
    return out


def _motion(src: Motion, poses, trans, contacts=None, **meta) -> Motion:
    m = dict(src.meta)
    m.update(meta)
    return Motion(poses=poses, trans=trans, contacts=src.contacts if contacts is None else contacts,
                  betas=src.betas, fps=src.fps, meta=m)


@dataclass
class BeatSync:
    strength: float
    pulse: float
    beats_s: np.ndarray

    def __call__(self, motion: Motion, pinned: Pinned) -> Motion:
        from .beatsync import beat_sync

        p, t, c = beat_sync(motion.poses, motion.trans, motion.contacts, motion.joints, self.beats_s,
                            fps=motion.fps, strength=self.strength, pinned=pinned.frames, pulse=self.pulse)
        return _motion(motion, p, t, c)


@dataclass
class TurnLimit:
    max_deg: float

    def __call__(self, motion: Motion, pinned: Pinned) -> Motion:
        from .turnlimit import limit_root_turn

        return _motion(motion, limit_root_turn(motion.poses, self.max_deg, pinned.root_yaw), motion.trans)


@dataclass
class YawLimit:
    max_deg: float

    def __call__(self, motion: Motion, pinned: Pinned) -> Motion:
        from ..animate.facing import limit_yaw, root_yaw
        from ..body.rotations import axis_angle_to_matrix, matrix_to_axis_angle

        if self.max_deg >= 180:
            return motion
        turn = np.unwrap(root_yaw(limit_yaw(motion, self.max_deg))) - np.unwrap(root_yaw(motion))
        d = _restore(turn[:, None], pinned.root_yaw)[:, 0]   # a pinned facing stays as keyed
        c, s = np.cos(d), np.sin(d)
        Ry = np.zeros((len(d), 3, 3))
        Ry[:, 0, 0], Ry[:, 0, 2], Ry[:, 1, 1], Ry[:, 2, 0], Ry[:, 2, 2] = c, s, 1.0, -s, c
        poses = motion.poses.astype(np.float64).copy()
        poses[:, 0] = matrix_to_axis_angle(Ry @ axis_angle_to_matrix(poses[:, 0]))
        poses[pinned.root_yaw, 0] = motion.poses[pinned.root_yaw, 0]
        return _motion(motion, poses, motion.trans)


@dataclass
class TravelLimit:
    radius_m: float

    def __call__(self, motion: Motion, pinned: Pinned) -> Motion:
        from ..animate.facing import limit_travel

        moved = limit_travel(motion, self.radius_m).trans.astype(np.float64)
        d = _restore(moved - motion.trans, pinned.root_pos)   # a pinned pelvis stays where it was keyed
        trans = motion.trans.astype(np.float64) + d
        trans[pinned.root_pos] = motion.trans[pinned.root_pos]
        return _motion(motion, motion.poses, trans)


@dataclass
class FootFix:
    def __call__(self, motion: Motion, pinned: Pinned) -> Motion:
        from .footfix import remove_foot_sliding

        return remove_foot_sliding(motion, locked=pinned.joints)


def build_chain(preset: str, settings: dict, beats_s=None) -> list:
    """[(name, step)] for ``preset`` with ``settings`` (the checkpoint's, the preset's and the
    call's already merged): the steps whose setting is on."""
    from .beatsync import usable_beats

    if preset not in PRESETS:
        raise BadInput(f"unknown clean-up preset {preset!r}; one of: {', '.join(PRESETS)}")
    steps, out = PRESETS[preset][0], []
    beats = usable_beats(beats_s)
    for name in steps:
        if name == "beat_sync" and settings["beat_sync"] > 0 and len(beats) >= 2:
            out.append((name, BeatSync(float(settings["beat_sync"]), float(settings["beat_pulse"]), beats)))
        elif name == "turn_limit" and settings["max_root_turn"] > 0:
            out.append((name, TurnLimit(float(settings["max_root_turn"]))))
        elif name == "yaw_limit" and 0 < settings["yaw_limit"] < 180:
            out.append((name, YawLimit(float(settings["yaw_limit"]))))
        elif name == "travel_limit" and settings["travel_limit"] > 0:
            out.append((name, TravelLimit(float(settings["travel_limit"]))))
        elif name == "foot_fix" and settings["foot_fix"]:
            out.append((name, FootFix()))
    return out


def preset_settings(preset: str, base: dict, overrides: dict) -> dict:
    """The settings a run uses: the checkpoint's ``base``, the preset's changes, the call's overrides."""
    out = dict(base)
    out.update(PRESETS[preset][1])
    out.update(overrides)
    return out


def run_chain(motion: Motion, chain: list, pinned: Pinned, progress: Optional[Callable] = None) -> Motion:
    for k, (name, step) in enumerate(chain):
        if progress:
            progress("clean-up", k / max(len(chain), 1), name)
        motion = step(motion, pinned)
    if progress and chain:
        progress("clean-up", 1.0, "done")
    return motion


def chain_meta(preset: str, chain: list, settings: dict) -> dict:
    """What the motion's meta records: the preset, the steps that ran, their settings."""
    ran = [name for name, _ in chain]
    used = {k: settings[k] for name in ran for k in STEP_SETTINGS[name]}
    return {"cleanup": preset, "cleanup_steps": ran, "cleanup_settings": used}
