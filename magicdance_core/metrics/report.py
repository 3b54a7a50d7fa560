"""All metrics of one or more dances against one song, as a dict and as a text table.

Used by ``magicdance eval`` and the benchmarks, so that they report the same numbers.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .beats import beat_align_bailando, beat_align_fact, movement_tempo
from .distribution import div_g, div_k, fid_g, fid_k
from .limits import joint_limit_violations
from .physical import CONTACT_MARGIN, SKATE_SPEED, foot_skate_ratio, ground_penetration, jerk, pfc

PROTOCOL = {
    "beat_align_bailando": "mean over music beats of exp(-d^2/(2*3^2)), d in frames to the nearest "
                           "kinematic beat (Gaussian-smoothed joint speed, sigma 5, local minima)",
    "beat_align_fact": "mean over kinematic beats (joint speed local minima, order round(10*fps/60)) "
                       "of exp(-d^2/(2*3^2)) to the nearest music beat",
    "sigma_frames": 3,
    "pfc": "EDGE physical foot contact x 10^4 (lower is better)",
    "foot_skate": f"fraction of frame steps with a foot joint within {CONTACT_MARGIN} m of its contact "
                  f"height sliding faster than {SKATE_SPEED} m/s",
    "jerk": "mean |third difference of joint positions| * fps^3, m/s^3",
    "features": "kinetic 72-d (intended acceleration, not the reference's precedence bug), geometric 32-d",
}


def motion_metrics(joints: np.ndarray, fps: float, beats_s: Optional[np.ndarray] = None) -> dict:
    """Per-dance metrics; beat metrics only when music beats are given."""
    out: dict = {"frames": int(len(joints)), "fps": float(fps)}
    if beats_s is not None:
        out["beat_align_bailando"] = beat_align_bailando(joints, beats_s, fps)
        out["beat_align_fact"] = beat_align_fact(joints, beats_s, fps)
    out["pfc"] = pfc(joints, fps) if len(joints) >= 3 else None
    out["foot_skate"] = foot_skate_ratio(joints, fps) if len(joints) >= 2 else None
    gp = ground_penetration(joints)
    out["penetration_mean_m"] = gp["mean_m"]
    out["penetration_max_m"] = gp["max_m"]
    out["penetration_frames"] = gp["frac_frames"]
    out["jerk"] = jerk(joints, fps)
    lim = joint_limit_violations(joints)
    out["joint_limit_ratio"] = lim["ratio"]
    out["joint_limit_frames"] = lim["frames"]
    out["movement_tempo_bpm"] = movement_tempo(joints, fps)
    return out


def set_metrics(motions: Sequence[np.ndarray], fps: float, reference: Optional[Sequence[np.ndarray]] = None) -> dict:
    """Div (and FID against ``reference``) over a set of dances of at least 4 frames each."""
    usable = [m for m in motions if len(m) >= 4]
    out: dict = {"n": len(usable), "normalised_by_reference": reference is not None}
    if len(usable) >= 2:
        out["div_k"] = div_k(usable, reference, fps)
        out["div_g"] = div_g(usable, reference, fps)
    if reference is not None and len(usable) >= 2 and len(reference) >= 2:
        out["fid_k"] = fid_k(usable, reference, fps)
        out["fid_g"] = fid_g(usable, reference, fps)
    return out


_COLUMNS = (
    ("BA-Bail", "beat_align_bailando", "{:.3f}", 1),
    ("BA-FACT", "beat_align_fact", "{:.3f}", 1),
    ("PFC", "pfc", "{:.3f}", 1),
    ("skate%", "foot_skate", "{:.2f}", 100),
    ("pen mm", "penetration_max_m", "{:.1f}", 1000),
    ("jerk", "jerk", "{:.0f}", 1),
    ("limits%", "joint_limit_ratio", "{:.2f}", 100),
    ("tempo", "movement_tempo_bpm", "{:.1f}", 1),
)


def format_table(rows: Sequence[tuple[str, dict]], set_row: Optional[dict] = None, music_tempo: Optional[float] = None) -> str:
    """A fixed-width table, one row per dance; Div/FID underneath."""
    name_w = max([len("motion")] + [len(n) for n, _ in rows])
    head = f"{'motion':<{name_w}}  {'frames':>6}  " + "  ".join(f"{c:>8}" for c, _, _, _ in _COLUMNS)
    lines = [head, "-" * len(head)]
    for name, m in rows:
        cells = []
        for _, key, fmt, scale in _COLUMNS:
            v = m.get(key)
            cells.append(f"{'-' if v is None else fmt.format(v * scale):>8}")
        lines.append(f"{name:<{name_w}}  {m['frames']:>6}  " + "  ".join(cells))
    if music_tempo is not None:
        lines.append(f"music tempo: {music_tempo:.1f} bpm")
    if set_row:
        parts = [f"{k}={set_row[k]:.3f}" for k in ("div_k", "div_g", "fid_k", "fid_g") if k in set_row]
        if parts:
            norm = "normalised by the reference set" if set_row.get("normalised_by_reference") else "raw features"
            lines.append(f"set of {set_row['n']}: " + ", ".join(parts) + f" ({norm})")
    return "\n".join(lines)
