"""Beat guidance: the sampler steers each denoising step's clean-motion estimate so the body
slows on the song's beats and moves between them.

A dance's kinematic beats are the dips of its joint-speed curve (Bailando, Li et al. 2022;
``metrics.beats``). The network alone does not place them on the song's beats (it scores the
same against beats shifted by half a beat, benchmarks/motion/RESULTS.md), so at every DDIM step
the predicted x0 is moved one small gradient step down the loss

    L = sum_t s(t) w(t) / sum_t s(t)

with ``s`` the differentiable speed curve (``kinematics.speed_curve``: FK, smoothed) and
``w(t) = cos(2 pi phase(t))`` the beat template (1 on a grid beat, -1 half way to the next).
Dividing by the total speed makes L blind to how much the body moves: only *when* it moves.
Only the upper body, the pelvis's turn and its height are steered (``steerable_channels``).
The next step's noise is then built around the guided x0, so the network redraws a dance whose
structure already has the beat in it — unlike beat sync (``beatsync.py``), which retimes a
finished dance and makes any motion, a rhythmless one too, mark the beats. This is
reconstruction guidance on x0 (as in diffusion posterior sampling / universal guidance), done
without back-propagating through the network: the loss reads x0 only, one FK pass per step.

The grid is every beat up to ``every_beat_max_bpm`` and every other beat above (the parity of
the downbeats): the metric's speed curve is smoothed over ~5 frames, so faster single-beat dips
would not show, and a dancer marks half time at such tempi. Frames more than one grid step
outside the grid, or in a gap longer than 2.5 grid steps (breaks, the intro before the first beat),
get w = 0, and a window with no beat in it is not steered at all. Animator-pinned
numbers are not touched either (their gradient is masked out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from .kinematics import joint_positions, smooth_time, speed_curve
from .representation import LOWER_BODY, Normalizer

EVERY_BEAT_MAX_BPM = 130.0
# 4.5 m/s: joints faster than this are pulled back; without it the guide made hand flicks
# (158 one-frame pops in the 15 tune songs against 3 unguided; with it 26, RESULTS.md)
CAP_M_PER_FRAME = 0.15
# A sampling that starts from the choreographer's dance (a style with choreo_guide > 0: SDEdit at
# t = 499) is on the beat already: there only the steps at t >= 300 are guided (pipeline._beat_guide)
MIN_T_FROM_CHOREO = 300


def beat_grid_frames(beats_s, downbeats_s=None, fps: float = 30.0,
                     every_beat_max_bpm: Optional[float] = None) -> np.ndarray:
    """Grid beats (frames, float): every beat, or every other beat above ``every_beat_max_bpm``,
    of the parity nearest the downbeats (else from the first). Quarter time was tried and scored
    lower (RESULTS.md)."""
    top = EVERY_BEAT_MAX_BPM if every_beat_max_bpm is None else float(every_beat_max_bpm)
    b = np.sort(np.asarray(beats_s if beats_s is not None else [], np.float64)) * fps
    if len(b) < 2:
        return b
    bpm = 60.0 * fps / float(np.median(np.diff(b)))
    if bpm <= top:
        return b
    start = 0
    d = np.asarray(downbeats_s if downbeats_s is not None else [], np.float64) * fps
    if len(d):
        idx = np.abs(b[:, None] - d[None, :]).argmin(axis=0)   # the beat nearest each downbeat
        start = int(np.bincount(idx % 2, minlength=2).argmax())
    return b[start::2]


def beat_template(grid_frames, n_frames: int) -> np.ndarray:
    """(n_frames,) cos(2 pi phase) of each frame in the grid (1 on a grid beat), 0 more than one
    grid step before the first or after the last grid beat and in gaps longer than 2.5 grid steps
    (a break: no beat to follow there)."""
    g = np.asarray(grid_frames, np.float64)
    out = np.zeros(n_frames, np.float32)
    if len(g) < 2:
        return out
    step = float(np.median(np.diff(g)))
    t = np.arange(n_frames, dtype=np.float64)
    # beats extrapolated by one grid step at both ends, so the frames just outside have a phase
    ext = np.concatenate([[g[0] - step], g, [g[-1] + step]])
    count = np.interp(t, ext, np.arange(len(ext), dtype=np.float64))
    phase = count - np.floor(count)
    gaps = np.diff(ext)
    k = np.clip(np.searchsorted(ext, t) - 1, 0, len(gaps) - 1)
    # inside the (extended) grid and not in a break; such a frame is within 1.25 steps of a beat
    ok = (gaps[k] <= 2.5 * step) & (t >= ext[0]) & (t <= ext[-1])
    # a plain cosine: a narrower (von Mises) dip scored worse on the tune songs (RESULTS.md)
    out[ok] = np.cos(2 * np.pi * phase[ok])
    return out


def steerable_channels(edge_frame: bool = False) -> np.ndarray:
    """(151,) 1 for the numbers the guide may move: not the legs' rotations, not the pelvis's
    position on the floor (x, z; x, y in EDGE's Z-up frame). The network keeps the steps and
    the travel, so planted feet stay planted; the guide times the upper body, the pelvis's
    turn and its height (the bounce). Steering every number instead scored lower on the tune
    songs and slid the feet more (benchmarks/motion/RESULTS.md)."""
    from .representation import FRAME_DIM, ROOT_SLICE, joint_channels

    m = np.ones(FRAME_DIM, np.float32)
    for name in LOWER_BODY:
        m[joint_channels(name)] = 0.0
    floor = (0, 1) if edge_frame else (0, 2)
    m[[ROOT_SLICE.start + a for a in floor]] = 0.0
    return m


@dataclass
class BeatGuide:
    """``x0 = guide(x0)`` inside the sampler; ``template`` (B,W) per window, ``free`` (B,W,151)
    1 where the numbers may move (None: all)."""
    normalizer: Normalizer
    template: torch.Tensor
    weight: float
    free: Optional[torch.Tensor] = None
    smooth: float = 3.0      # frames: the step is smoothed in time, a change of timing, not jitter
    # Steps at diffusion time >= min_t (of 1000) are guided; the sampler never guides the last
    # step (what it returns stays the network's). With the fade below the late steps get only a
    # small push (0.02-0.05 RMS at t = 199-299), and that is where the timing sets: guiding them
    # too (min_t 0 instead of 300) raised the tune songs' BA 0.502 -> 0.591 and the worst margin over
    # the half-beat score +0.058 -> +0.089, with half the pops (1.0 -> 0.5 per 1000 frames) at the
    # same body speed and foot skate (RESULTS.md). Without the fade (a constant step) guiding the
    # low-noise steps made the motion 2-5x faster, which is why min_t was 300 until then.
    min_t: int = 0
    # The step shrinks with the noise level, (t / 999) ** fade: strongest while the dance's shape
    # forms, fading as the network settles the detail (tune songs, fade 2 at weight 0.5 against a
    # constant 0.3: one-frame pops 34 -> 14, body speed 0.51 -> 0.45 m/s, worst margin +0.051 -> +0.058).
    fade: float = 2.0

    cap: float = CAP_M_PER_FRAME
    cap_weight: float = 100.0
    valid: Optional[torch.Tensor] = None   # (B,W) 1 on the song's frames, 0 on padding past its end

    def loss(self, x0: torch.Tensor) -> torch.Tensor:
        """(B,) the loss of the module doc (lower: speed dips nearer the beats, no joint too fast)."""
        j = joint_positions(self.normalizer.unnormalize(x0, clip=False))
        s = speed_curve(j)
        n = s.shape[1]
        w = self.template[:, :n].to(s.dtype)
        m = torch.ones_like(s) if self.valid is None else (self.valid[:, 1:n + 1] * self.valid[:, :n]).to(s.dtype)
        loss = (s * w * m).sum(dim=1) / ((s * m).sum(dim=1) + 1e-8)
        if self.cap_weight > 0:
            v = (j[:, 1:] - j[:, :-1]).norm(dim=-1)            # (B,T-1,24) per joint, unsmoothed
            over = ((v - self.cap).clamp(min=0) / self.cap).pow(2) * m[..., None]
            loss = loss + self.cap_weight * over.mean(dim=(1, 2))
        return loss

    def __call__(self, x0: torch.Tensor, t: int = 0) -> torch.Tensor:
        if not self.weight > 0 or t < self.min_t:
            return x0
        x0 = x0.detach()
        with torch.enable_grad():
            x = x0.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(self.loss(x).sum(), x)
        g = smooth_time(g, self.smooth)
        if self.free is not None:
            g = g * self.free.to(g.dtype)
        # a step of RMS ``weight`` * (t/999)^fade (normalised units) per window, whatever the loss's
        # scale; a window with no beat in it (intro, break) is not steered at all
        g = g / (g.pow(2).mean(dim=(1, 2), keepdim=True).sqrt() + 1e-12)
        g = g * (self.template.abs().amax(dim=1) > 0).to(g.dtype).view(-1, 1, 1)
        step = self.weight * (max(float(t), 0.0) / 999.0) ** self.fade
        return (x0 - step * g).clamp(-1.0, 1.0)

