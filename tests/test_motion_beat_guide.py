"""Beat guidance (motion/beat_guide.py): the sampler steers the dance onto the beats while it samples."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from magicdance_core import metrics
from magicdance_core.motion.beat_guide import BeatGuide, beat_grid_frames, beat_template, steerable_channels
from magicdance_core.motion.pipeline import DancePipeline
from magicdance_core.motion.representation import ROOT_SLICE, joint_channels

sys.path.insert(0, str(Path(__file__).parent))
from test_motion import _write_wav  # noqa: E402


@pytest.fixture(scope="module")
def click_song(tmp_path_factory):
    p = tmp_path_factory.mktemp("guide") / "click.wav"
    _write_wav(p, seconds=12.0, bpm=100)
    return p


def test_template_is_one_on_the_grid_minus_one_between_and_silent_far_from_beats():
    beats = np.arange(1.0, 6.0, 0.5)                      # 120 BPM from 1 s to 5.5 s
    grid = beat_grid_frames(beats)
    assert np.allclose(grid, beats * 30)                   # every beat at 120 BPM
    w = beat_template(grid, 300)
    assert np.allclose(w[[30, 45, 60]], 1.0) and np.allclose(w[[38, 53]], -1.0, atol=0.03)
    assert np.all(w[250:] == 0)                            # > 2 grid steps after the last beat: no guidance


def test_fast_songs_get_every_other_beat_on_the_downbeats():
    beats = np.arange(0.0, 8.0, 60 / 180)                  # 180 BPM
    down = beats[1::4]                                     # bars start on the second beat
    grid = beat_grid_frames(beats, down)
    assert np.allclose(grid, beats[1::2] * 30)
    assert len(beat_grid_frames([1.0])) == 1 and not beat_template(beat_grid_frames([1.0]), 60).any()


def test_guide_step_lowers_the_loss_and_leaves_legs_floor_path_and_pins_alone(click_song):
    from magicdance_core.motion.representation import motion_to_features

    pipe = DancePipeline.from_pretrained()
    lm = pipe.denoiser
    dance = pipe(click_song, seed=3, cleanup="raw", beat_guidance=0.0)        # the network's own dance
    x0 = torch.from_numpy(np.clip(lm.normalizer.normalize(motion_to_features(dance)), -1, 1))
    x0 = torch.stack([x0[:150], x0[150:300]])
    w = torch.from_numpy(np.stack([beat_template(np.arange(0, 150, 15.0), 150)] * 2))
    pins = torch.zeros(2, 150, 151)
    pins[:, 40:50, joint_channels("left_wrist")] = 1
    free = torch.from_numpy(steerable_channels()).view(1, 1, -1) * (1 - pins)
    guide = BeatGuide(lm.normalizer, w, 0.05, free)
    before = guide.loss(x0)
    x = x0
    for _ in range(5):
        x = guide(x, t=999)
    assert (guide.loss(x) < before).all()
    moved = (x - x0).abs().amax(dim=(0, 1))
    assert moved[joint_channels("spine3")].max() > 1e-3                       # the upper body is steered
    for j in ("left_hip", "right_knee", "left_ankle", "right_foot"):
        assert moved[joint_channels(j)].max() == 0                            # the legs are the network's
    assert moved[ROOT_SLICE.start] == 0 and moved[ROOT_SLICE.start + 2] == 0   # so is the floor path
    assert torch.equal(x[:, 40:50, joint_channels("left_wrist")], x0[:, 40:50, joint_channels("left_wrist")])
    # the step fades with the noise level, (t/999)^2: a low-noise step is a small push
    big = (guide(x0, t=999) - x0).pow(2).mean().sqrt()
    small = (guide(x0, t=199) - x0).pow(2).mean().sqrt()
    assert 0 < small < 0.1 * big
    assert torch.equal(BeatGuide(lm.normalizer, w, 0.05, free, min_t=300)(x0, t=199), x0)   # below min_t: none


def test_guided_dance_lands_on_the_beats_and_the_network_alone_does_not(click_song):
    """What a user hears and sees: with beat guidance (the shipped default, no retiming) the
    body slows on the beats — beat alignment well above the same dance scored half a beat off;
    the network without it scores about the same on and off the beat."""
    from magicdance_core.audio.analysis import analyze_music

    pipe = DancePipeline.from_pretrained()
    a = analyze_music(click_song)
    beats = np.asarray(a.beats_s)
    half = (beats[:-1] + beats[1:]) / 2
    on, off = [], []
    for guidance in (pipe.sampling["beat_guidance"], 0.0):
        scores = []
        for seed in (0, 1):
            m = pipe(a, seed=seed, beat_guidance=guidance)
            assert m.meta["beat_sync"] == 0.0 and m.meta["beat_guidance"] == guidance   # no retiming ran
            scores.append((metrics.beat_align_bailando(m.joints, beats), metrics.beat_align_bailando(m.joints, half)))
        on.append(np.mean([s[0] for s in scores]))
        off.append(np.mean([s[1] for s in scores]))
    assert on[0] > 0.35 and on[0] > off[0] + 0.1          # guided: on the beat
    assert on[0] > on[1] + 0.1                            # and far more than the network alone
    assert abs(on[1] - off[1]) < 0.15                     # which does not hear the beat


def test_few_steps_are_not_torn_apart_and_bad_beats_do_not_crash(click_song):
    """At 2 DDIM steps the guide's step is not enlarged (it once was 5x: 2 m/s, hundreds of pops);
    repeated or non-finite beat times (a hand-edited music.json) are cleaned, not a crash."""
    import dataclasses

    from magicdance_core.audio.analysis import analyze_music

    pipe = DancePipeline.from_pretrained()
    a = analyze_music(click_song)

    def body_speed(m):
        j = m.joints
        return np.linalg.norm(np.diff(j - j[:, :1], axis=0), axis=-1).mean() * 30.0

    guided = pipe(a, seed=0, steps=2)
    alone = pipe(a, seed=0, steps=2, beat_guidance=0.0)
    assert body_speed(guided) < 2.0 * body_speed(alone) + 0.1
    step = np.linalg.norm(np.diff(guided.joints, axis=0), axis=2).max(axis=1)
    assert (step > 0.25).mean() < 0.01                                   # under 1 % of frames pop
    messy = dataclasses.replace(a, beats_s=np.concatenate([a.beats_s, a.beats_s[:3], [np.nan]]))
    m = pipe(messy, seed=0, steps=3)
    assert np.isfinite(m.joints).all() and m.meta["beat_guidance"] > 0
    few = dataclasses.replace(a, beats_s=np.asarray([1.0]), downbeats_s=np.zeros(0))
    assert pipe(few, seed=0, steps=3).meta["beat_guidance"] == 0.0      # no beat to follow: no guide


def test_padding_past_the_song_and_beatless_windows_are_not_steered(click_song):
    from magicdance_core.audio.analysis import analyze_music

    pipe = DancePipeline.from_pretrained()
    a = analyze_music(click_song)
    T = len(a.edge35)                                                     # 12 s: windows pad past the end
    guide = pipe._beat_guide(a, 0.5, T, None)
    starts = list(range(0, T, 75))[: guide.template.shape[0]]
    last = starts[-1]
    assert guide.valid[-1, T - last:].sum() == 0 and guide.template[-1, T - last:].abs().sum() == 0
    assert guide.valid[-1, : T - last].min() == 1
    # a window whose template is all zero gets no step even when joints are over the speed cap
    x0 = torch.zeros(1, 150, 151)
    x0[0, ::2, 7:13] = 0.9                                                # a pelvis flipping every frame
    quiet = BeatGuide(guide.normalizer, torch.zeros(1, 150), 0.5, None)
    assert torch.equal(quiet(x0, t=999), x0)


def test_a_styled_dance_from_the_choreographer_keeps_its_late_steps_the_networks(click_song):
    """With a style the sampling starts from the choreographer's dance, already on the beat: the
    guide leaves the low-noise steps alone there (guided, every style came out energetic); a
    dance from noise is guided on every step but the last."""
    from magicdance_core.audio.analysis import analyze_music
    from magicdance_core.motion.beat_guide import MIN_T_FROM_CHOREO

    pipe = DancePipeline.from_pretrained()
    a = analyze_music(click_song)
    T = len(a.edge35)
    assert pipe._beat_guide(a, 0.5, T, None).min_t == 0
    styled = pipe._beat_guide(a, 0.5, T, None, from_choreo=True)
    assert styled.min_t == MIN_T_FROM_CHOREO == 300
    x0 = 0.3 * torch.randn(styled.template.shape[0], 150, 151, generator=torch.Generator().manual_seed(0))
    assert torch.equal(styled(x0, t=199), x0) and not torch.equal(styled(x0, t=399), x0)
