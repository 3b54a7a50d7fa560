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


def skip_coefficients(alpha_bar: torch.Tensor, sigma_data):
    """EDM's preconditioning (Karras et al. 2022) written for a variance-preserving x_t.

    With x_t = sqrt(a)·x0 + sqrt(1-a)·eps and x0 of std ``sigma_data`` (a number, or one
    per channel) the network sees ``c_in·x_t`` (unit variance) and the prediction is
    ``c_skip·x_t + c_out·F``. ``c_skip·x_t`` is the Wiener estimate of a Gaussian x0 and
    ``c_out`` its posterior std: at low noise the output is mostly x_t itself (a pose the
    network cannot represent exactly is kept), and a channel that never varies
    (std 0) comes out exactly at its mean, noise or not.
    """
    a = alpha_bar.clamp(0.0, 1.0)
    sd = torch.as_tensor(sigma_data, dtype=a.dtype, device=a.device)
    denom = ((1.0 - a) + a * sd * sd).clamp(min=1e-12)
    c_in = denom.rsqrt()
    c_skip = sd * sd * a.sqrt() / denom
    c_out = (1.0 - a).sqrt() * sd * c_in
    return c_in, c_skip, c_out


def principal_axes(x, min_std: float = 1e-6):
    """Mean, orthonormal principal axes (columns, by falling variance) and their stds of (N,C) data.

    The skip model denoises in this basis: its axes are uncorrelated, so the per-axis
    Wiener skip is the best linear denoiser, and the network only has to model the
    first few axes (see ``DenoiserConfig.skip_components``).
    """
    import numpy as np

    x = np.asarray(x, dtype=np.float64).reshape(-1, np.shape(x)[-1])
    mean = x.mean(axis=0)
    cov = np.cov((x - mean).T)
    ev, vec = np.linalg.eigh(cov)
    order = np.argsort(ev)[::-1]
    std = np.sqrt(np.clip(ev[order], 0.0, None))
    std[std < min_std] = 0.0
    return mean.astype(np.float32), vec[:, order].astype(np.float32), std.astype(np.float32)


def dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix (rows = frequencies): ``dct_matrix(n) @ x`` transforms along time."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    t = torch.arange(n, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi * (t + 0.5) * k / n) * math.sqrt(2.0 / n)
    d[0] /= math.sqrt(2.0)
    return d.float()


def frequency_stds(windows, mean, basis, min_std: float = 1e-6):
    """Std of every (temporal frequency, principal axis) coefficient of (N,T,C) windows.

    Dance is smooth: its high temporal frequencies carry almost no variance, so the
    Wiener skip with these stds removes high-frequency noise by itself and caps what
    the network can add there (no frame-to-frame jitter).
    """
    import numpy as np

    w = np.asarray(windows, dtype=np.float32)
    d = dct_matrix(w.shape[1]).numpy()
    acc = np.zeros((w.shape[1], w.shape[2]), dtype=np.float64)
    for i in range(0, len(w), 256):
        z = (w[i:i + 256] - mean) @ basis
        acc += (np.einsum("ft,btc->bfc", d, z) ** 2).sum(axis=0)
    std = np.sqrt(acc / len(w))
    std[std < min_std] = 0.0
    return std.astype(np.float32)
