"""Real motion capture: DeepMimic's humanoid clips (shipped in the pybullet wheel) on the SMPL skeleton.

DeepMimic clip (JSON, "Frames"): each row is duration, root position (3), then
w-x-y-z quaternions for root, chest, neck, right hip, one angle for the right
knee, quats for right ankle and right shoulder, one angle for the right elbow,
then the same for the left side (hip, knee, ankle, shoulder, elbow): 44 numbers
(the layout pybullet's ``humanoid_pose_interpolator`` reads).

Its humanoid is Y up and faces +X with its right side at +Z (humanoid.urdf puts
the right hip at +z); its rest pose hangs the arms down; knees and elbows are
hinges about the local z axis. SMPL faces +Z with the left at +X, so a vector maps
by C = rotation -90 deg about Y (x_smpl = -z_dm, z_smpl = x_dm) and every rotation
by C R C^T. Arms get a rest correction (SMPL's rest is a T-pose). The chest
rotation is split evenly over spine1..3, the neck's over neck and head; collars,
wrists, hands and toes stay at rest. Translation is scaled by the leg-length
ratio and the clip is put on the floor.

As moves (:class:`MocapMove`) the clips drive the upper body over the
procedural footwork, time-warped so the clip's accents (minima of upper-body
speed) land on beats.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..body.motion_file import Motion
from ..body.rotations import quat_to_axis_angle, quat_to_matrix, matrix_to_quat
from ..body.skeleton import CONTACT_HEIGHTS, CONTACT_JOINTS, JOINT_INDEX, NUM_JOINTS, REST_PELVIS_HEIGHT
from ..errors import BadInput
from .moves import Key, Move, MoveFrames, UPPER_JOINTS, mirror_frames, q_axis, q_chain, slerp

J = JOINT_INDEX
C = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # DeepMimic -> SMPL axes
DM_LEG = (1.686184 + 1.639480) * 0.25   # hip->ankle in metres (humanoid.urdf is loaded at 1/4 scale)
DM_ROOT_HEIGHT = 0.8895                 # standing root height DeepMimic spawns its humanoid at
OUR_LEG = 0.816
DANCE_CLIPS = ("dance_a", "dance_b")


def motions_dir() -> Path:
    import pybullet_data

    return Path(pybullet_data.getDataPath()) / "data" / "motions"


def _conj(qwxyz: np.ndarray) -> np.ndarray:
    """DeepMimic rotation -> SMPL rotation: C R C^T, as w-x-y-z quaternions."""
    m = quat_to_matrix(qwxyz)
    return matrix_to_quat(C @ m @ C.T)


def read_deepmimic(path) -> tuple[np.ndarray, np.ndarray]:
    """(frames (N,44), times (N,)) of a DeepMimic clip; BadInput if it is not one."""
    try:
        data = json.loads(Path(path).read_text())
        frames = np.asarray(data["Frames"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BadInput(f"not a DeepMimic motion clip: {path} ({e.__class__.__name__})") from None
    if frames.ndim != 2 or frames.shape[1] != 44 or len(frames) < 2:
        raise BadInput(f"DeepMimic clip {path} must have rows of 44 numbers")
    times = np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])
    return frames, times


def retarget(frames: np.ndarray, times: np.ndarray, fps: float = 30.0) -> Motion:
    """Retarget DeepMimic frames to a 30 fps SMPL Motion on the floor."""
    from ..body.fk import forward_kinematics

    t_out = np.arange(0.0, times[-1] + 1e-9, 1.0 / fps)
    idx = np.clip(np.searchsorted(times, t_out, side="right") - 1, 0, len(times) - 2)
    u = (t_out - times[idx]) / np.maximum(times[idx + 1] - times[idx], 1e-9)

    def q_at(col):  # slerp a quaternion column between frames
        a, b = frames[idx, col:col + 4], frames[idx + 1, col:col + 4]
        return slerp(a / np.linalg.norm(a, axis=1, keepdims=True), b / np.linalg.norm(b, axis=1, keepdims=True), u)

    def s_at(col):
        return frames[idx, col] * (1 - u) + frames[idx + 1, col] * u

    T = len(t_out)
    q = np.zeros((T, NUM_JOINTS, 4))
    q[..., 0] = 1.0
    q[:, J["pelvis"]] = _conj(q_at(4))
    chest = _conj(q_at(8))
    third = slerp(np.tile([1.0, 0, 0, 0], (T, 1)), chest, np.full(T, 1.0 / 3.0))
    for n in ("spine1", "spine2", "spine3"):
        q[:, J[n]] = third
    neck = _conj(q_at(12))
    half = slerp(np.tile([1.0, 0, 0, 0], (T, 1)), neck, np.full(T, 0.5))
    q[:, J["neck"]] = half
    q[:, J["head"]] = half
    cols = {"right": (16, 20, 21, 25, 29), "left": (30, 34, 35, 39, 43)}
    for side, (hip, knee, ankle, shoulder, elbow) in cols.items():
        q[:, J[f"{side}_hip"]] = _conj(q_at(hip))
        q[:, J[f"{side}_knee"]] = _conj(q_axis(2, np.degrees(s_at(knee))))
        q[:, J[f"{side}_ankle"]] = _conj(q_at(ankle))
        # SMPL's arm rests sideways (T-pose), DeepMimic's hangs down: fix = rotation taking the
        # T-pose arm to hanging, applied inside the shoulder, and conjugated onto the elbow.
        fix = q_axis(2, -90.0 if side == "left" else 90.0)
        fix_inv = fix * np.array([1, -1, -1, -1])
        q[:, J[f"{side}_shoulder"]] = q_chain(_conj(q_at(shoulder)), fix[None])
        q[:, J[f"{side}_elbow"]] = q_chain(fix_inv[None], _conj(q_axis(2, np.degrees(s_at(elbow)))), fix[None])
    scale = OUR_LEG / DM_LEG
    root = np.stack([s_at(1), s_at(2), s_at(3)], -1)
    trans = (C @ root.T).T
    trans[:, [0, 2]] = (trans[:, [0, 2]] - trans[0, [0, 2]]) * scale
    trans[:, 1] = (trans[:, 1] - DM_ROOT_HEIGHT) * scale + REST_PELVIS_HEIGHT
    poses = quat_to_axis_angle(q)
    joints = forward_kinematics(poses, trans)
    # Ground: the lowest foot joint over the clip rests at its standing height.
    gap = (joints[:, list(CONTACT_JOINTS), 1] - np.asarray(CONTACT_HEIGHTS)[None]).min()
    trans[:, 1] -= gap
    return Motion(poses=poses, trans=trans, fps=fps, meta={"model": "deepmimic-retarget"})


@lru_cache(maxsize=16)
def load_clip(name: str) -> Motion:
    """A DeepMimic clip from the pybullet wheel by name (e.g. 'dance_a'), retargeted."""
    path = motions_dir() / f"humanoid3d_{name}.txt"
    if not path.is_file():
        raise BadInput(f"no DeepMimic clip {name!r} in {motions_dir()}")
    frames, times = read_deepmimic(path)
    m = retarget(frames, times)
    m.meta["clip"] = name
    return m


def accent_frames(motion: Motion, min_gap: int = 8) -> np.ndarray:
    """Frames where the upper body momentarily stops (speed minima): the clip's accents."""
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import argrelextrema

    upper = [J[n] for n in ("left_wrist", "right_wrist", "head", "left_elbow", "right_elbow")]
    j = motion.joints[:, upper].astype(np.float64) - motion.joints[:, :1].astype(np.float64)
    speed = gaussian_filter1d(np.linalg.norm(np.diff(j, axis=0), axis=2).mean(1), 2.0)
    mins = argrelextrema(speed, np.less, order=min_gap // 2)[0]
    return mins


class MocapMove(Move):
    """A clip as a move: its upper body over a neutral stance, accents warped onto beats."""


def _make_mocap_move(name: str, beats: int):
    clip = load_clip(name)
    # The dance clips loop ("Loop": "wrap"): find accents over three laps, keep beats+1 in a row.
    n = clip.num_frames
    looped = Motion(poses=np.concatenate([clip.poses] * 3), trans=np.concatenate([clip.trans] * 3), fps=clip.fps)
    acc = accent_frames(looped, min_gap=6)
    acc = acc[acc >= n // 2]
    if len(acc) < beats + 1:
        return None
    acc = acc[: beats + 1]
    clip = looped
    move = MocapMove(f"mocap_{name}_{beats}", beats, (Key(0), Key(beats)), 0.65, frozenset({"mocap", "arms"}), 4, ())
    # Per-frame upper-body rotations of the clip with its heading removed from the pelvis.
    q = np.zeros((clip.num_frames, NUM_JOINTS, 4))
    from ..body.rotations import axis_angle_to_quat

    q[:] = axis_angle_to_quat(clip.poses.astype(np.float64))
    pel = quat_to_matrix(q[:, 0])
    fwd = pel[:, :, 2]
    yaw = np.degrees(np.arctan2(fwd[:, 0], fwd[:, 2]))
    q[:, 0] = q_chain(q_axis(1, -yaw), q[:, 0])
    _TABLE[move.name] = (q, acc.astype(np.float64), clip.trans[:, 1].astype(np.float64))
    return move


_TABLE: dict = {}


def evaluate_mocap(move: Move, phase: np.ndarray, mirror: bool, amp: float, sharp: float) -> MoveFrames:
    q, acc, height = _TABLE[move.name]
    phase = np.clip(np.asarray(phase, np.float64), 0.0, float(move.beats))
    f = np.interp(phase, np.arange(len(acc), dtype=np.float64), acc)
    i = np.clip(np.floor(f).astype(int), 0, len(q) - 2)
    u = f - i
    quats = np.zeros((len(phase), NUM_JOINTS, 4))
    quats[..., 0] = 1.0
    up = list(UPPER_JOINTS)
    quats[:, up] = slerp(q[i][:, up], q[i + 1][:, up], np.broadcast_to(u[:, None], (len(u), len(up))))
    if amp != 1.0:  # amplitude: toward rest
        ident = np.zeros_like(quats[:, up])
        ident[..., 0] = 1.0
        quats[:, up] = slerp(ident, quats[:, up], np.full((len(u), len(up)), min(amp, 1.2)))
    T = len(phase)
    feet = np.zeros((T, 2, 3))
    from .moves import STANCE_X, STANCE_Z

    feet[:, 0] = [STANCE_X, 0.0, STANCE_Z]
    feet[:, 1] = [-STANCE_X, 0.0, STANCE_Z]
    h = np.interp(f, np.arange(len(height)), height)
    drop = np.clip(height.max() - h, 0.0, 0.12)
    out = MoveFrames(quats, feet, np.zeros((T, 2)), np.zeros((T, 2)), np.ones((T, 2), bool),
                     np.zeros((T, 2)), drop, np.zeros(T))
    return mirror_frames(out) if mirror else out


@lru_cache(maxsize=1)
def mocap_moves() -> tuple:
    """Moves made from the dance clips (empty if pybullet_data is missing)."""
    out = []
    try:
        for name, beats in (("dance_a", 2), ("dance_a", 4), ("dance_b", 4)):
            if True:
                m = _make_mocap_move(name, beats)
                if m is not None:
                    out.append(m)
    except (ImportError, BadInput):
        return ()
    return tuple(out)
