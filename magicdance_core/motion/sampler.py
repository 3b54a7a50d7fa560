"""DDIM sampling of whole songs with EDGE's long-form scheme and inpainting.

We write DDIM here (about forty lines) instead of using diffusers' DDIMScheduler:
importing diffusers costs several seconds of CPU on this machine, more than the
whole sampling budget for a 30 s dance, and the few formulas below are exactly
EDGE's (cosine schedule, 1000 steps, x0 prediction clipped to [-1, 1],
``linspace`` step spacing, a guidance weight ramped over the first half).

Whole songs: the song is cut into 5 s windows overlapping by half. All windows
are denoised together as one batch; after every step the first half of each
window is overwritten with the second half of the previous one (EDGE's
long-form consistency), so neighbours agree while they are formed. The final
windows are cross-faded over the overlaps. Short songs are padded to one
window and cut back; nothing is sampled at random from the song.

Inpainting: known channels (a mask over the 151-number layout) are replaced by
their noised version at every step (the noise level of the next step), so the
model shapes the free channels around them; the final prediction is returned as
it is, and the caller writes the known values (blending into them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch

from ..progress import ProgressFn, null_progress
from .model import DanceDenoiser
from .representation import WINDOW


@dataclass
class SamplerSettings:
    steps: int = 20
    eta: float = 1.0          # EDGE samples with eta = 1
    guidance: float = 2.0     # EDGE's guidance weight
    ramp_guidance: bool = True
    style_guidance: float = 0.0   # + s * (cond - cond without the style), only when a style is given
    chunk: int = 48           # windows per model call (memory bound for 10 min songs)


def window_starts(num_frames: int, window: int = WINDOW) -> list:
    """Start frames of half-overlapping windows covering ``num_frames`` (>= 1 window)."""
    half = window // 2
    if num_frames <= window:
        return [0]
    n = int(math.ceil((num_frames - window) / half)) + 1
    return [i * half for i in range(n)]


def split_windows(arr: np.ndarray, window: int = WINDOW, pad: Optional[float] = None) -> np.ndarray:
    """(T,C) -> (B,window,C), padding past the end by repeating the last frame (or with ``pad``)."""
    starts = window_starts(len(arr), window)
    total = starts[-1] + window
    if total > len(arr):
        tail = np.repeat(arr[-1:], total - len(arr), axis=0)
        if pad is not None:
            tail = np.full_like(tail, pad)
        arr = np.concatenate([arr, tail])
    return np.stack([arr[s:s + window] for s in starts])


def join_windows(windows: np.ndarray, num_frames: int) -> np.ndarray:
    """(B,window,C) -> (num_frames,C), linear cross-fade over each half overlap."""
    B, W, C = windows.shape
    half = W // 2
    if B == 1:
        return windows[0, :num_frames].copy()
    total = half * (B + 1)
    acc = np.zeros((total, C), dtype=np.float64)
    wsum = np.zeros((total, 1), dtype=np.float64)
    ramp = (np.arange(half) + 0.5) / half
    for b in range(B):
        w = np.ones(W)
        if b > 0:
            w[:half] = ramp
        if b < B - 1:
            w[half:] = ramp[::-1]
        acc[b * half:b * half + W] += windows[b] * w[:, None]
        wsum[b * half:b * half + W] += w[:, None]
    return (acc / wsum)[:num_frames]


class DDIMSampler:
    def __init__(self, model: DanceDenoiser, settings: Optional[SamplerSettings] = None) -> None:
        self.model = model
        self.settings = settings or SamplerSettings()
        self.alphas_cumprod = model.alphas_cumprod  # the schedule the model was built with

    def time_pairs(self, steps: int, start: Optional[int] = None):
        T = self.model.cfg.n_timestep
        top = T - 1 if start is None else int(start)
        times = torch.linspace(-1, top, steps=steps + 1).int().tolist()[::-1]
        return list(zip(times[:-1], times[1:]))

    def q_sample(self, x0, t: int, noise):
        a = self.alphas_cumprod[t]
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def _predict(self, x, t: int, cond, uncond, weight: float, plain=None, style_weight: float = 0.0) -> torch.Tensor:
        chunk = max(1, self.settings.chunk)
        outs = []
        for i in range(0, x.shape[0], chunk):
            sl = slice(i, i + chunk)
            c = type(cond)(cond.tokens[sl], cond.hidden[sl])
            u = type(uncond)(uncond.tokens[sl], uncond.hidden[sl])
            times = torch.full((x[sl].shape[0],), t, dtype=torch.long)
            n = type(plain)(plain.tokens[sl], plain.hidden[sl]) if plain is not None else None
            outs.append(self.model.guided(x[sl], times, c, u, weight, plain=n, style_weight=style_weight))
        return torch.cat(outs).clamp(-1.0, 1.0)

    @torch.no_grad()
    def sample(self, music: torch.Tensor, *, style: Optional[torch.Tensor] = None,
               generator: Optional[torch.Generator] = None,
               known: Optional[torch.Tensor] = None, known_mask: Optional[torch.Tensor] = None,
               chain: bool = True, init: Optional[torch.Tensor] = None, init_strength: float = 1.0,
               guide: Optional[Callable[[torch.Tensor, int], torch.Tensor]] = None,
               progress: Optional[ProgressFn] = None) -> torch.Tensor:
        """Denoise windows (B,W,151) in normalised units conditioned on music (B,W,F).

        ``chain``: consecutive windows overlap by half (long-form). ``known`` /
        ``known_mask``: inpainting targets in normalised units, (B,W,151). ``init``
        (B,W,151) with ``init_strength`` s < 1: SDEdit (Meng et al. 2022) — start from
        ``init`` noised to step s·(T-1) instead of pure noise, so the result keeps
        ``init``'s coarse structure (its timing, its style) and the model redraws the rest.
        ``guide``: (x0, t) -> x0 applied to every step's clean-motion estimate before the next noisy
        sample is built from it (beat_guide.BeatGuide).
        """
        progress = progress or null_progress
        st = self.settings
        model = self.model
        model.eval()
        B, W = music.shape[0], music.shape[1]
        shape = (B, W, model.cfg.nfeats)
        half = W // 2
        cond = model.encode(music, style)
        uncond = model.null_condition(B)
        plain = model.encode(music, None) if (style is not None and st.style_guidance > 0 and model.cfg.num_styles) else None
        sdedit = init is not None and init_strength < 1.0
        start = int(round(max(0.0, init_strength) * (model.cfg.n_timestep - 1))) if sdedit else None
        pairs = self.time_pairs(st.steps, start)
        if st.ramp_guidance and not sdedit:
            weights = np.clip(np.linspace(0, st.guidance * 2, len(pairs)), None, st.guidance)
        else:
            weights = np.full(len(pairs), st.guidance)
        x = torch.randn(shape, generator=generator)
        if sdedit:
            x = self.q_sample(init.to(x.dtype), start, x)
        if chain and B > 1:
            x[1:, :half] = x[:-1, half:]
        mask = known_mask.to(x.dtype) if known_mask is not None else None
        for k, ((t, t_next), w) in enumerate(zip(pairs, weights)):
            progress("motion", k / len(pairs), f"denoising step {k + 1}/{len(pairs)}")
            x0 = self._predict(x, t, cond, uncond, float(w), plain, st.style_guidance * float(w) / max(st.guidance, 1e-6))
            if guide is not None and t_next >= 0:
                # never the last step: what it returns is the dance, and that stays the network's
                x0 = guide(x0, t)
            if t_next < 0:
                x = x0
            else:
                a, a_next = self.alphas_cumprod[t], self.alphas_cumprod[t_next]
                eps = (x / a.sqrt() - x0) / (1.0 / a - 1).sqrt()
                sigma = st.eta * ((1 - a / a_next) * (1 - a_next) / (1 - a)).sqrt()
                c = (1 - a_next - sigma ** 2).clamp(min=0).sqrt()
                x = x0 * a_next.sqrt() + c * eps + sigma * torch.randn(shape, generator=generator)
            if mask is not None and t_next >= 0:
                # The last prediction is returned as the model made it, known numbers included:
                # the caller hands each one over to its given value at the dance's own pace
                # (constraints.apply); written here, the frames beside it would jump to it.
                target = self.q_sample(known, t_next, torch.randn(shape, generator=generator))
                x = mask * target + (1 - mask) * x
            if chain and B > 1 and t_next >= 0:
                x[1:, :half] = x[:-1, half:]
        progress("motion", 1.0, "denoised")
        return x
