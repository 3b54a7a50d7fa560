"""Motion metrics on synthetic motions whose answers are known."""

import numpy as np
import pytest

from magicdance_core import metrics as M
from magicdance_core.body.skeleton import JOINT_INDEX as J
from magicdance_core.body.skeleton import REST_PELVIS_HEIGHT, rest_joints
from magicdance_core.errors import BadInput

FPS = 30.0
ARMS = [J[n] for n in ("left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand")]


def standing(T):
    """Rest T-pose standing on the floor (soles at y = 0), repeated for T frames."""
    r = rest_joints() + np.array([0.0, REST_PELVIS_HEIGHT, 0.0])
    return np.repeat(r[None], T, axis=0)


def smoothstep(x):
    return x * x * (3 - 2 * x)


def hit_the_beats(T, period, phase=0.0, amp=0.25):
    """Arms go up and down once per beat and stop exactly on every beat (frame phase + k*period).

    Position is sampled half a frame early so that the Bailando speed sample
    speed[k] = |p[k+1] - p[k]| ~ |p'(k)| is smallest exactly on the beat frames.
    """
    j = standing(T)
    t = np.arange(T) - 0.5 - phase
    k = np.floor(t / period)
    s = smoothstep((t / period) - k)                  # 0 -> 1 within each beat
    y = np.where(k % 2 == 0, s, 1 - s) * amp          # up one beat, down the next
    j[:, ARMS, 1] += y[:, None]
    return j


def beats_s(T, period, phase=0.0):
    return (np.arange(phase, T, period)) / FPS


# ---------------------------------------------------------------- beat alignment
def test_beat_alignment_on_beats_is_one():
    T, P = 300, 15.0  # 120 bpm
    j = hit_the_beats(T, P)
    music = beats_s(T, P, phase=P)  # from the 2nd beat: frame 0 cannot be a velocity minimum
    assert M.beat_align_bailando(j, music, FPS) > 0.99
    # FACT's velocity[t] = p[t] - p[t-1] puts its minima one frame later: exp(-1/18) = 0.946.
    assert M.beat_align_fact(j, music, FPS) > 0.94


def test_beat_alignment_half_a_beat_off_is_low():
    T, P = 300, 15.0
    j = hit_the_beats(T, P, phase=P / 2)
    assert M.beat_align_bailando(j, beats_s(T, P), FPS) < 0.15
    assert M.beat_align_fact(j, beats_s(T, P), FPS) < 0.15


def test_beat_alignment_variants_differ_in_what_they_average():
    # Dancing on every other beat: Bailando (per music beat) halves, FACT (per motion beat) stays high.
    T, P = 600, 15.0
    j = hit_the_beats(T, 2 * P)
    bail = M.beat_align_bailando(j, beats_s(T, P), FPS)
    fact = M.beat_align_fact(j, beats_s(T, P), FPS)
    assert fact > 0.9 and 0.4 < bail < 0.65


def test_still_body_has_no_beats():
    j = standing(100)
    assert M.beat_align_fact(j, beats_s(100, 15), FPS) == 0.0
    assert M.beat_align_bailando(j, beats_s(100, 15), FPS) == 0.0


@pytest.mark.parametrize("bpm", [80.0, 90.0, 100.0, 120.0, 128.0, 150.0])
def test_movement_tempo_follows_the_beat(bpm):
    P = 60.0 * FPS / bpm
    j = hit_the_beats(900, P)
    assert M.movement_tempo(j, FPS) == pytest.approx(bpm, rel=0.04)
    if P == int(P):  # Bailando's strict minima miss the two-frame flat minimum of a half-frame period
        assert M.beat_interval_tempo(j, FPS) == pytest.approx(bpm, rel=0.04)


def test_half_time_dancing_follows_the_tempo_but_a_third_does_not():
    P = 60.0 * FPS / 120.0
    half = M.movement_tempo(hit_the_beats(900, 2 * P), FPS)       # every other beat
    assert half == pytest.approx(60.0, rel=0.04)
    assert M.tempo_follows(120.0, half) and M.tempo_follows(120.0, 240.0) and M.tempo_follows(120.0, 123.0)
    assert not M.tempo_follows(120.0, 40.0) and not M.tempo_follows(120.0, 90.0) and not M.tempo_follows(120.0, 0.0)
    assert M.beat_interval_tempo(standing(100), FPS) == 0.0


# ---------------------------------------------------------------- physical
def test_static_body_is_clean():
    j = standing(60)
    assert M.pfc(j, FPS) == 0.0
    assert M.foot_skate_ratio(j, FPS) == 0.0
    assert M.jerk(j, FPS) == 0.0
    gp = M.ground_penetration(j)
    assert gp["max_m"] < 1e-9 and gp["frac_frames"] == 0.0
    assert M.joint_limit_violations(j)["ratio"] == 0.0


def test_sliding_feet_skate():
    T = 60
    j = standing(T)
    j[:, :, 0] += np.arange(T)[:, None] * (1.0 / FPS)  # the whole body glides at 1 m/s
    assert M.foot_skate_ratio(j, FPS) == 1.0
    lifted = j.copy()
    lifted[:, :, 1] += 0.3                              # the same glide in the air: no contact
    assert M.foot_skate_ratio(lifted, FPS) == 0.0
    slow = standing(T)
    slow[:, :, 0] += np.arange(T)[:, None] * (0.2 / FPS)  # creeping at 0.2 m/s is under the threshold
    assert M.foot_skate_ratio(slow, FPS) == 0.0


def test_pfc_planted_vs_floating():
    T = 90
    t = np.arange(T) / FPS
    sway = 0.1 * np.sin(2 * np.pi * 1.0 * t)
    planted = standing(T)
    upper = [i for i in range(24) if i not in (J["left_ankle"], J["right_ankle"], J["left_foot"], J["right_foot"])]
    planted[:, upper, 0] += sway[:, None]               # hips sway, feet stay put
    assert M.pfc(planted, FPS) == pytest.approx(0.0, abs=1e-9)
    floating = standing(T)
    floating[:, :, 0] += sway[:, None]                  # feet move with the accelerating body
    assert M.pfc(floating, FPS) > 0.5


def test_ground_penetration_depth():
    j = standing(30)
    j[10:20, :, 1] -= 0.03
    gp = M.ground_penetration(j)
    assert gp["max_m"] == pytest.approx(0.03)
    assert gp["frac_frames"] == pytest.approx(10 / 30)
    assert gp["mean_m"] == pytest.approx(0.01)


def test_jerk_of_a_cubic_is_exact():
    T = 40
    t = np.arange(T) / FPS
    j = standing(T)
    j[:, :, 2] += 0.5 * t[:, None] ** 3      # d3/dt3 = 3.0 m/s^3
    assert M.jerk(j, FPS) == pytest.approx(3.0, rel=1e-6)


def test_joint_limits_catch_impossible_knees():
    j = standing(10)
    # Fold the left shin up along the thigh (knee bend ~180 deg) in half the frames.
    knee, ankle, foot = J["left_knee"], J["left_ankle"], J["left_foot"]
    thigh = j[0, knee] - j[0, J["left_hip"]]
    j[5:, ankle] = j[5:, knee] - thigh * 0.95 + np.array([0, 0, -0.02])
    j[5:, foot] = j[5:, ankle] + np.array([0, 0, 0.12])
    out = M.joint_limit_violations(j)
    assert out["per_joint"]["left_knee"] == pytest.approx(0.5)
    assert out["per_joint"]["right_knee"] == 0.0
    # A knee bent forwards (hyperextended) by 30 degrees.
    h = standing(4)
    shin = h[0, J["right_ankle"]] - h[0, J["right_knee"]]
    c, s = np.cos(np.radians(-30)), np.sin(np.radians(-30))
    rot = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])  # about X by -30 deg: the foot swings forward (+Z)
    h[:, J["right_ankle"]] = h[0, J["right_knee"]] + rot @ shin
    assert M.joint_limit_violations(h)["per_joint"]["right_knee"] == 1.0


# ---------------------------------------------------------------- features, FID, Div
def test_kinetic_features_of_constant_velocity():
    T = 50
    j = standing(T)
    j[:, :, 0] += np.arange(T)[:, None] * (0.6 / FPS)    # 0.6 m/s sideways
    f = M.kinetic_features(j, FPS).reshape(24, 3)
    assert f[:, 0] == pytest.approx(0.36)                  # KE_h = v^2
    assert np.allclose(f[:, 1], 0) and np.allclose(f[:, 2], 0, atol=1e-9)
    # The reference's precedence bug (p[k] - p[k-1] / dt) would give a large
    # "energy expenditure" here; the intended second difference is zero.


def test_geometric_features_shape_and_range():
    j = hit_the_beats(200, 15)
    g = M.geometric_features(j, FPS)
    assert g.shape == (32,) and np.all((g >= 0) & (g <= 1))
    glide = standing(40)
    glide[:, :, 2] += np.arange(40)[:, None] * (1.0 / FPS)  # root faster than 2.3 hl per s
    assert M.geometric_features(glide, FPS)[31] == 1.0
    assert M.geometric_features(standing(40), FPS)[31] == 0.0


def _dance_set(n, seed):
    rng = np.random.default_rng(seed)
    return [hit_the_beats(120, rng.uniform(10, 25), phase=rng.uniform(0, 10), amp=rng.uniform(0.1, 0.4))
            for _ in range(n)]


def test_fid_and_div():
    a = _dance_set(8, 0)
    assert M.fid_k(a, a) == pytest.approx(0.0, abs=1e-6)
    assert M.fid_g(a, a) == pytest.approx(0.0, abs=1e-6)
    copies = [a[0]] * 4
    assert M.div_k(copies) == 0.0 and M.div_g(copies) == 0.0
    assert M.div_k(a) > 0 and M.div_k(a, reference=a) > 0
    still = [standing(120) + np.array([0.01 * i, 0, 0]) for i in range(8)]
    assert M.fid_k(still, a) > 1.0


def test_bad_shapes_are_bad_input():
    with pytest.raises(BadInput):
        M.pfc(np.zeros((10, 3)), FPS)
    with pytest.raises(BadInput):
        M.jerk(np.full((10, 24, 3), np.nan), FPS)
    with pytest.raises(BadInput):
        M.fid_k([standing(20)], [standing(20)])
