"""Metrical phase music input (beat and bar phase from the analysis), the dataset's phase
column, fine-tuning the shipped kind of checkpoint onto it, and the speed-curve loss."""

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from magicdance_core.errors import BadInput
from magicdance_core.motion.api import generate_dance, load_model
from magicdance_core.motion.model import DenoiserConfig
from magicdance_core.motion.music_input import analysis_features, metrical_phase
from magicdance_core.motion.sampler import split_windows
from magicdance_core.motion.kinematics import speed_curve as _speed_curve
from magicdance_core.motion.train import TrainConfig, TrainSettings, load_dataset, train

sys.path.insert(0, str(Path(__file__).parent))
from motion_helpers import synthetic_windows, write_dataset  # noqa: E402


def _phase_of(p, col):
    return np.mod(np.arctan2(p[:, col], p[:, col + 1]) / (2 * np.pi), 1.0)


def test_phase_is_zero_on_every_beat_and_downbeat_and_ramps_between():
    beats = 0.25 + 0.5 * np.arange(9)        # 120 BPM from 0.25 s: frames 7.5, 22.5, ...
    down = beats[::4]
    p = metrical_phase(beats, down, 150)
    assert p.shape == (150, 4)
    beat_ph, bar_ph = _phase_of(p, 0), _phase_of(p, 2)
    np.testing.assert_allclose(beat_ph[[0, 15, 30, 135]], [0.5, 0.5, 0.5, 0.5], atol=1e-6)   # half-way frames
    np.testing.assert_allclose(bar_ph[67], (67 - 7.5) / 60.0 % 1.0, atol=1e-6)
    assert beat_ph[23] < 0.05 and beat_ph[22] > 0.95         # the wrap lands on the beat at 22.5
    np.testing.assert_allclose(np.hypot(p[:, 0], p[:, 1]), 1.0, atol=1e-6)
    # after the last beat (4.25 s, frame 127.5) the grid goes on at the same spacing
    assert _phase_of(p, 0)[149] == pytest.approx((149 - 7.5) / 15 % 1.0, abs=1e-6)
    # shifting the beats by half a beat turns the phase by half a turn
    q = metrical_phase(beats + 0.25, down + 0.25, 150)
    np.testing.assert_allclose(np.mod(_phase_of(q, 0) + 0.5, 1.0), beat_ph, atol=1e-6)


def test_phase_without_downbeats_and_without_beats():
    beats = 0.5 * np.arange(10)
    p = metrical_phase(beats, [], 150)
    np.testing.assert_allclose(_phase_of(p, 2)[::60], 0.0, atol=1e-6)   # a bar of 4 beats assumed
    assert not metrical_phase([1.0], [1.0], 90).any()                    # one beat: no tempo, all zero
    assert not metrical_phase(None, None, 90).any()


def test_song_features_equal_window_features_so_overlapping_windows_agree():
    rng = np.random.default_rng(0)
    edge35 = rng.normal(0, 1, (600, 35)).astype(np.float32)
    a = types.SimpleNamespace(edge35=edge35, beats_s=0.1 + 0.47 * np.arange(42), downbeats_s=0.1 + 1.88 * np.arange(11), fps=30)
    f = analysis_features("edge35+phase", a)
    assert f.shape == (600, 39)
    np.testing.assert_array_equal(f[:, :35], edge35)
    w = split_windows(f, 150)
    starts = [0, 75, 150]      # overlapping windows hold the same frames' values
    np.testing.assert_allclose(w[1, :75], w[0, 75:], atol=1e-6)
    assert len(starts) and w.shape[-1] == 39


def test_speed_curve_sees_rhythm_not_jitter():
    t = torch.arange(150, dtype=torch.float32) / 30.0
    j = torch.zeros(1, 150, 24, 3)
    j[..., 0] = 0.2 * torch.sin(2 * torch.pi * 2.0 * t)[None, :, None]     # a 2 Hz swing
    s = _speed_curve(j)
    assert s.shape == (1, 149)
    g = torch.Generator().manual_seed(0)
    noisy = j + 0.003 * torch.randn(j.shape, generator=g)
    assert (_speed_curve(noisy) - s).abs().mean() < 0.1 * s.mean()           # jitter barely shows
    shifted = torch.roll(j, 4, dims=1)       # half a speed cycle off (speed peaks twice a swing)
    assert (_speed_curve(shifted) - s).abs().mean() > 0.5 * s.mean()         # a timing change shows


def _phase_dataset(folder, n=16):
    """The synthetic windows plus the phase of their beat-like feature's peaks."""
    folder = write_dataset(folder, n=n, shards=1)
    with np.load(folder / "shard_000.npz") as z:
        d = {k: z[k] for k in z.files}
    phase = np.stack([metrical_phase(np.flatnonzero(m[:, 34]) / 30.0, np.flatnonzero(m[:, 34])[::4] / 30.0, 150)
                      for m in d["music"]])
    np.savez(folder / "shard_000.npz", **d, phase=phase)
    return folder


def test_fine_tune_onto_phase_starts_from_the_same_dance_then_learns_it(tmp_path):
    data = _phase_dataset(tmp_path / "data")
    assert load_dataset(data).phase.shape == (16, 150, 4)
    base = DenoiserConfig(name="tiny", latent_dim=64, ff_size=128, num_layers=2, num_heads=4, frames_per_token=2)
    settings = TrainSettings(steps=6, batch_size=8, save_every=6, warmup=2, lr=1e-3, threads=1)
    train(data, TrainConfig(base, settings), tmp_path / "base")
    ckpt = tmp_path / "base" / "model.safetensors"
    phase_cfg = DenoiserConfig(**{**base.__dict__, "music_feature": "edge35+phase", "cond_feature_dim": 39})
    zero = TrainSettings(**{**settings.__dict__, "steps": 0, "init_from": str(ckpt)})
    train(data, TrainConfig(phase_cfg, zero), tmp_path / "zero")
    grown = load_model(tmp_path / "zero" / "model.safetensors")
    assert grown.cfg.music_feature == "edge35+phase" and len(grown.music_mean) == 39
    rng = np.random.default_rng(1)
    song = types.SimpleNamespace(edge35=rng.normal(0, 0.2, (240, 35)).astype(np.float32), source_sha256="s",
                                 duration_s=8.0, beats_s=0.5 * np.arange(16), downbeats_s=2.0 * np.arange(4), fps=30)
    a = generate_dance(song, seed=2, steps=4, checkpoint=ckpt, foot_fix=False, beat_sync=False)
    b = generate_dance(song, seed=2, steps=4, checkpoint=tmp_path / "zero" / "model.safetensors", foot_fix=False,
                       beat_sync=False)
    np.testing.assert_allclose(b.joints, a.joints, atol=1e-4)        # new columns start at zero
    more = TrainSettings(**{**zero.__dict__, "steps": 4, "kinematic_loss": 30.0})
    summary = train(data, TrainConfig(phase_cfg, more), tmp_path / "more")
    assert summary["steps"] == 4
    w = load_model(tmp_path / "more" / "model.safetensors").model.state_dict()["cond_projection.weight"]
    assert w[:, 35:39].abs().max() > 0 and w[:, 74:78].abs().max() > 0   # both packed frames use the phase
    c = generate_dance(song, seed=2, steps=4, checkpoint=tmp_path / "more" / "model.safetensors", beat_sync=False)
    assert c.num_frames == 240 and np.isfinite(c.joints).all()
    # the phase comes from the song's beats: other beats, another dance
    off = types.SimpleNamespace(**{**song.__dict__, "beats_s": song.beats_s + 0.25, "downbeats_s": song.downbeats_s + 0.25})
    d = generate_dance(off, seed=2, steps=4, checkpoint=tmp_path / "more" / "model.safetensors", beat_sync=False)
    assert np.abs(d.joints - c.joints).max() > 1e-4


def test_phase_model_needs_a_dataset_with_phase(tmp_path):
    data = write_dataset(tmp_path / "data", n=8, shards=1)      # older shards: no phase column
    cfg = DenoiserConfig(name="tiny", latent_dim=32, ff_size=64, num_layers=1, num_heads=4, frames_per_token=2,
                         music_feature="edge35+phase", cond_feature_dim=39)
    with pytest.raises(BadInput, match="no 'phase'.*dataset build"):
        train(data, TrainConfig(cfg, TrainSettings(steps=1, batch_size=4, threads=1)), tmp_path / "run")
