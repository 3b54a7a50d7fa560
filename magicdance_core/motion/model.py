"""EDGE's denoiser (Tseng et al. 2023), written for this project, plus a style condition.

A transformer decoder over the 151-number frames: each layer does rotary
self-attention, cross-attention to an encoded music sequence (plus two tokens
from the diffusion step), and a feed-forward block, each followed by FiLM from
the diffusion-step embedding plus pooled music. It predicts the clean motion x0.
Classifier-free guidance uses a learned null music embedding (``null_cond_embed``
for the cross-attention tokens, ``null_cond_hidden`` for the FiLM vector).

Parameter names and shapes follow EDGE's ``DanceDecoder`` exactly, so the
``edge`` config loads EDGE's released weights. Quirks kept for that reason:
the rotary embedding turns the whole width (not each head) before the
attention's input projection, one rotary module is shared by all layers (so its
``freqs`` buffer appears under every layer's name), and the music keys of the
cross-attention are rotated too.

Our addition is a style embedding (the choreographer's styles + "none"), added
to the FiLM vector and dropped/guided together with the music. With
``num_styles = 0`` (the ``edge`` config) no extra parameters exist.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .representation import FRAME_DIM, WINDOW
from .schedule import cosine_alphas_cumprod, dct_matrix, skip_coefficients


@dataclass
class DenoiserConfig:
    name: str = "small"
    nfeats: int = FRAME_DIM
    seq_len: int = WINDOW
    latent_dim: int = 256
    ff_size: int = 1024
    num_layers: int = 4
    num_heads: int = 4
    cond_feature_dim: int = 35          # EDGE baseline features; 4800 for Jukebox
    cond_encoder_layers: int = 2
    frames_per_token: int = 1           # >1 packs consecutive frames into one token (CPU speed)
    dropout: float = 0.1
    style_names: List[str] = field(default_factory=list)  # empty: no style condition
    music_feature: str = "edge35"       # "edge35+beat" (adds a beat clock) or "jukebox": music_input.py
    edge_frame: bool = False            # outputs in EDGE's Z-up frame (released weights)
    n_timestep: int = 1000
    cond_drop_prob: float = 0.25
    guidance_weight: float = 2.0
    # Extra guidance towards the chosen style: + s * (with style - same music without style).
    # Needs a model trained with the style dropped on its own (train.style_drop_prob > 0).
    style_guidance: float = 0.0
    # EDM-style skip (see schedule.skip_coefficients): False is EDGE's plain x0 network.
    # With skip the prediction is made along the data's principal axes (fitted in training,
    # saved as ``precond_*`` buffers) and the network models only the first
    # ``skip_components`` of them (0: all); the rest keep the Wiener estimate.
    skip: bool = False
    sigma_data: float = 0.5
    skip_components: int = 0
    # The Wiener skip also per temporal frequency of the 5 s window (DCT): high-frequency
    # noise is removed by the skip and the network cannot add jitter there.
    skip_temporal: bool = False
    # Temporal Gaussian smoothing (frames) applied after sampling; checkpoints whose raw
    # samples jitter (2 frames per token, no skip) need 1.5, a skip model much less.
    smooth: float = 1.5
    # Extra smoothing (frames) of the pelvis's floor position (x, z) only: travel across the
    # floor is slow, and its min-max range (metres) makes a small normalised error a visible wobble.
    smooth_travel: float = 0.0
    # Sampling only: the pelvis turns at most this many degrees per frame (0: off); removes
    # snap turns, see turnlimit.py. The training dances never exceed ~22.
    max_root_turn: float = 0.0
    # Sampling only: retime the dance so its accents land on the song's beats (0: off,
    # 1: fully), see beatsync.py; generate_dance(beat_sync=False) switches it off.
    beat_sync: float = 0.0
    # Sampling only, with beat_sync: the playback rate dips by this much on every grid beat
    # and rises between (0: off), so the dance moves at the song's tempo; see beatsync.py.
    beat_pulse: float = 0.0
    # Sampling only: with a style, start from the choreographer's dance in that style noised to
    # this fraction of the schedule (SDEdit) instead of pure noise (0: off). The model was not
    # able to learn the styles from its labels (benchmarks/motion/RESULTS.md); this way a style
    # gives that style's moves and timing, redrawn by the model.
    choreo_guide: float = 0.0

    # Sampling only: training ignores them and init_from does not compare them. They are the
    # defaults of a checkpoint without a sampling file (motion/sampling.py, X.sampling.json).
    SAMPLING_FIELDS = ("guidance_weight", "style_guidance", "smooth", "smooth_travel", "max_root_turn", "beat_sync",
                       "beat_pulse", "choreo_guide")
    # Their allowed ranges (inclusive); the pipeline's own checks are motion/sampling.py's OPTIONS.
    SAMPLING_RANGES = {"guidance_weight": (0.0, 100.0), "style_guidance": (0.0, 100.0), "smooth": (0.0, 30.0),
                       "smooth_travel": (0.0, 30.0), "max_root_turn": (0.0, 180.0), "beat_sync": (0.0, 1.0),
                       "beat_pulse": (0.0, 0.9), "choreo_guide": (0.0, 1.0)}

    @classmethod
    def check_sampling(cls, key: str, value: float, name: Optional[str] = None) -> float:
        """``value`` as a float if it is within ``SAMPLING_RANGES[key]``, else BadInput naming
        it ``name`` (default ``key``); nan and inf are refused."""
        from ..errors import BadInput

        lo, hi = cls.SAMPLING_RANGES[key]
        v = float(value)
        if not lo <= v <= hi:
            raise BadInput(f"{name or key} must be between {lo:g} and {hi:g}, got {value:g}")
        return v

    @property
    def tokens(self) -> int:
        return self.seq_len // self.frames_per_token

    @property
    def net_feats(self) -> int:
        """Numbers per frame the network itself reads and predicts."""
        if self.skip and 0 < self.skip_components < self.nfeats:
            return self.skip_components
        return self.nfeats

    @property
    def num_styles(self) -> int:
        return len(self.style_names)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DenoiserConfig":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        known["style_names"] = list(known.get("style_names", []))
        return cls(**known)


def edge_config(jukebox: bool = True) -> DenoiserConfig:
    """EDGE's released model: 8 layers, width 512, 8 heads, FF 1024, Jukebox input."""
    return DenoiserConfig(name="edge", latent_dim=512, ff_size=1024, num_layers=8, num_heads=8,
                          cond_feature_dim=4800 if jukebox else 35,
                          music_feature="jukebox" if jukebox else "edge35", edge_frame=True, smooth=0.0)


# ---------------------------------------------------------------- building blocks
class SinusoidalPosEmb(nn.Module):
    """Diffusion-step embedding: [sin, cos] of t times geometric frequencies."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        k = math.log(10000) / (half - 1)
        freqs = torch.exp(torch.arange(half, device=t.device, dtype=torch.float32) * -k)
        ang = t.float()[:, None] * freqs[None, :]
        return torch.cat((ang.sin(), ang.cos()), dim=-1)


class Rotary(nn.Module):
    """Rotary position embedding over the full width, interleaved pairs (EDGE's layout)."""

    def __init__(self, dim: int, theta: float = 10000.0) -> None:
        super().__init__()
        freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim))
        self.register_buffer("freqs", freqs)
        self._cache: dict = {}

    def _angles(self, n: int, device, dtype) -> Tuple[torch.Tensor, torch.Tensor]:
        key = (n, device, dtype)
        hit = self._cache.get(key)
        if hit is None:
            ang = torch.arange(n, device=device, dtype=self.freqs.dtype)[:, None] * self.freqs[None, :]
            ang = ang.repeat_interleave(2, dim=-1)
            hit = (ang.cos().to(dtype), ang.sin().to(dtype))
            self._cache[key] = hit
        return hit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cos, sin = self._angles(x.shape[-2], x.device, x.dtype)
        pairs = x.unflatten(-1, (-1, 2))
        rot = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
        return x * cos + rot * sin

    def _apply(self, fn, *args, **kwargs):  # device/dtype moves invalidate the cache
        self._cache = {}
        return super()._apply(fn, *args, **kwargs)


class DenseFiLM(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Mish(), nn.Linear(dim, dim * 2))

    def forward(self, cond: torch.Tensor):
        scale, shift = self.block(cond)[:, None, :].chunk(2, dim=-1)
        return scale, shift


def _film(x, scale_shift):
    scale, shift = scale_shift
    return (scale + 1) * x + shift


def _attend(mha: nn.MultiheadAttention, q_in, k_in, v_in) -> torch.Tensor:
    """nn.MultiheadAttention's maths on its own parameters, without its transposes and copies."""
    d = mha.embed_dim
    h = mha.num_heads
    w, b = mha.in_proj_weight, mha.in_proj_bias
    q = F.linear(q_in, w[:d], b[:d]).unflatten(-1, (h, -1)).transpose(1, 2)
    k = F.linear(k_in, w[d:2 * d], b[d:2 * d]).unflatten(-1, (h, -1)).transpose(1, 2)
    v = F.linear(v_in, w[2 * d:], b[2 * d:]).unflatten(-1, (h, -1)).transpose(1, 2)
    p = mha.dropout if mha.training else 0.0
    o = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
    return mha.out_proj(o.transpose(1, 2).flatten(-2))


class EncoderLayer(nn.Module):
    """Pre-norm transformer encoder layer with rotary self-attention (music encoder)."""

    def __init__(self, d: int, heads: int, ff: int, dropout: float, rotary: Rotary) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(d, ff)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(ff, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.rotary = rotary

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        qk = self.rotary(h)
        x = x + self.dropout1(_attend(self.self_attn, qk, qk, h))
        h = self.norm2(x)
        return x + self.dropout2(self.linear2(self.dropout(F.gelu(self.linear1(h)))))


class DecoderLayer(nn.Module):
    """Pre-norm decoder layer: self-attn, cross-attn, FF, each modulated by FiLM."""

    def __init__(self, d: int, heads: int, ff: int, dropout: float, rotary: Rotary) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.multihead_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(d, ff)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(ff, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.norm3 = nn.LayerNorm(d)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.film1 = DenseFiLM(d)
        self.film2 = DenseFiLM(d)
        self.film3 = DenseFiLM(d)
        self.rotary = rotary

    def forward(self, x, memory_rot, memory, t):
        h = self.norm1(x)
        qk = self.rotary(h)
        a = self.dropout1(_attend(self.self_attn, qk, qk, h))
        x = x + _film(a, self.film1(t))
        h = self.norm2(x)
        a = self.dropout2(_attend(self.multihead_attn, self.rotary(h), memory_rot, memory))
        x = x + _film(a, self.film2(t))
        h = self.norm3(x)
        a = self.dropout3(self.linear2(self.dropout(F.gelu(self.linear1(h)))))
        return x + _film(a, self.film3(t))


class DecoderStack(nn.Module):
    def __init__(self, layers) -> None:
        super().__init__()
        self.stack = nn.ModuleList(layers)


# ---------------------------------------------------------------- the denoiser
class Condition:
    """Encoded music (+ style) for a batch of windows: computed once, reused every step."""

    def __init__(self, tokens: torch.Tensor, hidden: torch.Tensor) -> None:
        self.tokens = tokens    # (B, S, D) encoded music (or the null embedding)
        self.hidden = hidden    # (B, D) pooled music + style, added to the FiLM vector

    def cat(self, other: "Condition") -> "Condition":
        return Condition(torch.cat([self.tokens, other.tokens]), torch.cat([self.hidden, other.hidden]))


class DanceDenoiser(nn.Module):
    def __init__(self, cfg: DenoiserConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.latent_dim
        self.rotary = Rotary(d)
        self.time_mlp = nn.Sequential(SinusoidalPosEmb(d), nn.Linear(d, d * 4), nn.Mish())
        self.to_time_cond = nn.Sequential(nn.Linear(d * 4, d))
        self.to_time_tokens = nn.Sequential(nn.Linear(d * 4, d * 2))
        p = cfg.frames_per_token
        if cfg.seq_len % p:
            raise ValueError("seq_len must be a multiple of frames_per_token")
        self.null_cond_embed = nn.Parameter(torch.randn(1, cfg.tokens, d))
        self.null_cond_hidden = nn.Parameter(torch.randn(1, d))
        self.norm_cond = nn.LayerNorm(d)
        self.input_projection = nn.Linear(cfg.net_feats * p, d)
        self.cond_encoder = nn.Sequential(*[EncoderLayer(d, cfg.num_heads, cfg.ff_size, cfg.dropout, self.rotary)
                                            for _ in range(cfg.cond_encoder_layers)])
        self.cond_projection = nn.Linear(cfg.cond_feature_dim * p, d)
        self.non_attn_cond_projection = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.seqTransDecoder = DecoderStack([DecoderLayer(d, cfg.num_heads, cfg.ff_size, cfg.dropout, self.rotary)
                                             for _ in range(cfg.num_layers)])
        self.final_layer = nn.Linear(d, cfg.net_feats * p)
        if cfg.num_styles:
            # index num_styles is "no style" (also the guidance null)
            self.style_embed = nn.Embedding(cfg.num_styles + 1, d)
            nn.init.normal_(self.style_embed.weight, std=0.02)
        # not persistent: derived from n_timestep, and EDGE's state dict has no such key
        self.register_buffer("alphas_cumprod", cosine_alphas_cumprod(cfg.n_timestep).float(), persistent=False)
        if cfg.skip:  # identity axes until set_principal_axes (training fits them from the data)
            n = cfg.nfeats
            self.register_buffer("precond_mean", torch.zeros(n))
            self.register_buffer("precond_basis", torch.eye(n))
            self.register_buffer("precond_std", torch.full((n,), float(cfg.sigma_data)))
            if cfg.skip_temporal:
                self.register_buffer("precond_std_freq", torch.full((cfg.seq_len, n), float(cfg.sigma_data)))
                self.register_buffer("dct", dct_matrix(cfg.seq_len), persistent=False)

    def set_principal_axes(self, mean, basis, std, std_freq=None) -> None:
        for name, v in (("precond_mean", mean), ("precond_basis", basis), ("precond_std", std),
                        ("precond_std_freq", std_freq)):
            if v is not None and hasattr(self, name):
                getattr(self, name).copy_(torch.as_tensor(v, dtype=torch.float32))

    # -- conditioning
    def encode(self, music: torch.Tensor, style: Optional[torch.Tensor] = None,
               keep: Optional[torch.Tensor] = None) -> Condition:
        """Encode music (B,S,F) and style ids (B,); rows where ``keep`` is False get the nulls."""
        B = music.shape[0]
        tokens = self.cond_projection(self._pack(music))
        for layer in self.cond_encoder:
            tokens = layer(tokens)
        if keep is not None:
            null = self.null_cond_embed.to(tokens.dtype)
            if null.shape[1] != tokens.shape[1]:
                raise ValueError(f"music windows must have {null.shape[1]} frames, got {tokens.shape[1]}")
            tokens = torch.where(keep[:, None, None], tokens, null)
        hidden = self.non_attn_cond_projection(tokens.mean(dim=-2))
        if keep is not None:
            hidden = torch.where(keep[:, None], hidden, self.null_cond_hidden.to(hidden.dtype))
        if self.cfg.num_styles:
            sid = torch.full((B,), self.cfg.num_styles, dtype=torch.long, device=music.device) if style is None else style.long()
            if keep is not None:
                sid = torch.where(keep, sid, torch.full_like(sid, self.cfg.num_styles))
            hidden = hidden + self.style_embed(sid)
        return Condition(tokens, hidden)

    def null_condition(self, batch: int, device=None) -> Condition:
        d = self.cfg.latent_dim
        tokens = self.null_cond_embed.expand(batch, -1, -1)
        hidden = self.null_cond_hidden.expand(batch, d)
        if self.cfg.num_styles:
            sid = torch.full((batch,), self.cfg.num_styles, dtype=torch.long, device=tokens.device)
            hidden = hidden + self.style_embed(sid)
        return Condition(tokens, hidden)

    # -- denoising
    def denoise(self, x: torch.Tensor, times: torch.Tensor, cond: Condition) -> torch.Tensor:
        """Predict x0 from noisy x (B,T,151) at integer steps ``times`` (B,)."""
        if not self.cfg.skip:
            return self._network(x, times, cond)
        a = self.alphas_cumprod[times.long()][:, None, None].to(x.dtype)
        mean, basis = self.precond_mean.to(x.dtype), self.precond_basis.to(x.dtype)
        z = (x - a.sqrt() * mean) @ basis            # noisy motion along the principal axes
        c_in, c_skip, c_out = skip_coefficients(a, self.precond_std.to(x.dtype))
        k = self.cfg.net_feats
        f = self._network(z[..., :k] * c_in[..., :k], times, cond)
        if self.cfg.skip_temporal:                   # the same, per temporal frequency
            if z.shape[1] != self.cfg.seq_len:
                raise ValueError(f"windows must have {self.cfg.seq_len} frames, got {z.shape[1]}")
            dct = self.dct.to(x.dtype)
            z, f = dct @ z, dct @ f
            _, c_skip, c_out = skip_coefficients(a, self.precond_std_freq.to(x.dtype))
        z0 = c_skip * z
        z0 = torch.cat((z0[..., :k] + c_out[..., :k] * f, z0[..., k:]), dim=-1)
        if self.cfg.skip_temporal:
            z0 = dct.T @ z0
        return mean + z0 @ basis.T

    def _network(self, x: torch.Tensor, times: torch.Tensor, cond: Condition) -> torch.Tensor:
        h = self.input_projection(self._pack(x))
        t_hidden = self.time_mlp(times)
        t = self.to_time_cond(t_hidden) + cond.hidden
        t_tokens = self.to_time_tokens(t_hidden).unflatten(-1, (2, -1))
        memory = self.norm_cond(torch.cat((cond.tokens, t_tokens), dim=-2))
        memory_rot = self.rotary(memory)  # same for every layer: rotate once
        for layer in self.seqTransDecoder.stack:
            h = layer(h, memory_rot, memory, t)
        out = self.final_layer(h)
        return out.reshape(x.shape[0], x.shape[1], -1) if self.cfg.frames_per_token > 1 else out

    def _pack(self, x: torch.Tensor) -> torch.Tensor:
        p = self.cfg.frames_per_token
        if p == 1:
            return x
        if x.shape[1] % p:
            raise ValueError(f"window length {x.shape[1]} is not a multiple of {p}")
        return x.reshape(x.shape[0], x.shape[1] // p, x.shape[2] * p)

    def forward(self, x, music, times, style=None, cond_drop_prob: float = 0.0, generator=None):
        """Training forward: drop the condition (music and style together) with ``cond_drop_prob``."""
        B = x.shape[0]
        keep = torch.rand(B, device=x.device, generator=generator) >= cond_drop_prob
        return self.denoise(x, times, self.encode(music, style, keep))

    def guided(self, x, times, cond: Condition, uncond: Condition, weight: float,
               plain: Optional[Condition] = None, style_weight: float = 0.0) -> torch.Tensor:
        """Classifier-free guidance: uncond + w * (cond - uncond), one batched pass.

        With ``plain`` (the same music without the style) and ``style_weight`` s > 0, a third
        row adds s * (cond - plain): guidance towards the chosen style.
        """
        if plain is not None and style_weight > 0:
            c, u, n = self.denoise(torch.cat([x, x, x]), times.repeat(3), cond.cat(uncond).cat(plain)).chunk(3)
            return u + (c - u) * weight + (c - n) * style_weight
        if weight == 1.0:
            return self.denoise(x, times, cond)
        if weight == 0.0:
            return self.denoise(x, times, uncond)
        both = self.denoise(torch.cat([x, x]), torch.cat([times, times]), cond.cat(uncond))
        c, u = both.chunk(2)
        return u + (c - u) * weight


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
