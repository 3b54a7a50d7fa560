"""The diffusion noise schedule shared by the model, the sampler and training."""

from __future__ import annotations

import math

import torch


def cosine_alphas_cumprod(n_timestep: int = 1000, s: float = 0.008) -> torch.Tensor:
    """EDGE's (Nichol & Dhariwal's) cosine schedule, betas clipped at 0.999."""
    steps = torch.arange(n_timestep + 1, dtype=torch.float64) / n_timestep + s
    f = torch.cos(steps / (1 + s) * math.pi / 2) ** 2
    f = f / f[0]
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cumprod(1.0 - betas, dim=0)


def skip_coefficients(alpha_bar: torch.Tensor, sigma_data: float):
    """EDM's preconditioning (Karras et al. 2022) written for a variance-preserving x_t.

    With x_t = sqrt(a)·x0 + sqrt(1-a)·eps the denoiser sees ``c_in·x_t`` (unit
    variance for data of std ``sigma_data``) and returns ``c_skip·x_t + c_out·F``:
    at low noise the output is mostly x_t itself, so the network only has to
    predict a correction and a pose it cannot represent exactly is still kept.
    """
    a = alpha_bar.clamp(0.0, 1.0)
    sd2 = sigma_data ** 2
    denom = (1.0 - a) + a * sd2
    c_in = denom.rsqrt()
    c_skip = sd2 * a.sqrt() / denom
    c_out = (1.0 - a).sqrt() * sigma_data * c_in
    return c_in, c_skip, c_out
