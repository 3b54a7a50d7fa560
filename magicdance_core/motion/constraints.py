"""Editing constraints: which of the 151 numbers of which frames are given.

A :class:`Constraints` holds a boolean mask (T,151) and the values (T,151) in
original units (contacts, metres, 6D rotations) in EDGE's layout (see
:mod:`.representation`). Builders cover the editing cases: keyframe poses,
joint sets (upper body, lower body, any joint names: that joint's six rotation
numbers), the root trajectory (its three position numbers, or only some axes),
the root's facing (yaw only; not a linear slice of the 6D numbers, so it is
kept aside and applied exactly after sampling), in-betweening between two
poses, and continuing an existing dance (all numbers of its frames).

The sampler inpaints (the known numbers are replaced by their noised version
at every step), then :func:`apply` blends the neighbourhood of every
constrained run towards the given values and writes them exactly.

Files: ``.npz`` (dense ``mask``/``values``/``root_yaw``) or ``.json`` (sparse:
one entry per constrained frame with its channel list and values).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from ..body.motion_file import Motion
from ..body.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from ..body.skeleton import JOINT_INDEX
from ..errors import BadInput
from ..fileio import PathLike, atomic_path, atomic_write_text, require_file
from .representation import (FRAME_DIM, LOWER_BODY, ROOT_SLICE, ROT_START, UPPER_BODY, arrays_to_features,
                             joint_channels, motion_to_features)

JOINT_SETS = {"upper": UPPER_BODY, "upper_body": UPPER_BODY, "lower": LOWER_BODY, "lower_body": LOWER_BODY}
AXES = {"x": 0, "y": 1, "z": 2}


def _frames(frames, T: int) -> np.ndarray:
    if frames is None:
        return np.arange(T)
    if isinstance(frames, slice):
        return np.arange(T)[frames]
    f = np.atleast_1d(np.asarray(frames, dtype=np.int64))
    if f.size and (f.min() < 0 or f.max() >= T):
        raise BadInput(f"constraint frame out of range 0..{T - 1}: {f.min()}..{f.max()}")
    return f


def resolve_joints(joints: Union[str, Iterable]) -> list:
    """Joint names/indices or a set name ('upper', 'lower') -> sorted joint indices."""
    if isinstance(joints, str):
        joints = JOINT_SETS.get(joints, [joints])
    out = []
    for j in joints:
        if isinstance(j, str):
            if j in JOINT_SETS:
                out += resolve_joints(j)
                continue
            if j not in JOINT_INDEX:
                raise BadInput(f"unknown joint {j!r}; joints are SMPL names such as left_knee, or 'upper'/'lower'")
            out.append(JOINT_INDEX[j])
        else:
            out.append(int(j))
    return sorted(set(out))


def yaw_of(root_rot: np.ndarray) -> np.ndarray:
    """Facing angle about +Y of root rotation matrices (...,3,3): the body's +Z axis in the floor plane."""
    fwd = root_rot[..., :, 2]
    return np.arctan2(fwd[..., 0], fwd[..., 2])


@dataclass
class Constraints:
    num_frames: int
    mask: np.ndarray = None        # (T,151) bool
    values: np.ndarray = None      # (T,151) float32, original units
    root_yaw: np.ndarray = None    # (T,) radians, NaN where free
    blend_frames: int = 8          # width of the smooth hand-over around constrained runs

    def __post_init__(self) -> None:
        T = int(self.num_frames)
        if T < 1:
            raise BadInput("constraints need at least one frame")
        self.mask = np.zeros((T, FRAME_DIM), bool) if self.mask is None else np.asarray(self.mask, bool)
        self.values = np.zeros((T, FRAME_DIM), np.float32) if self.values is None else np.asarray(self.values, np.float32)
        self.root_yaw = np.full(T, np.nan, np.float64) if self.root_yaw is None else np.asarray(self.root_yaw, np.float64)
        if self.mask.shape != (T, FRAME_DIM) or self.values.shape != (T, FRAME_DIM) or self.root_yaw.shape != (T,):
            raise BadInput(f"constraint arrays must be ({T},{FRAME_DIM}) and ({T},)")
        if not np.all(np.isfinite(self.values[self.mask])):
            raise BadInput("constraint values contain NaN or infinite numbers")

    # ---------------------------------------------------------------- builders
    def set(self, frames, channels, values) -> "Constraints":
        """Constrain ``channels`` at ``frames`` to ``values`` (broadcast to (len(frames), len(channels)))."""
        f = _frames(frames, self.num_frames)
        c = np.asarray(channels, dtype=np.int64)
        v = np.broadcast_to(np.asarray(values, np.float32), (len(f), len(c)))
        self.values[np.ix_(f, c)] = v
        self.mask[np.ix_(f, c)] = True
        return self

    def add_keyframe(self, frame: int, poses, trans=None, contacts=None) -> "Constraints":
        """A full pose (24,3 axis-angle) at ``frame``; with ``trans`` also the root position."""
        feats = arrays_to_features(np.asarray(poses, np.float64).reshape(1, 24, 3),
                                   np.zeros((1, 3)) if trans is None else np.asarray(trans).reshape(1, 3),
                                   None if contacts is None else np.asarray(contacts).reshape(1, 4))[0]
        chans = list(range(ROT_START, FRAME_DIM))
        if trans is not None:
            chans += list(range(ROOT_SLICE.start, ROOT_SLICE.stop))
        if contacts is not None:
            chans += [0, 1, 2, 3]
        return self.set([frame], chans, feats[chans][None])

    def add_joints(self, joints, source: Union[Motion, np.ndarray], frames=None) -> "Constraints":
        """Lock the rotations of ``joints`` (names, indices, 'upper', 'lower') to ``source``'s at ``frames``."""
        feats = _features(source, self.num_frames)
        f = _frames(frames, self.num_frames)
        chans = np.concatenate([joint_channels(j) for j in resolve_joints(joints)])
        return self.set(f, chans, feats[np.ix_(f, chans)])

    def add_root_trajectory(self, trans, frames=None, axes: str = "xyz") -> "Constraints":
        """Root position (T,3) or (len(frames),3) at ``frames``, only the given ``axes``."""
        f = _frames(frames, self.num_frames)
        trans = np.asarray(trans, np.float32)
        if trans.shape[0] == self.num_frames and len(f) != self.num_frames:
            trans = trans[f]
        if trans.shape != (len(f), 3):
            raise BadInput(f"root trajectory must have shape ({len(f)},3), got {trans.shape}")
        ax = [AXES[a] for a in axes.lower()]
        return self.set(f, [ROOT_SLICE.start + a for a in ax], trans[:, ax])

    def add_root_yaw(self, yaw, frames=None) -> "Constraints":
        """Facing angle(s) in radians about +Y (0 faces +Z) at ``frames``; tilt stays free."""
        f = _frames(frames, self.num_frames)
        self.root_yaw[f] = np.broadcast_to(np.asarray(yaw, np.float64), f.shape)
        return self

    def inbetween(self, frame_a: int, pose_a, frame_b: int, pose_b, trans_a=None, trans_b=None) -> "Constraints":
        """Two keyframes; the model fills the frames between them."""
        if frame_b <= frame_a:
            raise BadInput("in-betweening needs frame_b after frame_a")
        self.add_keyframe(frame_a, pose_a, trans_a)
        return self.add_keyframe(frame_b, pose_b, trans_b)

    def continue_from(self, motion: Motion) -> "Constraints":
        """Keep ``motion``'s frames (all 151 numbers) as the start; the model continues the dance."""
        feats = motion_to_features(motion)
        n = min(len(feats), self.num_frames)
        return self.set(np.arange(n), np.arange(FRAME_DIM), feats[:n])

    @classmethod
    def continuing(cls, motion: Motion, num_frames: int) -> "Constraints":
        return cls(num_frames).continue_from(motion)

    # ---------------------------------------------------------------- queries
    @property
    def empty(self) -> bool:
        return not self.mask.any() and not np.isfinite(self.root_yaw).any()

    def fitted(self, T: int) -> "Constraints":
        """The same constraints for a song of ``T`` frames (cut, or padded with free frames)."""
        if T == self.num_frames:
            return self
        n = min(T, self.num_frames)
        out = Constraints(T, blend_frames=self.blend_frames)
        out.mask[:n], out.values[:n], out.root_yaw[:n] = self.mask[:n], self.values[:n], self.root_yaw[:n]
        return out

    # ---------------------------------------------------------------- files
    def save(self, path: PathLike) -> Path:
        path = Path(path)
        if path.suffix.lower() == ".json":
            atomic_write_text(path, json.dumps(self.to_json_dict()))
        else:
            with atomic_path(path, suffix=".npz") as tmp:
                with open(tmp, "wb") as fh:
                    np.savez(fh, num_frames=np.int64(self.num_frames), mask=self.mask, values=self.values,
                             root_yaw=self.root_yaw, blend_frames=np.int64(self.blend_frames))
        return path

    def to_json_dict(self) -> dict:
        frames = []
        for f in np.flatnonzero(self.mask.any(axis=1) | np.isfinite(self.root_yaw)):
            ch = np.flatnonzero(self.mask[f])
            entry = {"frame": int(f), "channels": ch.tolist(), "values": [float(v) for v in self.values[f, ch]]}
            if np.isfinite(self.root_yaw[f]):
                entry["root_yaw"] = float(self.root_yaw[f])
            frames.append(entry)
        return {"format": "magicdance-constraints-1", "num_frames": self.num_frames,
                "blend_frames": self.blend_frames, "frames": frames}

    @classmethod
    def load(cls, path: PathLike) -> "Constraints":
        p = require_file(path, "constraints file")
        if p.suffix.lower() == ".json":
            try:
                d = json.loads(p.read_text())
                out = cls(int(d["num_frames"]), blend_frames=int(d.get("blend_frames", 8)))
                for e in d.get("frames", []):
                    f = int(e["frame"])
                    if e.get("channels"):
                        ch = np.asarray(e["channels"], np.int64)
                        if ch.min() < 0 or ch.max() >= FRAME_DIM or len(e["values"]) != len(ch):
                            raise ValueError("bad channels")
                        out.set([f], ch, np.asarray(e["values"], np.float32)[None])
                    if e.get("root_yaw") is not None:
                        out.add_root_yaw(float(e["root_yaw"]), [f])
                return out
            except BadInput:
                raise
            except (ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
                raise BadInput(f"not a valid constraints JSON file: {p} ({e.__class__.__name__})") from None
        try:
            with np.load(p, allow_pickle=False) as z:
                return cls(int(z["num_frames"]), mask=z["mask"], values=z["values"], root_yaw=z["root_yaw"],
                           blend_frames=int(z["blend_frames"]) if "blend_frames" in z.files else 8)
        except BadInput:
            raise
        except (ValueError, KeyError, OSError, EOFError) as e:
            raise BadInput(f"not a valid constraints .npz file: {p} ({e.__class__.__name__})") from None


def _features(source, T: int) -> np.ndarray:
    feats = motion_to_features(source) if isinstance(source, Motion) else np.asarray(source, np.float32)
    if feats.ndim != 2 or feats.shape[1] != FRAME_DIM:
        raise BadInput(f"constraint source must be a Motion or (T,{FRAME_DIM}) features")
    if len(feats) < T:
        feats = np.concatenate([feats, np.repeat(feats[-1:], T - len(feats), axis=0)])
    return feats[:T]


# ---------------------------------------------------------------- enforcement
def blend_edges(x: np.ndarray, mask: np.ndarray, values: np.ndarray, width) -> np.ndarray:
    """Spread each constrained run's mismatch smoothly into ``width`` free frames either side.

    The generated curve is shifted by the offset it has at the nearest
    constrained frame, faded out with a raised cosine, so writing the exact
    values afterwards leaves no step at the run's edge. ``width``: frames, one
    number or one per column.
    """
    x = np.asarray(x, np.float64).copy()
    width = np.broadcast_to(np.asarray(width, np.float64), (x.shape[1],))[None, :]
    if not (width > 0).any() or not mask.any():
        return x
    T = len(x)
    resid = np.where(mask, values - x, 0.0)
    idx = np.arange(T)[:, None]
    left = np.maximum.accumulate(np.where(mask, idx, -1), axis=0)
    right = np.minimum.accumulate(np.where(mask, idx, T)[::-1], axis=0)[::-1]
    cols = np.arange(x.shape[1])[None, :]

    def fall(d):
        d = np.clip(d / (np.maximum(width, 0.0) + 1.0), 0.0, 1.0)
        return np.where(width > 0, 0.5 * (1.0 + np.cos(np.pi * d)), 0.0)

    has_l, has_r = left >= 0, right < T
    wl = np.where(has_l, fall(idx - left), 0.0)
    wr = np.where(has_r, fall(right - idx), 0.0)
    rl = resid[np.clip(left, 0, T - 1), cols]
    rr = resid[np.clip(right, 0, T - 1), cols]
    # Between two runs the two offsets are interpolated (smoothly, by where the frame lies
    # between them), so each run's own offset is reached exactly beside it.
    u = np.where(has_l & has_r, (idx - left) / np.maximum(right - left, 1), np.where(has_r, 1.0, 0.0))
    h = 0.5 - 0.5 * np.cos(np.pi * u)
    corr = (1.0 - h) * wl * rl + h * wr * rr
    return np.where(mask, x, x + corr)


MAX_BLEND = 60   # frames (2 s): the widest hand-over into a constrained value
HANDOVER = 0.5   # the hand-over adds at most this fraction of the dance's median step a frame


def _groups() -> list:
    """Column groups that hand over together: each contact, the root position, each joint's 6D."""
    out = [[c] for c in range(4)] + [list(range(ROOT_SLICE.start, ROOT_SLICE.stop))]
    return out + [list(range(ROT_START + 6 * j, ROT_START + 6 * j + 6)) for j in range(24)]


def blend_widths(x: np.ndarray, mask: np.ndarray, values: np.ndarray, least: int, most: int = MAX_BLEND) -> np.ndarray:
    """Hand-over width per column: wide enough that the correction's steepest frame (a raised
    cosine over w frames: r·pi/2/(w+1)) is at most HANDOVER times the dance's median step in those
    numbers, so the dancer does not speed up into a key; at least ``least`` frames."""
    x = np.asarray(x, np.float64)
    own = np.median(np.abs(np.diff(x, axis=0)), axis=0) if len(x) > 1 else np.zeros(x.shape[1])
    resid = np.where(mask, np.abs(np.asarray(values, np.float64) - x), 0.0)
    out = np.full(x.shape[1], float(least))
    for g in (_groups() if x.shape[1] == FRAME_DIM else [[c] for c in range(x.shape[1])]):
        if not mask[:, g].any():
            continue
        r = float(np.linalg.norm(resid[:, g], axis=1).max())
        step = max(float(np.linalg.norm(own[g])), 1e-6)
        out[g] = np.clip(np.ceil(0.5 * np.pi * r / (HANDOVER * step)) - 1.0, least, most)
    return out


def apply(features: np.ndarray, cons: Optional[Constraints]) -> np.ndarray:
    """Blend around and write the constrained numbers exactly (features in original units)."""
    if cons is None or not cons.mask.any():
        return np.asarray(features, np.float32)
    vals = cons.values.astype(np.float64)
    width = blend_widths(features, cons.mask, vals, cons.blend_frames)
    x = blend_edges(features, cons.mask, vals, width)
    x[cons.mask] = cons.values[cons.mask]
    return x.astype(np.float32)


def apply_root_yaw(poses: np.ndarray, cons: Optional[Constraints]) -> np.ndarray:
    """Turn the root about +Y so its facing equals the constrained yaw (smoothly handed over)."""
    if cons is None or not np.isfinite(cons.root_yaw).any():
        return poses
    poses = np.array(poses, dtype=np.float64)
    R = axis_angle_to_matrix(poses[:, 0])
    delta = np.angle(np.exp(1j * (cons.root_yaw - yaw_of(R))))  # wrapped to (-pi, pi]
    m = np.isfinite(cons.root_yaw)
    # frames whose whole root rotation is given keep it: the turn is 0 there (the hand-over from a
    # yaw key interpolates towards them instead of turning them)
    held = cons.mask[:, ROT_START:ROT_START + 6].any(axis=1) & ~m
    delta = np.where(m, delta, 0.0)
    yaw = np.unwrap(yaw_of(R))
    width = blend_widths(yaw[:, None], m[:, None], (yaw + delta)[:, None], cons.blend_frames)
    d = blend_edges(np.zeros((len(poses), 1)), (m | held)[:, None], delta[:, None], width)[:, 0]
    d[m] = delta[m]
    d[held] = 0.0
    c, s = np.cos(d), np.sin(d)
    Ry = np.zeros((len(d), 3, 3))
    Ry[:, 0, 0], Ry[:, 0, 2], Ry[:, 1, 1], Ry[:, 2, 0], Ry[:, 2, 2] = c, s, 1.0, -s, c
    poses[:, 0] = matrix_to_axis_angle(Ry @ R)
    return poses
