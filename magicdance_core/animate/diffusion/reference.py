"""MagicAnimate's appearance encoder as diffusers attention processors.

The appearance encoder (a copy of SD's UNet) runs once per denoising step on the reference
photo's latents. In each *fused* transformer block (mid and up blocks: MagicAnimate's
``fusion_blocks="midup"``; ``"full"`` adds the down blocks) its self-attention input is
*written* to a :class:`ReferenceBank`; the denoiser's self-attention of the same block *reads*
it: for the conditional half of the classifier-free-guidance batch the keys and values are its
own tokens followed by the reference tokens, the unconditional half attends to itself only
(MagicAnimate's ``ReferenceAttentionControl``, reference_attn on, AdaIN off).

Deliberately not diffusers' IP-Adapter processors: they add a *separate* attention over the extra
tokens, while MagicAnimate takes one softmax over own + reference tokens; the read processor
computes that with ``scaled_dot_product_attention`` itself.

Nothing after the last written block of the appearance encoder is ever used (MagicAnimate's
release even prunes those weights), so the writer stops the encoder's forward there.

A further decoupled attention (MagicDance's face attention, issue 18) fits the same way: a
processor on ``attn2`` that adds a zero-initialised attention over face tokens beside the text
attention, installed by the pipeline next to these.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import torch
import torch.nn.functional as F

from diffusers.models.attention_processor import AttnProcessor2_0


class ReferenceBank:
    """What the appearance encoder wrote for one step, and which denoiser rows read it."""

    def __init__(self) -> None:
        self.features: Dict[str, torch.Tensor] = {}
        self.expected = 0                      # number of fused layers (the writer stops after them)
        self.read_rows: Optional[slice] = None  # rows of the denoiser batch that attend to the reference
        self.reading = False

    def clear(self) -> None:
        self.features.clear()


class _AllWritten(Exception):
    """Raised inside the appearance encoder once every fused layer has written its features."""


def fused_layer_names(processor_names: List[str], fusion_blocks: str) -> List[str]:
    """The self-attention layers MagicAnimate fuses, as ``attn_processors`` keys."""
    prefixes = ("mid_block.", "up_blocks.") + (("down_blocks.",) if fusion_blocks == "full" else ())
    return [n for n in processor_names if n.endswith("attn1.processor") and n.startswith(prefixes)]


class ReferenceWriteProcessor:
    def __init__(self, bank: ReferenceBank, name: str, inner) -> None:
        self.bank, self.name, self.inner = bank, name, inner

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kw):
        self.bank.features[self.name] = hidden_states
        if len(self.bank.features) >= self.bank.expected:
            raise _AllWritten
        return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kw)


class ReferenceReadProcessor:
    def __init__(self, bank: ReferenceBank, name: str, inner) -> None:
        self.bank, self.name, self.inner = bank, name, inner

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kw):
        ref = self.bank.features.get(self.name) if self.bank.reading else None
        if ref is None or encoder_hidden_states is not None or attention_mask is not None:
            return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kw)
        residual = hidden_states
        n, _, _ = hidden_states.shape
        heads = attn.heads

        def split(x):  # (rows, tokens, heads*d) -> (rows, heads, tokens, d)
            return x.view(x.shape[0], -1, heads, x.shape[-1] // heads).transpose(1, 2)

        q, k, v = split(attn.to_q(hidden_states)), split(attn.to_k(hidden_states)), split(attn.to_v(hidden_states))
        ref = ref.to(hidden_states.dtype)
        kr, vr = split(attn.to_k(ref)), split(attn.to_v(ref))      # (1, heads, L_ref, d): projected once
        rows = self.bank.read_rows or slice(0, n)
        out = torch.empty_like(q)
        plain = [r for r in (slice(0, rows.start), slice(rows.stop, n)) if r.stop > r.start]
        for r in plain:
            out[r] = F.scaled_dot_product_attention(q[r], k[r], v[r])
        m = rows.stop - rows.start
        out[rows] = F.scaled_dot_product_attention(
            q[rows], torch.cat([k[rows], kr.expand(m, -1, -1, -1)], dim=2),
            torch.cat([v[rows], vr.expand(m, -1, -1, -1)], dim=2))
        out = out.transpose(1, 2).reshape(n, -1, heads * q.shape[-1]).to(q.dtype)
        out = attn.to_out[1](attn.to_out[0](out))
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


def install(model, bank: ReferenceBank, names: List[str], kind) -> dict:
    """Wrap the processors of ``names`` in ``model`` with ``kind``; returns the previous ones."""
    before = dict(model.attn_processors)
    procs = dict(before)
    for n in names:
        inner = before[n]
        if isinstance(inner, (ReferenceReadProcessor, ReferenceWriteProcessor)):
            inner = inner.inner
        procs[n] = kind(bank, n, inner)
    model.set_attn_processor(procs)
    return before


def run_writer(encoder, bank: ReferenceBank, latents, t, text) -> None:
    """Run the appearance encoder until every fused layer has written to ``bank``."""
    bank.clear()
    try:
        encoder(latents, t, encoder_hidden_states=text, return_dict=False)
    except _AllWritten:
        return
    raise RuntimeError("the appearance encoder finished without writing every fused layer")  # a bug


def default_processor():
    return AttnProcessor2_0()
