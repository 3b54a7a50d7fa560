"""Compose a whole song's dance from the move library.

Pipeline: beat phase from the music's beats (piecewise linear between beats, so
key poses land exactly on them) -> move-beat grid (half/double time when the
song's tempo is outside the style's comfort range) -> 8-count phrases starting
at a downbeat, filled with moves chosen by style and the phrase's energy (no two
consecutive phrases alike) -> each move evaluated in its own frame and placed on
the stage (position + heading carried from move to move) -> upper body blended
across move boundaries in quaternion space -> pelvis over the support feet,
lowered where a leg could not reach -> two-bone leg IK onto the feet, which sit
on the floor (y = ankle/toe height) and stay put while planted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from .. import FPS
from ..body.motion_file import Motion
from ..body.rotations import matrix_to_axis_angle, quat_to_matrix
from ..body.skeleton import ANKLE_HEIGHT, JOINT_INDEX, REST_OFFSETS, REST_PELVIS_HEIGHT, TOE_HEIGHT
from ..errors import BadInput
from . import ik
from .library import MOVE_INDEX, MOVES
from .moves import STANCE_Z, Move, end_frame, evaluate, q_axis, q_mul
from .styles import Style, get_style

VERSION = "choreo-1"
TOE_OFFSET = {"left": REST_OFFSETS[JOINT_INDEX["left_foot"]], "right": REST_OFFSETS[JOINT_INDEX["right_foot"]]}


@dataclass
class Segment:
    move: Move
    start: float          # in move beats
    mirror: bool
    amp: float
    pos: tuple            # stage position (x, z) of the move frame's origin
    heading: float        # stage heading (deg) of the move frame


@dataclass
class Plan:
    segments: list
    phrases: list         # list of tuples (move name, mirror) per phrase
    factor: float         # move beats per music beat
    phrase_beats: int


# ---------------------------------------------------------------- beats
def beat_grid(analysis) -> tuple[np.ndarray, int]:
    """Beat times extended over the whole song, and the index of the first downbeat."""
    dur = float(analysis.duration_s)
    beats = np.asarray(getattr(analysis, "beats_s", []), dtype=np.float64)
    beats = beats[(beats >= -1e-6) & (beats <= dur + 1e-6)]
    if len(beats) < 2:
        period = 60.0 / float(getattr(analysis, "tempo_bpm", 0) or 120.0)
        beats = np.arange(0.0, max(dur, period) + period, period)
    period = float(np.median(np.diff(beats)))
    if not np.isfinite(period) or period <= 0.05:
        period = 0.5
    pre = beats[0] - period * np.arange(int(np.ceil(beats[0] / period)) + 2, 0, -1)
    post = beats[-1] + period * np.arange(1, int(np.ceil((dur - beats[-1]) / period)) + 3)
    grid = np.concatenate([pre, beats, post])
    downs = np.asarray(getattr(analysis, "downbeats_s", []), dtype=np.float64)
    if len(downs):
        i0 = int(np.argmin(np.abs(grid[:, None] - downs[None, :2]).min(axis=1)))
    else:
        i0 = len(pre)
    return grid, i0


def choose_factor(bpm: float, style: Style) -> float:
    """Move beats per music beat: 1, or 0.5 (half time) / 2 (double time) outside the comfort range."""
    lo, hi = style.tempo
    best, best_cost = 1.0, None
    for f in (1.0, 0.5, 2.0):
        r = bpm * f
        cost = 0.0 if lo <= r <= hi else abs(np.log(r / (lo if r < lo else hi)))
        cost += 0.0 if f == 1.0 else 0.08  # stay on the beat unless clearly better
        if best_cost is None or cost < best_cost - 1e-9:
            best, best_cost = f, cost
    return best


# ---------------------------------------------------------------- energy
def _frame_energy(analysis, n_frames: int) -> np.ndarray:
    def fit(x):
        x = np.asarray(x if x is not None else [], dtype=np.float64).ravel()
        if len(x) == 0:
            return np.full(n_frames, 0.5)
        return np.interp(np.arange(n_frames), np.linspace(0, n_frames - 1, len(x)), x) if len(x) != n_frames else x

    onset = fit(getattr(analysis, "onset_env", None))
    rms = fit(getattr(analysis, "rms", None))

    def norm(x):
        lo, hi = np.percentile(x, 5), np.percentile(x, 95)
        return np.clip((x - lo) / (hi - lo), 0, 1) if hi - lo > 1e-9 else np.full_like(x, 0.5)

    return 0.5 * norm(onset) + 0.5 * norm(rms)


# ---------------------------------------------------------------- planning
def _candidates(style: Style, meter: int):
    out = []
    for m in MOVES:
        if style.meter == 3:
            if m.meter != 3 and m.beats not in (1, 3, 6):
                continue
        elif m.meter == 3:
            continue
        w = style.base + sum(style.tags.get(t, 0.0) for t in m.tags) + style.moves.get(m.name, 0.0)
        if w > 0:
            out.append((m, w))
    return out


def plan_dance(n_move_beats_from: float, n_move_beats_to: float, phrase_energy, style: Style, rng, phrase_beats: int,
               extra_moves=()) -> Plan:
    """Choose moves for every phrase between two move-beat positions (phrase 0 starts at beat 0)."""
    cands = _candidates(style, style.meter) + [(m, style.mocap) for m in extra_moves if style.mocap > 0]
    filler = MOVE_INDEX["groove_bounce"]
    segments: list = []
    phrases: list = []
    pos = np.zeros(2)
    heading = 0.0
    usage: dict = {}
    # Pick-up before the first phrase: 1-beat grooves.
    first = int(np.floor(n_move_beats_from))
    for b in range(first, 0):
        segments.append(Segment(filler, float(b), False, 0.6, tuple(pos), heading))
    n_phrases = int(np.ceil(max(n_move_beats_to, 1e-9) / phrase_beats))
    prev_seq = None
    for p in range(n_phrases):
        e = float(phrase_energy(p))
        target = 0.15 + 0.8 * e
        amp = style.amp * (0.75 + 0.4 * e)
        for _attempt in range(12):
            seq, segs, ppos, phead = [], [], pos.copy(), heading
            b = 0
            last_name = segments[-1].move.name if segments else None
            last_mirror = segments[-1].mirror if segments else False
            while b < phrase_beats:
                rem = phrase_beats - b
                opts, ws = [], []
                for m, w in cands:
                    if m.beats > rem or (m.beats >= 2 and b % min(m.beats, 2 if style.meter == 4 else 3)):
                        continue
                    if style.meter == 3 and m.beats in (3, 6) and b % 3:
                        continue
                    w = w * np.exp(-((m.energy - target) ** 2) / (2 * 0.28 ** 2)) / (1.0 + 0.6 * usage.get(m.name, 0))
                    dx, dz, dh = end_frame(m)
                    if abs(dh) % 360 > 1 and abs(phead) % 360 < 1:
                        w *= 0.5   # do not stay turned away for long...
                    if abs(phead) % 360 > 1 and abs(dh) % 360 > 1:
                        w *= 6.0   # ...and turn back soon
                    travel = np.hypot(dx, dz)
                    if travel > 0 and np.linalg.norm(ppos) > 0.8:
                        w *= 0.3
                    if m.name == last_name:
                        w *= 0.35
                    opts.append(m)
                    ws.append(w)
                if not opts:
                    m = filler
                else:
                    ws = np.asarray(ws)
                    m = opts[int(rng.choice(len(opts), p=ws / ws.sum()))]
                # Mirror: alternate a repeated move (R then L); otherwise head back toward the centre.
                dx, dz, dh = end_frame(m)
                if m.name == last_name:
                    mirror = not last_mirror
                else:
                    scores = []
                    for mir in (False, True):
                        ddx, ddh = (-dx, -dh) if mir else (dx, dh)
                        h = np.radians(phead)
                        nx = ppos[0] + np.cos(h) * ddx + np.sin(h) * dz
                        nz = ppos[1] - np.sin(h) * ddx + np.cos(h) * dz
                        turned = abs(((phead + ddh + 180) % 360) - 180)
                        scores.append(np.hypot(nx, nz) + turned / 360.0 + 0.25 * rng.random())
                    mirror = bool(scores[1] < scores[0])
                segs.append(Segment(m, float(p * phrase_beats + b), mirror, amp, tuple(ppos), phead))
                seq.append((m.name, mirror))
                ddx, ddh = (-dx, -dh) if mirror else (dx, dh)
                h = np.radians(phead)
                ppos = ppos + np.array([np.cos(h) * ddx + np.sin(h) * dz, -np.sin(h) * ddx + np.cos(h) * dz])
                phead = float((phead + ddh) % 360.0)
                last_name, last_mirror = m.name, mirror
                b += m.beats
            if tuple(seq) != prev_seq:
                break
        for s in segs:
            usage[s.move.name] = usage.get(s.move.name, 0) + 1
        segments.extend(segs)
        phrases.append(tuple(seq))
        prev_seq = tuple(seq)
        pos, heading = ppos, phead
    return Plan(segments, phrases, 1.0, phrase_beats)


# ---------------------------------------------------------------- synthesis
def _yaw_quat(deg):
    return q_axis(1, deg)


def _rotate_xz(x, z, deg):
    h = np.radians(deg)
    c, s = np.cos(h), np.sin(h)
    return c * x + s * z, -s * x + c * z


def synthesize(plan: Plan, move_phase: np.ndarray, music_phase: np.ndarray, style: Style, energy: np.ndarray,
               blend_frames: float = 4.0) -> tuple:
    """Per-frame poses (T,24,3), trans (T,3), contacts (T,4) from a plan and the move-beat phase per frame."""
    T = len(move_phase)
    frames_per_beat = max(1.0, 1.0 / max(np.median(np.diff(move_phase)) if T > 1 else 0.03, 1e-6))
    h = min(0.25, blend_frames / frames_per_beat)
    quat_acc = np.zeros((T, 24, 4))
    sway_acc = np.zeros((T, 2))
    drop_acc = np.zeros(T)
    wsum = np.zeros(T)
    feet = np.zeros((T, 2, 3))
    fyaw = np.zeros((T, 2))
    fpitch = np.zeros((T, 2))
    planted = np.zeros((T, 2), bool)
    heading = np.zeros(T)
    ref = None
    for seg in plan.segments:
        s, n = seg.start, seg.move.beats
        sel = np.nonzero((move_phase >= s - h) & (move_phase <= s + n + h))[0]
        if len(sel) == 0:
            continue
        local = move_phase[sel] - s
        mf = evaluate(seg.move, local, mirror=seg.mirror, amp=seg.amp, sharp=style.sharp)
        w = np.clip((local + h) / (2 * h), 0, 1) * np.clip((n + h - local) / (2 * h), 0, 1)
        q = mf.quats.copy()
        q[:, 0] = q_mul(_yaw_quat(seg.heading)[None], q[:, 0])  # pelvis in stage frame
        if ref is None:
            ref = q[0].copy()
        # Keep every contribution in one hemisphere before the weighted sum (nlerp).
        prev = np.where(wsum[sel, None, None] > 0, quat_acc[sel], ref[None])
        sign = np.where(np.sum(prev * q, -1, keepdims=True) < 0, -1.0, 1.0)
        quat_acc[sel] += w[:, None, None] * q * sign
        sway_acc[sel] += w[:, None] * mf.sway
        drop_acc[sel] += w * mf.drop
        wsum[sel] += w
        own = (local >= 0) & (local < n)
        if seg is plan.segments[-1]:
            own = local >= 0
        if seg is plan.segments[0]:
            own = own | (local < 0)
        o = sel[own]
        fx, fz = _rotate_xz(mf.feet[own, :, 0], mf.feet[own, :, 2], seg.heading)
        feet[o, :, 0] = fx + seg.pos[0]
        feet[o, :, 2] = fz + seg.pos[1]
        feet[o, :, 1] = mf.feet[own, :, 1]
        fyaw[o] = mf.foot_yaw[own] + seg.heading
        fpitch[o] = mf.foot_pitch[own]
        planted[o] = mf.planted[own]
        heading[o] = mf.heading[own] + seg.heading
    wsum = np.maximum(wsum, 1e-9)
    quats = quat_acc / np.linalg.norm(quat_acc, axis=-1, keepdims=True).clip(1e-9)
    sway = sway_acc / wsum[:, None]
    drop = drop_acc / wsum

    # Pelvis height: soft knees, the moves' drops, and a groove bounce on every music beat.
    # The groove: the pelvis circles once per music beat (vertical loop, lowest on the beat for
    # down-beat styles), eased so it stops only on the beat -- one speed minimum per beat.
    phi = music_phase - np.floor(music_phase)
    theta = 2 * np.pi * phi - np.sin(2 * np.pi * phi)
    # In half time the moves mark every other beat; a stronger groove keeps the song's pulse visible.
    r = style.bounce * (0.6 + 0.6 * energy) * (1.7 if plan.factor < 1 else 1.0)
    groove_y = -r * np.cos(theta) if style.bounce_down else r * np.cos(theta)
    groove_f = 0.6 * r * np.sin(theta)
    pelvis_y = REST_PELVIS_HEIGHT - style.knee_bend - r - drop + groove_y

    # Pelvis over the support: the planted feet's centre, smoothed, plus the move's sway.
    w_feet = planted.astype(float) + 1e-3
    centre = np.sum(feet[..., [0, 2]] * w_feet[..., None], 1) / np.sum(w_feet, 1)[:, None]
    sigma = float(np.clip(0.3 * frames_per_beat, 2.0, 8.0))
    centre = gaussian_filter1d(centre, sigma, axis=0, mode="nearest")
    hx = np.sin(np.radians(heading))
    hz = np.cos(np.radians(heading))
    back = -STANCE_Z
    ox = (back + sway[:, 1] + groove_f) * hx + sway[:, 0] * hz
    oz = (back + sway[:, 1] + groove_f) * hz - sway[:, 0] * hx
    pelvis_pos = np.stack([centre[:, 0] + ox, pelvis_y, centre[:, 1] + oz], -1)
    pelvis_rot = quat_to_matrix(quats[:, 0])

    # Foot world rotations, and ankle heights that keep the toes above the floor.
    foot_rot = {}
    ankle_target = {}
    for i, side in enumerate(("left", "right")):
        fr = quat_to_matrix(q_mul(_yaw_quat(fyaw[:, i]), q_axis(0, fpitch[:, i])))
        foot_rot[side] = fr
        toe_dy = (fr @ TOE_OFFSET[side])[:, 1]
        y = np.maximum(ANKLE_HEIGHT + feet[:, i, 1], TOE_HEIGHT - toe_dy)
        ankle_target[side] = np.stack([feet[:, i, 0], y, feet[:, i, 2]], -1)

    # Lower the pelvis where a leg would otherwise be overstretched (then smooth the correction).
    need = np.zeros(T)
    for side in ("left", "right"):
        reach = ik.max_reach(side) * 0.985
        hip = ik.hip_positions(pelvis_rot, pelvis_pos, side)
        d = ankle_target[side] - hip
        horiz2 = d[:, 0] ** 2 + d[:, 2] ** 2
        max_dy = np.sqrt(np.maximum(reach ** 2 - horiz2, 0.0))
        need = np.maximum(need, (-d[:, 1]) - max_dy)  # hip above ankle by more than allowed
    need = np.maximum(need, 0.0)
    if np.any(need > 0):
        win = int(2 * sigma) * 2 + 1
        need = gaussian_filter1d(maximum_filter1d(need, win, mode="nearest"), sigma / 2, mode="nearest") * 1.02
        pelvis_pos[:, 1] -= need
    # Keep the pelvis off the floor in any case.
    pelvis_pos[:, 1] = np.maximum(pelvis_pos[:, 1], 0.45)

    rot = quat_to_matrix(quats)  # (T,24,3,3) local rotations
    for side, fx in (("left", 0), ("right", 1)):
        pole_yaw = np.radians(0.5 * fyaw[:, fx] + 0.5 * heading)
        out = 0.15 if side == "left" else -0.15  # knees track slightly over the toes
        pole = np.stack([np.sin(pole_yaw) + out * np.cos(pole_yaw), np.zeros(T), np.cos(pole_yaw) - out * np.sin(pole_yaw)], -1)
        hip_l, knee_l, ankle_l, _ = ik.solve_leg(pelvis_rot, pelvis_pos, side, ankle_target[side], foot_rot[side], pole)
        hi, ki, ai = ik.LEGS[side]
        rot[:, hi], rot[:, ki], rot[:, ai] = hip_l, knee_l, ankle_l
    poses = matrix_to_axis_angle(rot)
    pitch_ok_heel = fpitch <= 5.0
    pitch_ok_toe = fpitch >= -5.0
    contacts = np.stack([planted[:, 0] & pitch_ok_heel[:, 0], planted[:, 0] & pitch_ok_toe[:, 0],
                         planted[:, 1] & pitch_ok_heel[:, 1], planted[:, 1] & pitch_ok_toe[:, 1]], -1).astype(np.float32)
    return poses, pelvis_pos, contacts


# ---------------------------------------------------------------- entry point
def _seed_rng(seed: int, style: str, analysis) -> np.random.Generator:
    beats = np.round(np.asarray(getattr(analysis, "beats_s", []), dtype=np.float64), 3)
    h = hashlib.sha256(f"{seed}|{style}|{float(analysis.duration_s):.3f}|".encode() + beats.tobytes()).digest()
    return np.random.default_rng(int.from_bytes(h[:8], "little"))


def choreograph(analysis, style: str = "house", seed: int = 0, progress=None, *, extra_moves=None) -> Motion:
    """A dance for the analysed song (``MusicAnalysis`` or anything with its fields), deterministic per seed.

    ``analysis`` may also be a path to a song, which is analysed first.
    """
    if isinstance(analysis, (str, bytes)) or hasattr(analysis, "__fspath__"):
        from ..audio.analysis import analyze_music

        analysis = analyze_music(analysis, progress=progress)
    st = get_style(style)
    dur = float(getattr(analysis, "duration_s", 0.0) or 0.0)
    if not np.isfinite(dur) or dur <= 0:
        raise BadInput("the song has no duration")
    if progress:
        progress("choreo", 0.05, "planning")
    n_frames = max(2, int(round(dur * FPS)))
    t = np.arange(n_frames) / FPS
    grid, i0 = beat_grid(analysis)
    music_phase = np.interp(t, grid, np.arange(len(grid), dtype=np.float64)) - i0
    bpm = 60.0 / float(np.median(np.diff(grid)))
    factor = choose_factor(bpm, st)
    move_phase = music_phase * factor
    phrase_beats = 12 if st.meter == 3 else 8
    energy = _frame_energy(analysis, n_frames)
    bounds = np.floor(move_phase / phrase_beats).astype(int)

    def phrase_energy(p):
        sel = bounds == p
        return float(energy[sel].mean()) if np.any(sel) else 0.5

    if extra_moves is None:
        extra_moves = _mocap_moves(st)
    rng = _seed_rng(seed, style, analysis)
    plan = plan_dance(float(move_phase[0]), float(move_phase[-1]) + 1e-6, phrase_energy, st, rng, phrase_beats, extra_moves)
    plan.factor = factor
    if progress:
        progress("choreo", 0.4, f"{len(plan.segments)} moves")
    poses, trans, contacts = synthesize(plan, move_phase, music_phase, st, energy)
    if progress:
        progress("choreo", 0.9, "forward kinematics")
    meta = {"model": "choreographer", "version_choreo": VERSION, "seed": int(seed), "style": style,
            "tempo_bpm": round(bpm, 2), "move_beats_per_music_beat": factor,
            "moves": [[s.move.name, bool(s.mirror), round(s.start / factor, 3)] for s in plan.segments]}
    motion = Motion(poses=poses.astype(np.float32), trans=trans.astype(np.float32), contacts=contacts, fps=float(FPS), meta=meta)
    if progress:
        progress("choreo", 1.0, "done")
    return motion


def _mocap_moves(style: Style):
    if style.mocap <= 0:
        return ()
    try:
        from .mocap import mocap_moves
    except ImportError:
        return ()
    return mocap_moves()
