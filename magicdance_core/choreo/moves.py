"""Parametric dance moves: key poses at beat positions, evaluated as functions of beat phase.

A :class:`Move` is a short list of :class:`Key` poses placed at beat positions
(integers and half-beats). Between keys every channel is eased (smoothstep mixed
with linear by ``sharp``), so body speed has its minima exactly on the keys:
the accent of a move (a foot plant, a hit, a clap) lands on the beat.

What a key specifies, in the move's own frame (origin = the dancer's neutral
pelvis ground point at the move's start, facing +Z, SMPL axes):

* the two feet (ankle ground point x/z, lift, yaw, pitch) -- the legs are not
  posed here but solved by IK in :mod:`.compose` so planted feet never slide;
* the pelvis (heading, tilt, sway from the support centre, drop);
* torso, head and arms as a few anatomical angles (degrees).

Every move starts with both feet in the neutral stance and ends in the neutral
stance of its end frame (turned by its net heading, displaced by its net step):
consecutive moves chain without foot jumps.

Mirroring (person's left <-> right) is done on evaluated arrays with
``skeleton.MIRROR_INDEX``: reflecting across the sagittal plane x -> -x maps a
rotation R to M R M (M = diag(-1,1,1)); for an axis-angle vector (a pseudo-vector)
that is (x, -y, -z), for a w-x-y-z quaternion (w, x, -y, -z).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from ..body.skeleton import JOINT_INDEX, MIRROR_INDEX, NUM_JOINTS

# Neutral stance: ankles' ground points relative to the pelvis ground point.
STANCE_X = 0.10
STANCE_Z = -0.05

J = JOINT_INDEX
UPPER_JOINTS = tuple(J[n] for n in (
    "pelvis", "spine1", "spine2", "spine3", "neck", "head", "left_collar", "right_collar",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist"))


# ---------------------------------------------------------------- quaternion helpers (w x y z)
def q_axis(axis: int, deg) -> np.ndarray:
    a = np.radians(np.asarray(deg, dtype=np.float64)) * 0.5
    q = np.zeros(np.shape(a) + (4,))
    q[..., 0] = np.cos(a)
    q[..., 1 + axis] = np.sin(a)
    return q


def q_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz,
                     aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw], -1)


def q_chain(*qs) -> np.ndarray:
    out = qs[0]
    for q in qs[1:]:
        out = q_mul(out, q)
    return out


def q_reflect(q: np.ndarray) -> np.ndarray:
    """Mirror a rotation across the sagittal (x = 0) plane: (w, x, -y, -z)."""
    return q * np.array([1.0, 1.0, -1.0, -1.0])


def aa_reflect(aa: np.ndarray) -> np.ndarray:
    """Mirror an axis-angle rotation across the sagittal plane: (x, -y, -z)."""
    return aa * np.array([1.0, -1.0, -1.0])


def slerp(a: np.ndarray, b: np.ndarray, t) -> np.ndarray:
    """Batched spherical interpolation of unit quaternions (short way)."""
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(a * b, -1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot).clip(-1.0, 1.0)
    theta = np.arccos(dot)
    s = np.sin(theta)
    small = s < 1e-6
    s_safe = np.where(small, 1.0, s)
    wa = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / s_safe)
    wb = np.where(small, t, np.sin(t * theta) / s_safe)
    q = wa * a + wb * b
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def ease(u: np.ndarray, sharp: float) -> np.ndarray:
    """Linear mixed with smoothstep; sharp=1 stops dead on every key (a 'hit')."""
    u = np.clip(u, 0.0, 1.0)
    return (1.0 - sharp) * u + sharp * u * u * (3.0 - 2.0 * u)


# ---------------------------------------------------------------- authoring types
@dataclass(frozen=True)
class Foot:
    """An ankle's ground point (x, z) in the move frame, its lift (m), yaw and pitch (deg)."""

    x: float
    z: float = STANCE_Z
    lift: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0  # + = toes pointed down


@dataclass(frozen=True)
class Arm:
    """Arm as elevation from hanging (0) through sideways (90) to overhead (180),
    azimuth forward from the side (deg), elbow bend, upper-arm twist, wrist bend."""

    elev: float = 12.0
    fwd: float = 8.0
    elbow: float = 20.0
    twist: float = 0.0
    wrist: float = 0.0


ARM_DOWN = Arm()
LF0 = Foot(STANCE_X)
RF0 = Foot(-STANCE_X)


@dataclass(frozen=True)
class Key:
    beat: float
    lf: Foot = LF0
    rf: Foot = RF0
    heading: float = 0.0                 # body yaw in the move frame (deg, + = turn to the left)
    sway: tuple = (0.0, 0.0)             # pelvis x/z offset from the support centre (m, body frame)
    drop: float = 0.0                    # pelvis lowered (m); negative raises it (jumps)
    pelvis: tuple = (0.0, 0.0, 0.0)      # forward tilt, side tilt (+ = left hip up), twist (deg)
    torso: tuple = (0.0, 0.0, 0.0)       # forward bend, side bend (+ = lean right), twist (deg)
    head: tuple = (0.0, 0.0, 0.0)        # nod, tilt, turn (deg)
    la: Arm = ARM_DOWN
    ra: Arm = ARM_DOWN


@dataclass(frozen=True)
class Move:
    name: str
    beats: int
    keys: tuple
    energy: float = 0.5                  # 0 calm .. 1 explosive
    tags: frozenset = field(default_factory=frozenset)
    meter: int = 4                       # 3: made for triple time (waltz)
    accents: tuple = ()                  # beats carrying the characteristic peak (default: all integer beats)

    def accent_beats(self) -> tuple:
        return self.accents or tuple(float(b) for b in range(self.beats + 1))


def stance(heading: float = 0.0, at=(0.0, 0.0), width: float = STANCE_X):
    """Neutral left/right feet for a body facing ``heading`` deg with its pelvis ground point ``at``."""
    h = np.radians(heading)
    c, s = np.cos(h), np.sin(h)

    def place(x, z):
        return at[0] + c * x + s * z, at[1] - s * x + c * z

    lx, lz = place(width, STANCE_Z)
    rx, rz = place(-width, STANCE_Z)
    return Foot(lx, lz, yaw=heading), Foot(rx, rz, yaw=heading)


# ---------------------------------------------------------------- key -> arrays
def _arm_quats(arm: Arm) -> tuple:
    """Local quats (collar, shoulder, elbow, wrist) of a LEFT arm; the right arm is their reflection."""
    shrug = float(np.clip((arm.elev - 95.0) * 0.3, 0.0, 22.0))
    collar = q_axis(2, shrug)
    shoulder = q_chain(q_axis(1, -arm.fwd), q_axis(2, arm.elev - 90.0 - shrug), q_axis(0, arm.twist))
    elbow = q_axis(1, -arm.elbow)
    wrist = q_axis(2, arm.wrist)
    return collar, shoulder, elbow, wrist


def key_quats(k: Key) -> np.ndarray:
    """(24,4) local rotations of the upper body for one key (legs identity: IK fills them)."""
    q = np.zeros((NUM_JOINTS, 4))
    q[:, 0] = 1.0
    pf, ps, pt = k.pelvis
    q[J["pelvis"]] = q_chain(q_axis(1, k.heading), q_axis(0, pf), q_axis(2, -ps), q_axis(1, pt))
    tf, ts, tt = k.torso
    for n in ("spine1", "spine2", "spine3"):
        q[J[n]] = q_chain(q_axis(0, tf / 3.0), q_axis(2, -ts / 3.0), q_axis(1, tt / 3.0))
    hn, hs, ht = k.head
    # Neck and head share the head's motion; the neck also counters a third of the torso bend.
    q[J["neck"]] = q_chain(q_axis(0, hn * 0.5 - tf * 0.25), q_axis(2, -hs * 0.5), q_axis(1, ht * 0.5))
    q[J["head"]] = q_chain(q_axis(0, hn * 0.5), q_axis(2, -hs * 0.5), q_axis(1, ht * 0.5))
    for arm, side in ((k.la, "left"), (k.ra, "right")):
        parts = _arm_quats(arm)
        if side == "right":
            parts = tuple(q_reflect(p) for p in parts)
        for name, p in zip(("collar", "shoulder", "elbow", "wrist"), parts):
            q[J[f"{side}_{name}"]] = p
    return q


def scale_key(k: Key, amp: float) -> Key:
    """Scale a key's deviations from neutral by ``amp`` (turns are never scaled)."""
    if abs(amp - 1.0) < 1e-9:
        return k

    def sarm(a: Arm) -> Arm:
        return Arm(*(d + amp * (v - d) for v, d in zip(
            (a.elev, a.fwd, a.elbow, a.twist, a.wrist),
            (ARM_DOWN.elev, ARM_DOWN.fwd, ARM_DOWN.elbow, 0.0, 0.0))))

    def sfoot(f: Foot, neutral_x: float) -> Foot:
        return f
    return replace(
        k, sway=tuple(amp * v for v in k.sway), drop=amp * k.drop,
        pelvis=tuple(amp * v for v in k.pelvis), torso=tuple(amp * v for v in k.torso),
        head=tuple(amp * v for v in k.head), la=sarm(k.la), ra=sarm(k.ra),
        lf=replace(k.lf, lift=k.lf.lift * amp), rf=replace(k.rf, lift=k.rf.lift * amp))


@dataclass
class MoveFrames:
    """A move evaluated at T phases, in its own frame (see module docstring)."""

    quats: np.ndarray     # (T,24,4) local rotations; pelvis includes heading; legs identity
    feet: np.ndarray      # (T,2,3) ankle ground point x, lift, z for left/right (move frame)
    foot_yaw: np.ndarray  # (T,2) deg
    foot_pitch: np.ndarray  # (T,2) deg
    planted: np.ndarray   # (T,2) bool
    sway: np.ndarray      # (T,2) pelvis offset from the support centre (body frame, m)
    drop: np.ndarray      # (T,)
    heading: np.ndarray   # (T,) deg


@lru_cache(maxsize=4096)
def _key_arrays(move: Move, amp: float):
    keys = [scale_key(k, amp) for k in move.keys]
    kb = np.array([k.beat for k in keys])
    quats = np.stack([key_quats(k) for k in keys])
    feet = np.array([[[f.x, f.lift, f.z] for f in (k.lf, k.rf)] for k in keys])
    yaw = np.array([[k.lf.yaw, k.rf.yaw] for k in keys])
    pitch = np.array([[k.lf.pitch, k.rf.pitch] for k in keys])
    sway = np.array([k.sway for k in keys], dtype=np.float64)
    drop = np.array([k.drop for k in keys])
    heading = np.array([k.heading for k in keys])
    return kb, quats, feet, yaw, pitch, sway, drop, heading


def evaluate(move: Move, phase, *, mirror: bool = False, amp: float = 1.0, sharp: float = 0.9) -> MoveFrames:
    """Evaluate ``move`` at beat positions ``phase`` (clamped to [0, move.beats])."""
    if "mocap" in move.tags:  # retargeted capture: evaluated from its clip
        from .mocap import evaluate_mocap

        return evaluate_mocap(move, phase, mirror, amp, sharp)
    phase = np.clip(np.asarray(phase, dtype=np.float64), 0.0, float(move.beats))
    kb, quats, feet, yaw, pitch, sway, drop, heading = _key_arrays(move, round(float(amp), 3))
    i = np.clip(np.searchsorted(kb, phase, side="right") - 1, 0, len(kb) - 2)
    span = kb[i + 1] - kb[i]
    u = (phase - kb[i]) / span
    e = ease(u, sharp)

    def lerp(arr):
        a, b = arr[i], arr[i + 1]
        w = e.reshape(e.shape + (1,) * (a.ndim - 1))
        return a + (b - a) * w

    q = slerp(quats[i], quats[i + 1], np.broadcast_to(e[:, None], (len(e), NUM_JOINTS)))
    fa, fb = feet[i], feet[i + 1]
    dist = np.hypot(fa[..., 0] - fb[..., 0], fa[..., 2] - fb[..., 2])
    moving = (dist > 1e-3) | (np.abs(yaw[i] - yaw[i + 1]) > 0.5)
    # A foot that changes place or yaw between two keys lifts clear of the floor first, travels,
    # then sets down (no sliding while low), along a plateaued arc.
    eh = ease(np.clip((u - 0.2) / 0.6, 0.0, 1.0), 1.0)
    w_move = np.where(moving, eh[:, None], e[:, None])
    f = fa + (fb - fa) * w_move[..., None]
    f[..., 1] = fa[..., 1] + (fb[..., 1] - fa[..., 1]) * e[:, None]
    fy = yaw[i] + (yaw[i + 1] - yaw[i]) * w_move
    fp = lerp(pitch)
    arc = np.where(moving, np.minimum(0.075 + 0.2 * dist, 0.13), 0.0)
    f[..., 1] += arc * np.clip(np.sin(np.pi * ease(u, 1.0)) / np.sin(np.pi * 0.25), 0.0, 1.0)[:, None]
    planted = (~moving) & (fa[..., 1] <= 1e-6) & (fb[..., 1] <= 1e-6)
    # At a key itself a foot resting on the floor is planted even if it moves next.
    at_key = (u <= 1e-9)[:, None] & (fa[..., 1] <= 1e-6)
    at_end = (u >= 1 - 1e-9)[:, None] & (fb[..., 1] <= 1e-6)
    planted = planted | at_key | at_end
    out = MoveFrames(q, f, fy, fp, planted, lerp(sway), lerp(drop), lerp(heading))
    return mirror_frames(out) if mirror else out


def mirror_frames(m: MoveFrames) -> MoveFrames:
    """Left/right mirror image of evaluated move frames (an involution)."""
    mi = list(MIRROR_INDEX)
    feet = m.feet[:, ::-1].copy()
    feet[..., 0] *= -1
    sway = m.sway.copy()
    sway[:, 0] *= -1
    return MoveFrames(q_reflect(m.quats[:, mi]), feet, -m.foot_yaw[:, ::-1], m.foot_pitch[:, ::-1].copy(),
                      m.planted[:, ::-1].copy(), sway, m.drop.copy(), -m.heading)


def mirror_poses(poses: np.ndarray, trans: np.ndarray | None = None, contacts: np.ndarray | None = None):
    """Mirror motion-file arrays: joints swapped by MIRROR_INDEX, axis-angles reflected, x negated."""
    out_p = aa_reflect(np.asarray(poses)[..., list(MIRROR_INDEX), :])
    out_t = None if trans is None else np.asarray(trans) * np.array([-1.0, 1.0, 1.0])
    out_c = None if contacts is None else np.asarray(contacts)[..., [2, 3, 0, 1]]
    return out_p, out_t, out_c


def end_frame(move: Move):
    """(dx, dz, dheading_deg) of a move's end frame relative to its start frame."""
    k = move.keys[-1]
    h = np.radians(k.heading)
    c, s = np.cos(h), np.sin(h)
    # The mean of the neutral feet, rotated by the heading, is offset from the pelvis ground point.
    mx, mz = (k.lf.x + k.rf.x) / 2.0, (k.lf.z + k.rf.z) / 2.0
    ox, oz = s * STANCE_Z, c * STANCE_Z
    return mx - ox, mz - oz, k.heading


def validate_move(move: Move) -> None:
    """Raise ValueError unless the move chains cleanly (neutral stance at both ends, keys ordered)."""
    kb = [k.beat for k in move.keys]
    if kb[0] != 0 or kb[-1] != move.beats or any(b2 <= b1 for b1, b2 in zip(kb, kb[1:])):
        raise ValueError(f"{move.name}: keys must run from 0 to {move.beats} in order: {kb}")
    if any(abs(b * 2 - round(b * 2)) > 1e-9 for b in kb):
        raise ValueError(f"{move.name}: keys must sit on beats or half-beats")
    if not 1 <= move.beats <= 8:
        raise ValueError(f"{move.name}: 1..8 beats")
    first, last = move.keys[0], move.keys[-1]
    lf, rf = stance(0.0)
    if (first.lf, first.rf, first.heading) != (lf, rf, 0.0):
        if not (np.allclose([first.lf.x, first.lf.z, first.rf.x, first.rf.z], [lf.x, lf.z, rf.x, rf.z])
                and first.lf.lift == 0 and first.rf.lift == 0 and first.heading == 0):
            raise ValueError(f"{move.name}: must start in the neutral stance")
    dx, dz, dh = end_frame(move)
    lf, rf = stance(dh, at=(dx, dz))
    got = [last.lf.x, last.lf.z, last.rf.x, last.rf.z, last.lf.lift, last.rf.lift]
    if not np.allclose(got, [lf.x, lf.z, rf.x, rf.z, 0, 0], atol=1e-6):
        raise ValueError(f"{move.name}: must end in the neutral stance of its end frame")
