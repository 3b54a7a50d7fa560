"""MagicAnimate's temporal modules ("temporal_attention.ckpt") beside diffusers' UNet2DConditionModel.

MagicAnimate's denoiser is AnimateDiff v1's UNet3D: Stable Diffusion's UNet run on every frame
of a 16-frame window, with a *motion module* after each resnet/attention pair of the down and up
blocks (attention across the frames of each pixel, with a sinusoidal frame code), and with the
resnets' GroupNorms (and the output norm) taking their statistics over all frames of the window,
because their 5-D input was normalised as one sample.

Deliberately not diffusers' MotionAdapter / UNetMotionModel: its motion module pools its
GroupNorm over the frames while MagicAnimate's normalises each frame, and its resnets normalise
each frame while MagicAnimate's pool the window -- both the other way round, so the released
weights would not reproduce MagicAnimate. Instead the UNet stays diffusers' own
UNet2DConditionModel (SD's weights load untouched) and this module:

* holds the motion modules under MagicAnimate's own key names (``down_blocks.0.motion_modules.0
  .temporal_transformer.transformer_blocks.0.attention_blocks.0.to_q.weight`` ...), built from
  diffusers' ``Attention``, ``FeedForward`` and ``SinusoidalPositionalEmbedding``;
* runs each after its UNet layer through a forward hook (so the UNet's state dict is unchanged);
* swaps the resnets' GroupNorms for :class:`FramePooledGroupNorm` (same parameters).

A :class:`FrameContext` tells all of them how many consecutive batch rows form one window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from diffusers.models.attention import FeedForward
from diffusers.models.attention_processor import Attention, AttnProcessor2_0
from diffusers.models.embeddings import SinusoidalPositionalEmbedding


@dataclass
class FrameContext:
    """Rows of the UNet's batch are (batch, frame) in that order, ``num_frames`` frames per batch."""
    num_frames: int = 1


class FramePooledGroupNorm(nn.GroupNorm):
    """GroupNorm whose statistics cover all frames of a window (AnimateDiff v1 / MagicAnimate resnets)."""

    frames: FrameContext

    @classmethod
    def replacing(cls, gn: nn.GroupNorm, frames: FrameContext) -> "FramePooledGroupNorm":
        new = cls(gn.num_groups, gn.num_channels, eps=gn.eps, affine=gn.affine)
        new.weight, new.bias = gn.weight, gn.bias           # the same Parameters: keys unchanged
        new.frames = frames
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = int(self.frames.num_frames)
        if f <= 1 or x.dim() != 4:
            return super().forward(x)
        bf, c, h, w = x.shape
        y = x.view(bf // f, f, c, h, w).transpose(1, 2)       # (b, c, f, h, w): one sample per window
        y = F.group_norm(y, self.num_groups, self.weight, self.bias, self.eps)
        return y.transpose(1, 2).reshape(bf, c, h, w)


class TemporalSelfAttention(Attention):
    """MagicAnimate's ``VersatileAttention`` (Temporal_Self): to_q/to_k/to_v/to_out as diffusers'
    Attention, plus its ``pos_encoder`` (a sinusoidal frame code added to the attention's input)."""

    def __init__(self, dim: int, heads: int, dim_head: int, position_encoding: bool, max_len: int):
        super().__init__(query_dim=dim, heads=heads, dim_head=dim_head, bias=False, processor=AttnProcessor2_0())
        self.pos_encoder = SinusoidalPositionalEmbedding(dim, max_len) if position_encoding else None


class TemporalTransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int, block_types, position_encoding: bool, max_len: int):
        super().__init__()
        for b in block_types:
            if b != "Temporal_Self":
                raise ValueError(f"temporal attention block type {b!r} is not MagicAnimate's (Temporal_Self)")
        self.attention_blocks = nn.ModuleList(
            TemporalSelfAttention(dim, heads, dim_head, position_encoding, max_len) for _ in block_types)
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in block_types)
        self.ff = FeedForward(dim, activation_fn="geglu")
        self.ff_norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (pixels, frames, dim). LayerNorm and the feed-forward act per token, so running the
        # whole block on frame sequences equals MagicAnimate's per-attention rearrangement.
        for attn, norm in zip(self.attention_blocks, self.norms):
            h = norm(x)
            if attn.pos_encoder is not None:
                h = attn.pos_encoder(h)
            x = attn(h) + x
        return self.ff(self.ff_norm(x)) + x


class TemporalTransformer(nn.Module):
    """MagicAnimate's ``TemporalTransformer3DModel``: per-frame GroupNorm, proj_in, blocks, proj_out, residual."""

    def __init__(self, channels: int, heads: int, dim_head: int, layers: int, block_types,
                 position_encoding: bool, max_len: int):
        super().__init__()
        inner = heads * dim_head
        self.norm = nn.GroupNorm(32, channels, eps=1e-6, affine=True)
        self.proj_in = nn.Linear(channels, inner)
        self.transformer_blocks = nn.ModuleList(
            TemporalTransformerBlock(inner, heads, dim_head, block_types, position_encoding, max_len)
            for _ in range(layers))
        self.proj_out = nn.Linear(inner, channels)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        bf, c, h, w = x.shape
        b, f = bf // num_frames, num_frames
        residual = x
        y = self.norm(x).permute(0, 2, 3, 1).reshape(bf, h * w, c)
        y = self.proj_in(y)
        d = y.shape[-1]
        y = y.view(b, f, h * w, d).transpose(1, 2).reshape(b * h * w, f, d)     # frame sequences per pixel
        for block in self.transformer_blocks:
            y = block(y)
        y = y.view(b, h * w, f, d).transpose(1, 2).reshape(bf, h * w, d)
        y = self.proj_out(y).view(bf, h, w, c).permute(0, 3, 1, 2)
        return y + residual


class VanillaTemporalModule(nn.Module):
    def __init__(self, channels: int, cfg: dict):
        super().__init__()
        heads = int(cfg["num_attention_heads"])
        self.temporal_transformer = TemporalTransformer(
            channels, heads, channels // heads // int(cfg["temporal_attention_dim_div"]),
            int(cfg["num_transformer_block"]), list(cfg["attention_block_types"]),
            bool(cfg["temporal_position_encoding"]), int(cfg["temporal_position_encoding_max_len"]))

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        return self.temporal_transformer(x, num_frames)


class _Block(nn.Module):
    def __init__(self, modules: List[Optional[nn.Module]]):
        super().__init__()
        self.motion_modules = nn.ModuleList(modules)


class TemporalModules(nn.Module):
    """All motion modules of a UNet config, keyed exactly as MagicAnimate's checkpoint."""

    def __init__(self, unet_config: dict, cfg: dict):
        super().__init__()
        self.cfg = dict(cfg)
        ch = list(unet_config["block_out_channels"])
        lpb = int(unet_config.get("layers_per_block", 2))
        if len(ch) != 4:
            raise ValueError("MagicAnimate's temporal modules need a 4-level UNet (Stable Diffusion 1.x)")
        res = set(cfg["motion_module_resolutions"])

        def mm(c, on):
            return VanillaTemporalModule(c, cfg) if on else None

        down_on = [2 ** i in res and not cfg["motion_module_decoder_only"] for i in range(4)]
        self.down_blocks = nn.ModuleList(_Block([mm(ch[i], down_on[i]) for _ in range(lpb)]) for i in range(4))
        rch = ch[::-1]
        self.up_blocks = nn.ModuleList(_Block([mm(rch[i], 2 ** (3 - i) in res) for _ in range(lpb + 1)])
                                       for i in range(4))
        self.mid_block = _Block([mm(ch[-1], True)]) if cfg["motion_module_mid_block"] else None
        self.frames = FrameContext()
        self._handles: list = []

    @property
    def device(self) -> torch.device:       # diffusers' pipeline helpers ask every component
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    # -- wiring into a diffusers UNet2DConditionModel ------------------------------------------
    def _targets(self, unet):
        """(unet layer, motion module) pairs in MagicAnimate's order: after attention if the block
        has one, else after the resnet; in the mid block after the resnet following each attention."""
        pairs = []
        for blocks, mine in ((unet.down_blocks, self.down_blocks), (unet.up_blocks, self.up_blocks)):
            for ub, mb in zip(blocks, mine):
                layers = ub.attentions if getattr(ub, "attentions", None) is not None else ub.resnets
                for layer, m in zip(layers, mb.motion_modules):
                    if m is not None:
                        pairs.append((layer, m))
        if self.mid_block is not None:
            for layer, m in zip(unet.mid_block.resnets[1:], self.mid_block.motion_modules):
                pairs.append((layer, m))
        return pairs

    def attach(self, unet) -> None:
        """Run the motion modules inside ``unet`` and pool its resnets' norms over the window."""
        self.detach(unet)
        frames = self.frames

        def hook_for(m):
            def hook(_layer, _args, output):
                if isinstance(output, tuple):
                    return (m(output[0], frames.num_frames),) + tuple(output[1:])
                return m(output, frames.num_frames)
            return hook

        for layer, m in self._targets(unet):
            self._handles.append(layer.register_forward_hook(hook_for(m)))
        if self.cfg.get("norm_across_frames", True):
            from diffusers.models.resnet import ResnetBlock2D

            for mod in unet.modules():
                if isinstance(mod, ResnetBlock2D):
                    for name in ("norm1", "norm2"):
                        gn = getattr(mod, name)
                        if type(gn) is nn.GroupNorm:
                            setattr(mod, name, FramePooledGroupNorm.replacing(gn, frames))
            if type(unet.conv_norm_out) is nn.GroupNorm:
                unet.conv_norm_out = FramePooledGroupNorm.replacing(unet.conv_norm_out, frames)

    def detach(self, unet) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        for mod in unet.modules():
            for name, child in list(mod.named_children()):
                if isinstance(child, FramePooledGroupNorm):
                    gn = nn.GroupNorm(child.num_groups, child.num_channels, eps=child.eps, affine=child.affine)
                    gn.weight, gn.bias = child.weight, child.bias
                    setattr(mod, name, gn)


def temporal_keys(sd: dict) -> dict:
    """The motion-module tensors of a checkpoint, ``unet.`` prefixes stripped (MagicAnimate's own
    loader accepts both spellings)."""
    out = {}
    for k, v in sd.items():
        if "motion_modules" not in k:
            continue
        out[k[len("unet."):] if k.startswith("unet.") else k] = v
    return out


def recompute_position_codes(model: TemporalModules) -> None:
    """``pe`` buffers are a fixed function of (dim, max_len): rebuild any a checkpoint did not carry."""
    for mod in model.modules():
        if isinstance(mod, SinusoidalPositionalEmbedding) and mod.pe.is_meta:
            _, n, d = mod.pe.shape
            with torch.device("cpu"):
                mod.pe = SinusoidalPositionalEmbedding(d, n).pe
