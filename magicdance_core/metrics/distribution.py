"""FID and diversity of a set of dances, on kinetic (k) and geometric (g) features.

Protocol (Bailando, Li et al. 2022, after FACT): one feature vector per dance
(:mod:`.features`), both sets normalised by the REFERENCE (ground-truth) set's
per-dimension mean and std, (x - mean_ref) / (std_ref + 1e-10); then
  FID = |mu_g - mu_r|^2 + tr(S_g) + tr(S_r) - 2 tr(sqrtm(S_g S_r))
with sample covariances (np.cov, N-1), sqrtm from scipy.linalg (a 1e-5 ridge
on both covariances when the product is singular; imaginary round-off dropped);
  Div = mean over pairs i < j of |f_i - f_j| (Euclidean), on the same
normalised features. Without a reference set, Div is computed on the raw
features (``normalised=False``): comparable between runs of this project, not
with published numbers.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from scipy import linalg

from ..errors import BadInput
from .features import geometric_features, kinetic_features


def normalise(feats: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(feats, ref) normalised by the reference set's mean and std (Bailando's ``normalize``)."""
    mean, std = ref.mean(axis=0), ref.std(axis=0)
    return (feats - mean) / (std + 1e-10), (ref - mean) / (std + 1e-10)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the rows of ``a`` and of ``b`` (N_a, D), (N_b, D)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise BadInput("FID needs at least two dances in each set")
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    if not np.all(np.isfinite(covmean)):
        off = np.eye(len(s1)) * 1e-5
        covmean = linalg.sqrtm((s1 + off) @ (s2 + off))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean), 0.0))


def diversity(feats: np.ndarray) -> float:
    """Mean pairwise Euclidean distance between the rows of ``feats`` (N, D); 0 for N < 2."""
    f = np.asarray(feats, np.float64)
    n = len(f)
    if n < 2:
        return 0.0
    d = np.sqrt(np.maximum(((f[:, None, :] - f[None, :, :]) ** 2).sum(axis=2), 0.0))
    return float(d[np.triu_indices(n, 1)].mean())


def _feature_set(motions: Sequence[np.ndarray], fn, fps: float) -> np.ndarray:
    if len(motions) == 0:
        raise BadInput("no motions given")
    return np.stack([fn(m, fps) for m in motions])


def _fid(gen, ref, fn, fps):
    g = _feature_set(gen, fn, fps)
    r = _feature_set(ref, fn, fps)
    g, r = normalise(g, r)
    return frechet_distance(g, r)


def _div(motions, ref, fn, fps):
    f = _feature_set(motions, fn, fps)
    if ref is not None:
        f, _ = normalise(f, _feature_set(ref, fn, fps))
    return diversity(f)


def fid_k(generated: Sequence[np.ndarray], reference: Sequence[np.ndarray], fps: float = 30.0) -> float:
    """FID_k: Fréchet distance of kinetic features, generated vs reference dances (joints (T,24,3) each)."""
    return _fid(generated, reference, kinetic_features, fps)


def fid_g(generated: Sequence[np.ndarray], reference: Sequence[np.ndarray], fps: float = 30.0) -> float:
    """FID_g: Fréchet distance of geometric features, generated vs reference dances."""
    return _fid(generated, reference, geometric_features, fps)


def div_k(motions: Sequence[np.ndarray], reference: Optional[Sequence[np.ndarray]] = None, fps: float = 30.0) -> float:
    """Div_k: mean pairwise distance of kinetic features (normalised by ``reference`` when given)."""
    return _div(motions, reference, kinetic_features, fps)


def div_g(motions: Sequence[np.ndarray], reference: Optional[Sequence[np.ndarray]] = None, fps: float = 30.0) -> float:
    """Div_g: mean pairwise distance of geometric features (normalised by ``reference`` when given)."""
    return _div(motions, reference, geometric_features, fps)
