"""Beat clock music features (and fine-tuning a checkpoint onto them), the pelvis turn limit."""

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from magicdance_core.body.rotations import axis_angle_to_quat
from magicdance_core.errors import BadInput
from magicdance_core.motion.api import DEFAULT_CHECKPOINT, generate_dance, load_model
from magicdance_core.motion.model import DenoiserConfig
from magicdance_core.motion.sampling import save_sampling, sampling_path
from magicdance_core.motion.music_input import BEAT_COLUMN, add_beat_clock, beat_clock
from magicdance_core.motion.sampler import split_windows
from magicdance_core.motion.train import TrainConfig, TrainSettings, train
from magicdance_core.motion.turnlimit import limit_root_turn, max_turn_deg

sys.path.insert(0, str(Path(__file__).parent))
from motion_helpers import write_dataset  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- beat clock
def test_beat_clock_ramps_through_every_beat_and_knows_the_tempo():
    x = np.zeros(150)
    x[7::15] = 1  # 120 bpm at 30 fps, first beat at frame 7
    c = beat_clock(x)
    assert c.shape == (150, 3)
    np.testing.assert_allclose(c[7::15, 0], 0, atol=1e-6)        # on a beat: phase 0
    np.testing.assert_allclose(c[7::15, 1], 1, atol=1e-6)
    np.testing.assert_allclose(c[:, 2], 0.5, atol=1e-6)           # beat length in seconds
    # before the first beat the clock is extrapolated: frame 0 is 8/15 of a beat in
    np.testing.assert_allclose(c[0, :2], [np.sin(2 * np.pi * 8 / 15), np.cos(2 * np.pi * 8 / 15)], atol=1e-6)
    one = np.zeros(150)
    one[40] = 1
    assert not beat_clock(one).any()                              # one beat: tempo unknown
    assert not beat_clock(np.zeros(150)).any()


def test_song_clock_equals_window_clocks_so_overlapping_windows_agree():
    rng = np.random.default_rng(0)
    song = rng.normal(0, 1, (900, 35)).astype(np.float32)
    song[:, BEAT_COLUMN] = 0
    song[3::14, BEAT_COLUMN] = 1
    whole = split_windows(add_beat_clock(song), 150)
    per_window = add_beat_clock(split_windows(song, 150))
    assert per_window.shape == whole.shape and whole.shape[-1] == 38
    np.testing.assert_allclose(per_window, whole, atol=1e-5)
    np.testing.assert_array_equal(whole[..., :35], split_windows(song, 150))


# ---------------------------------------------------------------- fine-tune onto the clock
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("beat")
    data = write_dataset(root / "data", n=16)
    model = DenoiserConfig(name="tiny", latent_dim=64, ff_size=128, num_layers=2, num_heads=4, frames_per_token=2)
    settings = TrainSettings(steps=8, batch_size=8, save_every=8, warmup=2, lr=1e-3, threads=1)
    train(data, TrainConfig(model, settings), root / "run")
    return types.SimpleNamespace(root=root, data=data, model=model, settings=settings,
                                 ckpt=root / "run" / "model.safetensors")


def _song(frames=240, bpm=120.0, seed=0):
    rng = np.random.default_rng(seed)
    f = rng.normal(0, 0.2, (frames, 35)).astype(np.float32)
    f[:, BEAT_COLUMN] = 0
    f[::int(round(1800 / bpm)), BEAT_COLUMN] = 1
    return types.SimpleNamespace(edge35=f, source_sha256=f"song{seed}", duration_s=frames / 30.0)


def test_fine_tune_onto_the_beat_clock_starts_from_the_same_dance(tiny, tmp_path):
    beat_model = DenoiserConfig(**{**tiny.model.__dict__, "music_feature": "edge35+beat", "cond_feature_dim": 38})
    cfg = TrainConfig(beat_model, TrainSettings(**{**tiny.settings.__dict__, "steps": 0, "init_from": str(tiny.ckpt)}))
    train(tiny.data, cfg, tmp_path / "zero")
    grown = load_model(tmp_path / "zero" / "model.safetensors")
    assert grown.cfg.music_feature == "edge35+beat" and len(grown.music_mean) == 38
    song = _song()
    a = generate_dance(song, seed=2, steps=4, checkpoint=tiny.ckpt, foot_fix=False)
    b = generate_dance(song, seed=2, steps=4, checkpoint=tmp_path / "zero" / "model.safetensors", foot_fix=False)
    np.testing.assert_allclose(b.joints, a.joints, atol=1e-4)     # new inputs start at zero weight
    cfg.train.steps = 4
    train(tiny.data, cfg, tmp_path / "more")
    w = load_model(tmp_path / "more" / "model.safetensors").model.state_dict()["cond_projection.weight"]
    assert w[:, 35:38].abs().max() > 0 and w[:, 73:76].abs().max() > 0  # training uses the clock
    c = generate_dance(song, seed=2, steps=4, checkpoint=tmp_path / "more" / "model.safetensors")
    assert c.num_frames == 240 and np.isfinite(c.joints).all()


def test_fine_tune_onto_a_different_model_is_refused(tiny, tmp_path):
    other = DenoiserConfig(**{**tiny.model.__dict__, "latent_dim": 32, "music_feature": "edge35+beat",
                              "cond_feature_dim": 38})
    with pytest.raises(BadInput, match="does not match"):
        train(tiny.data, TrainConfig(other, TrainSettings(steps=1, init_from=str(tiny.ckpt))), tmp_path / "bad")


# ---------------------------------------------------------------- turn limit
def _yaw_poses(yaw_deg):
    p = np.zeros((len(yaw_deg), 24, 3))
    p[:, 0, 1] = np.radians(yaw_deg)
    return p


def _yaw_of(poses):
    q = axis_angle_to_quat(poses[:, 0])
    return np.degrees(2 * np.arctan2(q[:, 2], q[:, 0]))


def test_turn_limit_spreads_a_snap_turn_and_leaves_slow_turns_alone():
    yaw = np.concatenate([np.linspace(0, 30, 50), np.full(50, 170.0)])  # 140 degree snap at frame 50
    poses = _yaw_poses(yaw)
    out = limit_root_turn(poses, 20.0)
    assert max_turn_deg(poses) > 130 and max_turn_deg(out) <= 20.0 + 1e-6
    np.testing.assert_allclose(_yaw_of(out)[:40], yaw[:40], atol=1e-9)   # far from the snap: as sampled
    np.testing.assert_allclose(_yaw_of(out)[60:], yaw[60:], atol=1e-9)
    assert 80 < _yaw_of(out)[49:51].mean() < 120                        # the turn is centred on the snap
    np.testing.assert_array_equal(out[:, 1:], poses[:, 1:])             # only the pelvis changes
    flip = np.zeros((80, 24, 3))            # a sampled half turn with tilt, in one frame (seen on a real song)
    flip[:40, 0] = [0.056, -0.147, -0.522]
    flip[40:, 0] = [0.779, 2.927, -0.115]
    assert max_turn_deg(flip) > 170 and max_turn_deg(limit_root_turn(flip, 15.0)) <= 15.0 + 1e-6
    slow = _yaw_poses(np.linspace(0, 300, 100))
    np.testing.assert_array_equal(limit_root_turn(slow, 20.0), slow)    # bit for bit


def test_turn_limit_keeps_pinned_frames_exactly():
    yaw = np.concatenate([np.zeros(30), np.full(30, 150.0)])
    poses = _yaw_poses(yaw)
    pinned = np.zeros(60, bool)
    pinned[[28, 29, 31]] = True
    out = limit_root_turn(poses, 20.0, pinned)
    np.testing.assert_allclose(out[pinned, 0], poses[pinned, 0], atol=1e-12)
    free = np.ones(59, bool)
    free[[29, 30]] = False   # the snap between pinned frames 29 and 31 must happen at 30
    q = axis_angle_to_quat(out[:, 0])
    steps = np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(q[1:] * q[:-1], -1)), 0, 1)))
    assert steps[free].max() <= 20.0 + 1e-6


def _steps_deg(poses):
    q = axis_angle_to_quat(poses[:, 0])
    return np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(q[1:] * q[:-1], -1)), 0, 1)))


def test_turn_into_a_pinned_frame_is_limited_too():
    yaw = np.concatenate([np.zeros(10), np.full(20, 120.0)])     # a snap two frames before a key
    pinned = np.zeros(30, bool)
    pinned[12] = True
    out = limit_root_turn(_yaw_poses(yaw), 15.0, pinned)
    assert _steps_deg(out).max() <= 15.0 + 1e-6
    np.testing.assert_allclose(out[12, 0], _yaw_poses(yaw)[12, 0], atol=1e-12)


def test_turn_between_keys_goes_the_short_way():
    # keys at 162 and -162 degrees 15 frames apart; the model spun the long way (324 degrees) in 4
    # frames, which cannot fit 15 frames at 15 degrees a frame: the short way (36 degrees) is taken
    yaw = np.concatenate([np.full(20, 162.0), np.linspace(162.0, -162.0, 5)[1:-1] % 360, np.full(20, -162.0)])
    yaw = np.where(yaw > 180, yaw - 360, yaw)
    poses = _yaw_poses(yaw)
    pinned = np.zeros(len(yaw), bool)
    pinned[[12, 27]] = True
    out = limit_root_turn(poses, 15.0, pinned)
    assert _steps_deg(out).max() <= 15.0 + 1e-6
    np.testing.assert_allclose(out[pinned, 0], poses[pinned, 0], atol=1e-12)
    assert np.abs(np.diff(np.unwrap(np.radians(_yaw_of(out))))).sum() < np.radians(180)  # no spin (324)


def test_shipped_checkpoint_limits_pelvis_turns(tmp_path):
    lm = load_model(DEFAULT_CHECKPOINT)
    assert 0 < lm.cfg.max_root_turn <= 25
    m = generate_dance(_song(600, bpm=128, seed=3), seed=1)
    assert max_turn_deg(m.poses) <= lm.cfg.max_root_turn + 1e-3


def test_sampling_file_beside_the_weights_sets_the_defaults(tiny, tmp_path):
    """Sampling settings live in X.sampling.json: editing it changes the dance, never the weights,
    and a bad value is one line naming the file and the setting."""
    from magicdance_core.motion.pipeline import DancePipeline
    from magicdance_core.motion.sampling import save_sampling, sampling_path

    ck = tmp_path / "m.safetensors"
    ck.write_bytes(tiny.ckpt.read_bytes())
    weights = ck.read_bytes()
    song = _song(150)
    before = DancePipeline.from_pretrained(ck)(song, seed=1, cleanup="raw")
    save_sampling(sampling_path(ck), {"steps": 2, "smooth": 0.0, "eta": 0.0})
    pipe = DancePipeline.from_pretrained(ck)
    assert pipe.sampling["steps"] == 2 and pipe.sampling["eta"] == 0.0
    after = pipe(song, seed=1, cleanup="raw")
    assert after.meta["steps"] == 2 and after.meta["smooth"] == 0.0 and after.meta["eta"] == 0.0
    assert np.abs(after.poses - before.poses).max() > 1e-3
    assert ck.read_bytes() == weights
    per_call = pipe(song, seed=1, cleanup="raw", steps=3)        # a call argument wins over the file
    assert per_call.meta["steps"] == 3
    sampling_path(ck).write_text('{"format": "magicdance-sampling-1", "settings": {"eta": 7}}')
    with pytest.raises(BadInput, match=r"m.sampling.json: eta must be between 0 and 1, got 7"):
        DancePipeline.from_pretrained(ck)


# ---------------------------------------------------------------- beat sync
def _accented(T=300, period=15.0, offset=5.0, phase=None):
    """A body that swings its arms and rests every ``period`` frames, first rest at ``offset``
    (or at every whole number of ``phase``, a (T,) array)."""
    t = np.arange(T)
    if phase is None:
        phase = (t - offset) / period
    p = np.zeros((T, 24, 3))
    p[:, 16, 2] = 0.4 * (1 - np.cos(np.pi * phase))   # shoulders: still at whole phases only
    p[:, 17, 2] = -0.4 * (1 - np.cos(np.pi * phase))
    trans = np.zeros((T, 3))
    trans[:, 1] = 0.95
    return p, trans, np.ones((T, 4))


def test_beat_sync_moves_accents_onto_the_beats():
    from magicdance_core.body.fk import forward_kinematics
    from magicdance_core.motion.beatsync import accents, beat_sync

    poses, trans, contacts = _accented(T=400, period=20.0, offset=6.0)   # accents 6 frames off the beat
    j = forward_kinematics(poses, trans)
    acc = accents(j)
    beats_s = np.arange(0, 400, 20) / 30.0          # 90 BPM: beats at frames 0, 20, 40, ...
    assert len(acc) >= 15 and np.abs((acc % 20) - 6).max() <= 1
    p2, t2, c2 = beat_sync(poses, trans, contacts, j, beats_s)
    acc2 = accents(forward_kinematics(p2, t2))
    off = np.minimum(acc2 % 20, 20 - acc2 % 20)
    inner = (acc2 > 25) & (acc2 < 375)
    assert inner.sum() >= 15 and off[inner].max() <= 1
    assert p2.shape == poses.shape and c2.shape == contacts.shape


def test_beat_sync_keeps_pinned_frames_and_can_be_off():
    from magicdance_core.body.fk import forward_kinematics
    from magicdance_core.motion.beatsync import beat_sync

    poses, trans, contacts = _accented(offset=6.0)
    j = forward_kinematics(poses, trans)
    beats_s = np.arange(0, 300, 15) / 30.0
    pinned = np.zeros(300, bool)
    pinned[100:130] = True
    p2, t2, _ = beat_sync(poses, trans, contacts, j, beats_s, pinned=pinned)
    np.testing.assert_array_equal(p2[pinned], poses[pinned])
    np.testing.assert_array_equal(t2[pinned], trans[pinned])
    assert np.abs(p2[:90] - poses[:90]).max() > 1e-2
    p3, t3, c3 = beat_sync(poses, trans, contacts, j, beats_s, strength=0.0)
    assert p3 is poses and t3 is trans


def test_generate_dance_beat_sync_switch(tiny, tmp_path):
    ck = tmp_path / "m.safetensors"
    ck.write_bytes(tiny.ckpt.read_bytes())
    save_sampling(sampling_path(ck), {"beat_sync": 1.0})
    song = _song(300)
    song.beats_s = np.arange(0, 10, 0.5)
    on = generate_dance(song, seed=1, steps=3, checkpoint=ck)
    off = generate_dance(song, seed=1, steps=3, checkpoint=ck, beat_sync=False)
    assert on.meta["beat_sync"] == 1.0 and off.meta["beat_sync"] == 0.0
    assert np.abs(on.poses - off.poses).max() > 1e-3


def test_fast_songs_are_danced_half_time_on_the_beats_nearer_the_accents():
    from magicdance_core.motion.beatsync import beat_grid

    slow = np.arange(0, 300, 20.0)                                                 # 90 BPM: every beat
    assert np.array_equal(beat_grid(slow, np.arange(3, 300, 40)), slow)
    fast = np.arange(0, 300, 15.0)                                                 # 120 BPM: every other beat
    assert np.array_equal(beat_grid(fast, np.arange(17, 300, 30)), fast[1::2])     # accents near the odd ones
    assert np.array_equal(beat_grid(fast, np.arange(2, 300, 30)), fast[0::2])


def _irregular_dance(T=600, seed=3):
    """Arm swings whose rests come at irregular gaps of 12-75 frames (no tempo of their own)."""
    rng = np.random.default_rng(seed)
    rests = np.cumsum(rng.uniform(12, 75, 40))
    rests = np.concatenate([[-30.0], rests[rests < T + 80]])
    phase = np.interp(np.arange(T), rests, np.arange(len(rests), dtype=np.float64))
    return _accented(T=T, phase=phase)


def test_pulse_map_slows_into_grid_beats_and_keeps_them_in_place():
    from magicdance_core.motion.beatsync import pulse_map

    grid = np.array([10.0, 40.0, 70.0, 100.0])
    pinned = np.zeros(120, bool)
    pinned[75] = True
    u = pulse_map(120, grid, 0.5, pinned)
    np.testing.assert_array_equal(u[[10, 40, 70]], [10, 40, 70])                  # grid beats stay
    rate = np.diff(u)
    assert np.all(rate > 0)                                                       # never runs backwards
    assert rate[10] < 0.6 and rate[39] < 0.6 and 1.4 < rate[24] < 1.6             # slow at beats, fast between
    np.testing.assert_array_equal(u[:11], np.arange(11))                          # before the first beat
    np.testing.assert_array_equal(u[70:], np.arange(70, 120))                     # segment with a pinned frame
    np.testing.assert_array_equal(pulse_map(120, grid, 0.0), np.arange(120.0))
    gap = pulse_map(300, [0.0, 20.0, 40.0, 60.0, 280.0], 0.5)                    # beats stop for 7 s
    np.testing.assert_array_equal(gap[60:], np.arange(60.0, 300.0))               # the break is not one beat


def test_pulse_and_retiming_together_stay_within_the_playback_rate_cap():
    from magicdance_core.motion.beatsync import MAX_PLAYBACK_RATE, pulse_map

    T = 200
    grid = np.arange(10.0, 190.0, 20.0)
    under = np.interp(np.arange(T), [0, 100, 199], [0, 140, 199])      # retiming: 1.4x, then ~0.6x
    u = pulse_map(T, grid, 0.9, under=under)
    rate = np.diff(np.interp(u, np.arange(T), under))
    assert rate.max() <= MAX_PLAYBACK_RATE + 1e-6 and rate.min() >= 1 / MAX_PLAYBACK_RATE - 1e-6
    assert np.diff(pulse_map(T, grid, 0.9)).max() > 1.8                # uncapped without a retiming


def test_pulse_gives_an_irregular_dance_the_songs_tempo():
    from magicdance_core import metrics
    from magicdance_core.body.fk import forward_kinematics
    from magicdance_core.motion.beatsync import beat_sync

    poses, trans, contacts = _irregular_dance()
    j = forward_kinematics(poses, trans)
    for bpm in (90.0, 128.0):                       # every beat; every other beat above 106 BPM
        beats_s = np.arange(0.3, 20, 60.0 / bpm)
        assert not metrics.tempo_follows(bpm, metrics.movement_tempo(j))
        p0, t0, _ = beat_sync(poses, trans, contacts, j, beats_s, pulse=0.0)
        p1, t1, _ = beat_sync(poses, trans, contacts, j, beats_s, pulse=0.5)
        assert not metrics.tempo_follows(bpm, metrics.movement_tempo(forward_kinematics(p0, t0)))
        assert metrics.tempo_follows(bpm, metrics.movement_tempo(forward_kinematics(p1, t1)))


def test_pulse_keeps_pinned_frames_exactly():
    from magicdance_core.body.fk import forward_kinematics
    from magicdance_core.motion.beatsync import beat_sync

    poses, trans, contacts = _irregular_dance()
    j = forward_kinematics(poses, trans)
    pinned = np.zeros(len(poses), bool)
    pinned[[50, 51, 52, 300]] = True
    pinned[400:460] = True
    p1, t1, _ = beat_sync(poses, trans, contacts, j, np.arange(0.3, 20, 0.6), pulse=0.5, pinned=pinned)
    np.testing.assert_array_equal(p1[pinned], poses[pinned])
    np.testing.assert_array_equal(t1[pinned], trans[pinned])
    assert np.abs(p1[100:280] - poses[100:280]).max() > 1e-2


def test_beat_sync_with_repeated_or_too_few_beats(tiny, tmp_path):
    from magicdance_core.body.fk import forward_kinematics
    from magicdance_core.motion.beatsync import beat_sync

    poses, trans, contacts = _irregular_dance()
    j = forward_kinematics(poses, trans)
    p1, _, _ = beat_sync(poses, trans, contacts, j, np.full(6, 1.0), pulse=0.5)    # one beat, repeated
    np.testing.assert_array_equal(p1, poses)
    p2, _, _ = beat_sync(poses, trans, contacts, j, np.repeat(np.arange(0.3, 20, 0.6), 2), pulse=0.5)
    assert np.isfinite(p2).all() and np.abs(p2 - poses).max() > 1e-2              # doubled beats still sync
    ck = tmp_path / "m.safetensors"
    ck.write_bytes(tiny.ckpt.read_bytes())
    save_sampling(sampling_path(ck), {"beat_sync": 1.0})
    song = _song(120)
    song.beats_s = np.array([1.0])
    assert generate_dance(song, seed=0, steps=2, checkpoint=ck).meta["beat_sync"] == 0.0   # nothing synced


def test_beat_pulse_out_of_range_is_a_clear_error(tiny):
    song = _song(90)
    song.beats_s = np.arange(0, 3, 0.5)
    with pytest.raises(BadInput, match="beat.pulse"):
        generate_dance(song, seed=0, steps=2, checkpoint=tiny.ckpt, beat_pulse=1.5)


# ---------------------------------------------------------------- choreographer guide (SDEdit)
def test_style_guide_starts_from_the_choreographers_dance(tmp_path):
    from magicdance_core.motion.api import generate_dance as gen

    sys.path.insert(0, str(Path(__file__).parent))
    from test_motion import _write_wav

    _write_wav(tmp_path / "song.wav", seconds=8.0, bpm=110)
    song = str(tmp_path / "song.wav")
    choreo = gen(song, seed=3, style="ballet", generator="choreo").joints
    guided = gen(song, seed=3, style="ballet")
    alone = gen(song, seed=3, style="ballet", choreo_guide=0.0)
    assert guided.meta["choreo_guide"] == load_model(DEFAULT_CHECKPOINT).cfg.choreo_guide > 0
    assert alone.meta["choreo_guide"] == 0.0
    rel = lambda j: j - j[:, :1]  # noqa: E731  (pose, wherever the dancer is)
    d_guided = np.linalg.norm(rel(guided.joints) - rel(choreo), axis=-1).mean()
    d_alone = np.linalg.norm(rel(alone.joints) - rel(choreo), axis=-1).mean()
    assert d_guided < 0.7 * d_alone, (d_guided, d_alone)
    assert np.abs(guided.joints - choreo).max() > 1e-3          # redrawn, not copied
    with pytest.raises(BadInput, match="choreo.guide"):
        gen(song, seed=3, style="ballet", choreo_guide=1.5)
