"""Choreographer: moves, mirroring, composition, physical plausibility, CLI."""

from types import SimpleNamespace

import numpy as np
import pytest

from magicdance_core.body.skeleton import CONTACT_JOINTS, CONTACT_HEIGHTS, MIRROR_INDEX
from magicdance_core.choreo.compose import choreograph
from magicdance_core.choreo.library import MOVES
from magicdance_core.choreo.limits import violation_ratio
from magicdance_core.choreo.moves import aa_reflect, evaluate, mirror_frames, mirror_poses, q_reflect
from magicdance_core.choreo.styles import STYLES
from magicdance_core.body.rotations import axis_angle_to_matrix, quat_to_matrix


def song(bpm=120.0, dur=30.0, offset=0.25, seed=0):
    beats = np.arange(offset, dur, 60.0 / bpm)
    n = int(dur * 30)
    rng = np.random.default_rng(seed)
    return SimpleNamespace(duration_s=dur, beats_s=beats, downbeats_s=beats[::4], tempo_bpm=bpm,
                           onset_env=rng.random(n), rms=0.1 + 0.05 * np.sin(np.arange(n) / 90.0) ** 2)


def test_library_size_and_styles():
    assert len({m.name for m in MOVES}) >= 40
    assert all(1 <= m.beats <= 8 for m in MOVES)
    assert len(STYLES) >= 6 and "waltz" in STYLES and STYLES["waltz"].meter == 3


def test_reflection_rule_matches_matrix_mirror():
    rng = np.random.default_rng(0)
    aa = rng.normal(size=(50, 3))
    M = np.diag([-1.0, 1.0, 1.0])
    assert np.allclose(axis_angle_to_matrix(aa_reflect(aa)), M @ axis_angle_to_matrix(aa) @ M, atol=1e-9)
    q = rng.normal(size=(50, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    assert np.allclose(quat_to_matrix(q_reflect(q)), M @ quat_to_matrix(q) @ M, atol=1e-9)


def test_mirror_of_mirror_is_identity():
    rng = np.random.default_rng(1)
    p, t, c = rng.normal(size=(5, 24, 3)), rng.normal(size=(5, 3)), rng.random((5, 4))
    p2, t2, c2 = mirror_poses(*mirror_poses(p, t, c))
    assert np.allclose(p2, p) and np.allclose(t2, t) and np.allclose(c2, c)
    assert sorted(MIRROR_INDEX) == list(range(24))
    for m in MOVES[:10]:
        f = evaluate(m, np.linspace(0, m.beats, 40))
        g = mirror_frames(mirror_frames(f))
        assert np.allclose(f.quats, g.quats) and np.allclose(f.feet, g.feet) and np.array_equal(f.planted, g.planted)


def test_mirrored_move_is_mirror_image_in_world():
    """FK of a mirrored move equals the x-reflection of the move's FK (left and right swapped)."""
    from magicdance_core.body.fk import forward_kinematics_matrices

    m = next(x for x in MOVES if x.name == "disco_point")
    ph = np.linspace(0, m.beats, 17)
    a, b = evaluate(m, ph), evaluate(m, ph, mirror=True)
    pa, _ = forward_kinematics_matrices(quat_to_matrix(a.quats), np.zeros((17, 3)))
    pb, _ = forward_kinematics_matrices(quat_to_matrix(b.quats), np.zeros((17, 3)))
    refl = pa[:, list(MIRROR_INDEX)] * np.array([-1.0, 1.0, 1.0])
    # The skeleton is only nearly symmetric: compare arm directions within a few centimetres.
    assert np.abs(refl - pb).max() < 0.06


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m.name)
def test_move_accents_on_beats(move):
    """Every move stops (or nearly) on its integer beats: speed there is a local minimum."""
    ph = np.linspace(0, move.beats, move.beats * 40 + 1)
    f = evaluate(move, ph, sharp=1.0)
    sig = np.concatenate([f.quats.reshape(len(ph), -1), f.feet.reshape(len(ph), -1), f.sway, f.drop[:, None]], 1)
    speed = np.linalg.norm(np.diff(sig, axis=0), axis=1)
    for b in range(1, move.beats):
        i = b * 40
        assert speed[i - 1] <= speed[i - 5:i + 5].max() * 0.2 + 1e-9, (move.name, b)


def test_deterministic_per_seed_and_seeds_differ():
    a = song()
    m1, m2, m3 = choreograph(a, "house", seed=3), choreograph(a, "house", seed=3), choreograph(a, "house", seed=4)
    assert np.array_equal(m1.poses, m2.poses) and np.array_equal(m1.trans, m2.trans)
    assert not np.allclose(m1.poses, m3.poses)


def test_styles_differ():
    a = song()
    names = {}
    for s in STYLES:
        m = choreograph(a, s, seed=0)
        names[s] = {x[0] for x in m.meta["moves"]}
    assert len({frozenset(v) for v in names.values()}) == len(STYLES)
    assert names["waltz"].isdisjoint({"running_man", "stomp"})


@pytest.mark.parametrize("style", ["house", "hiphop", "waltz", "latin"])
def test_physical_plausibility(style):
    a = song(bpm=124 if style != "waltz" else 150, dur=40)
    m = choreograph(a, style, seed=2)
    j = m.joints.astype(np.float64)
    # No ground penetration: foot joints never below their standing heights, nothing below the floor.
    feet = j[:, list(CONTACT_JOINTS), 1]
    assert feet.min(axis=0).round(4).tolist() >= [round(h - 1e-3, 4) for h in CONTACT_HEIGHTS]
    assert j[:, :, 1].min() > -1e-4
    # Planted feet do not slide: < 1 cm per frame while the contact label is 1 in both frames.
    c = m.contacts > 0.5
    both = c[1:] & c[:-1]
    v = np.linalg.norm(np.diff(j[:, list(CONTACT_JOINTS)][:, :, [0, 2]], axis=0), axis=2)
    assert both.sum() > 0.3 * both.size
    assert v[both].max() < 0.01
    # Balance: the pelvis stays near the feet.
    mid = j[:, list(CONTACT_JOINTS)][:, :, [0, 2]].mean(axis=1)
    assert np.percentile(np.linalg.norm(j[:, 0, [0, 2]] - mid, axis=1), 95) < 0.3
    assert violation_ratio(m.poses, tol_deg=5) < 0.01


def test_consecutive_phrases_differ_and_variety():
    from magicdance_core.choreo import compose

    a = song(bpm=120, dur=180)
    m = choreograph(a, "pop", seed=0)
    starts = [x[2] for x in m.meta["moves"]]
    assert len({x[0] for x in m.meta["moves"]}) >= 15
    # Rebuild the phrases from the meta: 8 beats each at 1 move beat per music beat.
    period = 0.5
    phrases = {}
    for name, mir, s in m.meta["moves"]:
        if s >= 0:
            phrases.setdefault(int(s // 8), []).append((name, mir))
    seqs = [tuple(v) for k, v in sorted(phrases.items())]
    assert all(x != y for x, y in zip(seqs, seqs[1:]))


def test_tempo_follows_song():
    from magicdance_core.metrics.beats import movement_tempo

    slow = choreograph(song(bpm=70, dur=40), "pop", seed=0)
    fast = choreograph(song(bpm=170, dur=40), "pop", seed=0)
    # The groove follows every music beat: measured movement tempo tracks the song's.
    assert movement_tempo(fast.joints) > 1.5 * movement_tempo(slow.joints)


def test_short_and_long_songs():
    m = choreograph(song(bpm=100, dur=2.0), "hiphop", seed=0)
    assert m.num_frames == 60 and np.isfinite(m.poses).all()
    no_beats = SimpleNamespace(duration_s=3.0, beats_s=np.zeros(0), downbeats_s=np.zeros(0), tempo_bpm=0.0)
    assert choreograph(no_beats, "house").num_frames == 90
    m = choreograph(song(bpm=128, dur=600.0), "house", seed=0)
    assert m.num_frames == 18000 and np.isfinite(m.joints).all()


def test_unknown_style_is_bad_input():
    from magicdance_core.errors import BadInput

    with pytest.raises(BadInput, match="hiphop"):
        choreograph(song(), "polka")
