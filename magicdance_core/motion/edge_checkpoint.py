"""Convert EDGE's released checkpoint (``checkpoint.pt``) once to a project safetensors file.

EDGE's file is a torch pickle: ``{"ema_state_dict", "model_state_dict",
"optimizer_state_dict", "normalizer"}`` where the normaliser is a pickled
``dataset.preprocess.Normalizer`` holding a ``dataset.scaler.MinMaxScaler``.
We never import EDGE's code nor run anything from the file: ``torch.load`` with
``weights_only=True`` rebuilds only tensors and containers, and the two EDGE
classes are mapped to inert stand-ins below (plain attribute holders), from
which the scaler's ``data_min_``/``data_max_`` are read.

The model's sizes are read off the weight shapes (EDGE's file has no config);
the head count cannot be and defaults to EDGE's 8. The released model was
trained on Jukebox features (4800 per frame): see :mod:`.jukebox`. Its motion
lives in EDGE's Z-up frame, which the config records (``edge_frame``) so that
generation converts it to the project's Y-up frame.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import BadInput, MissingModel
from ..fileio import PathLike
from .model import DanceDenoiser, DenoiserConfig
from .representation import Normalizer


class _EdgeNormalizerStandIn:
    """Receives the attributes of EDGE's pickled Normalizer; has no behaviour."""


class _EdgeScalerStandIn:
    """Receives the attributes of EDGE's pickled MinMaxScaler; has no behaviour."""


_EDGE_GLOBALS = [(_EdgeNormalizerStandIn, "dataset.preprocess.Normalizer"),
                 (_EdgeScalerStandIn, "dataset.scaler.MinMaxScaler")]


def read_edge_checkpoint(path: PathLike) -> dict:
    """The checkpoint's dict, unpickled with weights_only (no code runs)."""
    import pickle

    import torch

    p = Path(path)
    if not p.is_file():
        raise MissingModel(f"EDGE checkpoint not found: {p}")
    try:
        with torch.serialization.safe_globals(_EDGE_GLOBALS):
            ck = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "unsafe content"
        raise BadInput(f"refused to read {p}: not plain weights ({first[:160]})") from None
    except (RuntimeError, OSError, EOFError, ValueError) as e:
        raise BadInput(f"not a readable EDGE checkpoint: {p} ({e.__class__.__name__})") from None
    if not isinstance(ck, dict) or not any(k in ck for k in ("ema_state_dict", "model_state_dict")):
        raise BadInput(f"{p} is not an EDGE checkpoint (no ema_state_dict/model_state_dict)")
    return ck


def _strip(sd: dict) -> dict:
    out = {}
    for k, v in sd.items():
        for pre in ("module.", "model."):
            if k.startswith(pre):
                k = k[len(pre):]
        out[k] = v
    return out


def infer_config(sd: dict, num_heads: int = 8) -> DenoiserConfig:
    try:
        d, nfeats = sd["input_projection.weight"].shape
        cond_dim = sd["cond_projection.weight"].shape[1]
        ff = sd["seqTransDecoder.stack.0.linear1.weight"].shape[0]
        seq_len = sd["null_cond_embed"].shape[1]
    except KeyError as e:
        raise BadInput(f"not EDGE's DanceDecoder weights (no {e.args[0]})") from None
    layers = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"seqTransDecoder\.stack\.(\d+)\.", k)))
    enc = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"cond_encoder\.(\d+)\.", k)))
    return DenoiserConfig(name="edge", nfeats=int(nfeats), seq_len=int(seq_len), latent_dim=int(d), ff_size=int(ff),
                          num_layers=layers, num_heads=num_heads, cond_feature_dim=int(cond_dim),
                          cond_encoder_layers=enc, music_feature="jukebox" if cond_dim == 4800 else "edge35",
                          edge_frame=True)


def edge_normalizer(obj) -> Normalizer:
    scaler = getattr(obj, "scaler", obj)
    mn, mx = getattr(scaler, "data_min_", None), getattr(scaler, "data_max_", None)
    if mn is None or mx is None:
        raise BadInput("EDGE checkpoint's normalizer has no fitted data_min_/data_max_")
    to_np = lambda a: a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)  # noqa: E731
    return Normalizer(to_np(mn), to_np(mx))


def convert_edge_checkpoint(src: PathLike, dst: PathLike, *, ema: bool = True, num_heads: int = 8,
                            num_styles: int = 0) -> Path:
    """Write ``dst`` (.safetensors) from EDGE's ``src``; returns ``dst``."""
    from .train import save_model

    ck = read_edge_checkpoint(src)
    key = "ema_state_dict" if ema and "ema_state_dict" in ck else "model_state_dict"
    sd = _strip(ck[key])
    cfg = infer_config(sd, num_heads)
    model = DanceDenoiser(cfg)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise BadInput(f"EDGE weights do not match EDGE's layout: missing {missing[:4]}, unexpected {unexpected[:4]}")
    if "normalizer" not in ck:
        raise BadInput("EDGE checkpoint has no normalizer")
    norm = edge_normalizer(ck["normalizer"])
    if norm.dim != cfg.nfeats:
        raise BadInput(f"EDGE normalizer has {norm.dim} channels, the model {cfg.nfeats}")
    return save_model(dst, model, norm, None, None, {"source": f"EDGE {Path(src).name} ({key})"})
