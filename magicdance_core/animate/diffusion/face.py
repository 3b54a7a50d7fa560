"""MagicDance's face attention (issue 18): the reference photo's face, encoded by the VAE into a
few latent tokens, attended to by the denoiser beside its text cross-attention.

* **Crop** (:func:`face_crop`): a square around the head, taken from the animator's square
  reference image (the photo placed where the passes put the head, :mod:`.framing`). At sampling
  time the head box comes from the photo analysis' face box (:func:`photo_head_box`), in
  training from the reference frame's DensePose head parts (:func:`densepose_head_box`) -- both
  name the same head region, so the crop the module learns on is the crop it gets.
* **Tokens** (:class:`FaceEncoder`): the crop through the pipeline's own (frozen) VAE, the
  posterior mean scaled as the UNet's latents are; ``patch`` x ``patch`` latent cells make one
  token; a small MLP projects them to the cross-attention width, plus a learned position code.
* **Attention** (:class:`FaceAttnProcessor`): IP-Adapter's decoupled cross-attention -- each of
  the UNet's ``attn2`` layers keeps its processor and adds ``scale * to_out(softmax(q k_f^T) v_f)``
  with the layer's own query and new ``to_k``/``to_v`` over the face tokens. Unlike IP-Adapter
  (whose extra attention is summed before the layer's shared ``to_out``) the face branch has its
  own output projection, initialised to ZERO: without trained weights the branch adds exactly
  0.0 and the animator is MagicAnimate bit for bit (tests/test_animate_face.py checks it).
  Deliberately not diffusers' ``IPAdapterAttnProcessor2_0``: that one replaces the layer's
  processor (here the text attention must stay whatever processor the UNet had) and has no
  zero-initialised output of its own.
  Only the rows of the batch that hold the conditional half of classifier-free guidance attend
  to the face (as the reference attention does), so guidance pushes towards the face.

Weights: one safetensors file (:meth:`FaceModule.save` / :func:`load_face_module`), its settings
in the file's metadata (``magicdance_face`` = JSON: face_size, patch, dims, scale, layer names).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...errors import BadInput, MissingModel

META_KEY = "magicdance_face"
FORMAT = 1
HEAD_PARTS = (23, 24)          # DensePose's head halves
FACE_TO_HEAD = 1.5             # mediapipe's face box is the inner face; the head box is this much larger
CROP_MARGIN = 1.15             # the crop is this much larger than the head box (hair, chin kept)


# -- crops ----------------------------------------------------------------------------------------
def square_around(box, scale: float = CROP_MARGIN) -> tuple:
    """(cx, cy, side) of the square ``scale`` times the larger side of ``box`` (x0,y0,x1,y1)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return (x0 + x1) / 2.0, (y0 + y1) / 2.0, max(x1 - x0, y1 - y0, 1.0) * scale


def face_crop(image: np.ndarray, head_box, size: int) -> np.ndarray:
    """The ``size`` x ``size`` RGB square around ``head_box`` of ``image`` (edges replicated)."""
    cx, cy, side = square_around(head_box)
    s = size / side
    A = np.array([[s, 0, size / 2.0 - s * cx], [0, s, size / 2.0 - s * cy]], np.float64)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.warpAffine(np.ascontiguousarray(image), A, (size, size), flags=interp,
                                               borderMode=cv2.BORDER_REPLICATE))


def densepose_head_box(densepose_rgb: np.ndarray) -> Optional[tuple]:
    """Bounding box of the DensePose head parts (23, 24) in a DensePose-style image, or None."""
    from ...passes.colors import part_ids_from_densepose

    ids = part_ids_from_densepose(np.asarray(densepose_rgb))
    ys, xs = np.nonzero(np.isin(ids, HEAD_PARTS))
    if len(xs) < 4:
        return None
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def photo_head_box(face_box, photo_wh: tuple, pass_wh: tuple, size: int) -> Optional[tuple]:
    """The photo analysis' ``face_box`` (photo pixels) as a head box in the animator's square
    reference image (:func:`.framing.reference_image`'s mapping: letterbox into the pass frame,
    centred square, resize to ``size``)."""
    if face_box is None:
        return None
    from ...camera import letterbox_transform
    from .framing import square_box

    s, ox, oy = letterbox_transform(photo_wh[0], photo_wh[1], pass_wh[0], pass_wh[1])
    side, left, top = square_box(pass_wh[0], pass_wh[1])
    k = size / side
    x0, y0, x1, y1 = (float(v) for v in face_box)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    half = max(x1 - x0, y1 - y0) * FACE_TO_HEAD / 2.0
    X = lambda x: ((x * s + ox) + left) * k          # noqa: E731
    Y = lambda y: ((y * s + oy) + top) * k           # noqa: E731
    return X(cx - half), Y(cy - half), X(cx + half), Y(cy + half)


# -- the module ----------------------------------------------------------------------------------
@dataclass
class FaceConfig:
    face_size: int = 128                  # crop side in pixels (at the animator's size)
    patch: int = 2                        # latent cells per token side
    latent_channels: int = 4
    cross_attention_dim: int = 768
    scale: float = 1.0                    # the face branch's weight in every layer
    layers: List[dict] = field(default_factory=list)   # [{name, query_dim, inner_dim, heads}]

    @property
    def num_tokens(self) -> int:
        n = self.face_size // 8 // self.patch
        return n * n


def attn2_layers(unet) -> List[dict]:
    """The UNet's cross-attention layers (``attn2``), in ``attn_processors`` order."""
    mods = dict(unet.named_modules())
    out = []
    for pname in unet.attn_processors:
        if not pname.endswith("attn2.processor"):
            continue
        name = pname[: -len(".processor")]
        a = mods[name]
        out.append(dict(name=name, query_dim=int(a.to_q.in_features), inner_dim=int(a.to_q.out_features),
                        heads=int(a.heads)))
    return out


class FaceEncoder(nn.Module):
    """VAE latents of the face crop -> (1, N, cross_attention_dim) tokens."""

    def __init__(self, cfg: FaceConfig):
        super().__init__()
        d_in = cfg.latent_channels * cfg.patch * cfg.patch
        C = cfg.cross_attention_dim
        self.patch = cfg.patch
        self.proj = nn.Sequential(nn.Linear(d_in, C), nn.GELU(), nn.Linear(C, C))
        self.pos = nn.Parameter(torch.randn(cfg.num_tokens, C) * 0.02)
        self.norm = nn.LayerNorm(C)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        b, c, h, w = latents.shape
        p = self.patch
        x = latents.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5).reshape(b, (h // p) * (w // p), c * p * p)
        return self.norm(self.proj(x) + self.pos)


@torch.no_grad()
def encode_latents(vae, x: torch.Tensor) -> torch.Tensor:
    """The VAE's posterior mean of images ``x`` (B,3,S,S) in [-1, 1], scaled as the UNet's latents
    (the VAE is never trained here: no gradient through it)."""
    return vae.encode(x.to(vae.device, vae.dtype)).latent_dist.mean * vae.config.scaling_factor


class FaceLayer(nn.Module):
    """The face branch of one ``attn2``: to_k / to_v over the face tokens, a zero-initialised output."""

    def __init__(self, cross_dim: int, query_dim: int, inner_dim: int):
        super().__init__()
        self.to_k = nn.Linear(cross_dim, inner_dim, bias=False)
        self.to_v = nn.Linear(cross_dim, inner_dim, bias=False)
        self.to_out = nn.Linear(inner_dim, query_dim)
        nn.init.zeros_(self.to_out.weight)
        nn.init.zeros_(self.to_out.bias)


class FaceModule(nn.Module):
    def __init__(self, cfg: FaceConfig):
        super().__init__()
        if cfg.face_size % (8 * cfg.patch):
            raise BadInput(f"face_size {cfg.face_size} must be a multiple of {8 * cfg.patch} (VAE factor x patch)")
        self.cfg = cfg
        self.encoder = FaceEncoder(cfg)
        self.layers = nn.ModuleList(FaceLayer(cfg.cross_attention_dim, L["query_dim"], L["inner_dim"])
                                    for L in cfg.layers)

    @classmethod
    def for_unet(cls, unet, face_size: int = 128, patch: int = 2, scale: float = 1.0, seed: int = 0) -> "FaceModule":
        """A fresh module (random keys/values, zero outputs) for ``unet``: the animator unchanged."""
        cfg = FaceConfig(face_size=int(face_size), patch=int(patch), latent_channels=int(unet.config.in_channels),
                         cross_attention_dim=int(unet.config.cross_attention_dim), scale=float(scale),
                         layers=attn2_layers(unet))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return cls(cfg)

    @property
    def device(self) -> torch.device:
        return self.encoder.pos.device

    @property
    def dtype(self) -> torch.dtype:
        return self.encoder.pos.dtype

    def encode(self, vae, crop: np.ndarray) -> torch.Tensor:
        """(1, N, C) face tokens of an RGB uint8 crop (face_size square), through ``vae``'s mean."""
        S = self.cfg.face_size
        crop = np.asarray(crop)
        if crop.shape != (S, S, 3):
            crop = cv2.resize(crop, (S, S), interpolation=cv2.INTER_AREA)
        x = torch.from_numpy(np.ascontiguousarray(crop)).float().div(127.5).sub(1.0).permute(2, 0, 1)[None]
        return self.encoder(encode_latents(vae, x).to(self.device, self.dtype))

    def save(self, path) -> Path:
        """Write the weights (one safetensors file, settings in its metadata), atomically."""
        from safetensors.torch import save_file

        from ...fileio import atomic_path

        sd = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        meta = {META_KEY: json.dumps(dict(asdict(self.cfg), format=FORMAT))}
        with atomic_path(path) as tmp:
            save_file(sd, str(tmp), metadata=meta)
        return Path(path)


def read_face_config(path) -> FaceConfig:
    from safetensors import SafetensorError, safe_open

    p = Path(path)
    if not p.is_file():
        raise MissingModel(f"face weights not found: {p}")
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise BadInput(f"{p} is not a safetensors file ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    if META_KEY not in meta:
        raise BadInput(f"{p} is not a MagicDance face-attention file (no '{META_KEY}' settings in it)")
    try:
        d = json.loads(meta[META_KEY])
        d.pop("format", None)
        return FaceConfig(**d)
    except (ValueError, TypeError) as e:
        raise BadInput(f"{p}: unreadable face settings ({e})") from None


def load_face_module(path, unet) -> FaceModule:
    """The face module in ``path``, checked against ``unet`` (its layers and widths) -- one line if not."""
    from safetensors.torch import load_file

    cfg = read_face_config(path)
    mine = attn2_layers(unet)
    if [L["name"] for L in cfg.layers] != [L["name"] for L in mine] or \
            int(cfg.cross_attention_dim) != int(unet.config.cross_attention_dim):
        raise BadInput(f"{path} was trained for another UNet ({len(cfg.layers)} cross-attention layers of "
                       f"width {cfg.cross_attention_dim}; this one has {len(mine)} of width "
                       f"{unet.config.cross_attention_dim})")
    for a, b in zip(cfg.layers, mine):
        if (a["query_dim"], a["inner_dim"], a["heads"]) != (b["query_dim"], b["inner_dim"], b["heads"]):
            raise BadInput(f"{path}: layer {a['name']} does not match this UNet's widths")
    module = FaceModule(cfg)
    sd = load_file(str(path))
    want = module.state_dict()
    missing = [k for k in want if k not in sd]
    extra = [k for k in sd if k not in want]
    if missing or extra:
        raise BadInput(f"{path}: " + (f"missing {', '.join(missing[:3])}" if missing else f"unexpected {', '.join(extra[:3])}"))
    bad = [k for k in want if tuple(sd[k].shape) != tuple(want[k].shape)]
    if bad:
        raise BadInput(f"{path}: {bad[0]} has shape {tuple(sd[bad[0]].shape)}, expected {tuple(want[bad[0]].shape)}")
    module.load_state_dict(sd)
    return module.eval().requires_grad_(False)


# -- attention processors ------------------------------------------------------------------------
class FaceContext:
    """The face tokens of the current call and which batch rows attend to them."""

    def __init__(self) -> None:
        self.tokens: Optional[torch.Tensor] = None     # (1, N, C)
        self.rows: Optional[slice] = None              # None: every row
        self.scale: float = 1.0


class FaceAttnProcessor:
    """The layer's own processor (``inner``) plus the decoupled face attention."""

    def __init__(self, ctx: FaceContext, layer: FaceLayer, inner) -> None:
        self.ctx, self.layer, self.inner = ctx, layer, inner

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kw):
        out = self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kw)
        tok = self.ctx.tokens
        if tok is None or hidden_states.dim() != 3:
            return out
        rows = self.ctx.rows or slice(0, hidden_states.shape[0])
        x = hidden_states[rows]
        m, heads = x.shape[0], attn.heads
        tok = tok.to(x.dtype)

        def split(t):  # (rows, tokens, heads*d) -> (rows, heads, tokens, d)
            return t.view(t.shape[0], -1, heads, t.shape[-1] // heads).transpose(1, 2)

        q = split(attn.to_q(x))
        k = split(self.layer.to_k(tok)).expand(m, -1, -1, -1)
        v = split(self.layer.to_v(tok)).expand(m, -1, -1, -1)
        f = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(m, -1, q.shape[1] * q.shape[-1])
        f = self.layer.to_out(f.to(x.dtype)) * (self.ctx.scale / attn.rescale_output_factor)
        if rows == slice(0, hidden_states.shape[0]):
            return out + f
        out = out.clone()
        out[rows] = out[rows] + f
        return out


@contextlib.contextmanager
def face_attention(unet, module: Optional[FaceModule], tokens: Optional[torch.Tensor], ctx: FaceContext):
    """Install the face processors on ``unet``'s attn2 layers for the duration of one call
    (nothing when there is no module or no face)."""
    if module is None or tokens is None:
        yield
        return
    before = dict(unet.attn_processors)
    procs = dict(before)
    for L, layer in zip(module.cfg.layers, module.layers):
        key = L["name"] + ".processor"
        inner = before[key]
        if isinstance(inner, FaceAttnProcessor):
            inner = inner.inner
        procs[key] = FaceAttnProcessor(ctx, layer, inner)
    ctx.tokens, ctx.scale = tokens, float(module.cfg.scale)
    unet.set_attn_processor(procs)
    try:
        yield
    finally:
        unet.set_attn_processor(before)
        ctx.tokens = None
        ctx.rows = None


def layer_names(module: FaceModule) -> Sequence[str]:
    return [L["name"] for L in module.cfg.layers]
