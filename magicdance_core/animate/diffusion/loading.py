"""Build MagicAnimatePipeline from MagicAnimate's ``pretrained_models`` folder.

Each component comes from its own folder and config.json with diffusers' or transformers' class
(built on the meta device, its tensors assigned, see :mod:`.weights`). The scheduler is DDIM
with MagicAnimate's settings over whatever the Stable Diffusion folder's scheduler config says
(SD 1.5 ships a PNDMScheduler config: its training settings are kept, MagicAnimate's sampling
settings -- linear betas 0.00085..0.012, steps_offset 1, no clipping -- applied on top).
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Optional

import torch

from ...errors import BadInput, MissingModel
from ...progress import ProgressFn, null_progress
from .config import load_config
from .layout import Release, find_release
from .weights import assign_weights, load_state_dict, on_meta, read_config

# MagicAnimate's appearance encoder drops what follows the last fused self-attention input
# (its last block's attention/ff layers and the output convolution): nothing reads them.
_PRUNED = re.compile(r"^(up_blocks\.3\.attentions\.2\.(proj_out|transformer_blocks\.0\.(attn1\.to_|norm2|attn2|norm3|ff))"
                     r"|conv_norm_out|conv_out)")


@contextlib.contextmanager
def _quiet_libraries():
    """diffusers/transformers log every config key they ignore; a user sees none of it."""
    import diffusers
    import transformers

    levels = diffusers.utils.logging.get_verbosity(), transformers.utils.logging.get_verbosity()
    diffusers.utils.logging.set_verbosity_error()
    transformers.utils.logging.set_verbosity_error()
    try:
        yield
    finally:
        diffusers.utils.logging.set_verbosity(levels[0])
        transformers.utils.logging.set_verbosity(levels[1])


def _model_from_folder(cls, part, what: str, use_cache: bool, **assign_kw):
    cfg = read_config(part.folder)
    try:
        model = on_meta(lambda: cls.from_config(cfg))
    except (TypeError, ValueError, KeyError) as e:
        raise BadInput(f"{part.folder / 'config.json'} is not a {cls.__name__} config ({e})") from None
    sd = load_state_dict(part.weights, tag=what, use_cache=use_cache)
    if hasattr(model, "_fix_state_dict_keys_on_load"):
        model._fix_state_dict_keys_on_load(sd)         # diffusers' legacy attention names (old VAEs)
    return assign_weights(model, sd, what, part.weights, **assign_kw), cfg


def load_text_encoder(part, use_cache: bool = True):
    from transformers import CLIPTextConfig, CLIPTextModel

    cfg = read_config(part.folder)
    try:
        config = CLIPTextConfig.from_dict(cfg)
    except (TypeError, ValueError, KeyError) as e:
        raise BadInput(f"{part.folder / 'config.json'} is not a CLIP text config ({e})") from None
    model = on_meta(lambda: CLIPTextModel(config))
    sd = load_state_dict(part.weights, tag="text_encoder", use_cache=use_cache)

    def positions(m):       # non-persistent in current transformers; older files carry it
        emb = m.text_model.embeddings
        emb.register_buffer("position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)),
                            persistent=False)

    return assign_weights(model, sd, "text encoder", part.weights, fix_buffers=positions,
                          ignore_unexpected=lambda k: k.endswith("embeddings.position_ids"))


def load_tokenizer(folder):
    from transformers import CLIPTokenizer

    try:
        return CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, TypeError) as e:
        raise BadInput(f"not a readable CLIP tokenizer: {folder} ({e})") from None


def load_scheduler(rel: Release, overrides: dict):
    from diffusers import DDIMScheduler

    base = {}
    if rel.scheduler is not None:
        try:
            base = json.loads(rel.scheduler.read_text())
        except (OSError, ValueError) as e:
            raise BadInput(f"not a readable scheduler config: {rel.scheduler} ({e})") from None
    keep = {k: base[k] for k in ("num_train_timesteps", "prediction_type", "trained_betas") if k in base}
    mine = {k: v for k, v in overrides.items() if not k.startswith("_")}
    return DDIMScheduler.from_config({**keep, **mine})


def load_temporal(rel: Release, unet_config: dict, cfg: dict, use_cache: bool = True):
    from .temporal import TemporalModules, recompute_position_codes, temporal_keys

    model = on_meta(lambda: TemporalModules(unet_config, cfg))
    sd = load_state_dict(rel.temporal, tag="temporal", select=temporal_keys, use_cache=use_cache)
    if not sd:
        raise MissingModel(f"{rel.temporal} holds no temporal (motion_modules) weights")
    return assign_weights(model, sd, "temporal attention", rel.temporal, fix_buffers=recompute_position_codes,
                          allow_missing=lambda k: k.endswith("pos_encoder.pe"))


def load_release(weights_dir, progress: Optional[ProgressFn] = None, use_cache: bool = True):
    """The whole pipeline, on the CPU in the files' precision (call ``.to(device, dtype)``)."""
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel

    from .pipeline import MagicAnimatePipeline

    prog = progress or null_progress
    rel = find_release(weights_dir)
    cfg = load_config(rel.root)
    steps = ("UNet", "temporal attention", "appearance encoder", "ControlNet", "VAE", "text encoder")
    with _quiet_libraries():
        prog("load", 0.0, steps[0])
        unet, unet_cfg = _model_from_folder(UNet2DConditionModel, rel.unet, "unet", use_cache)
        prog("load", 1 / 6, steps[1])
        temporal = load_temporal(rel, unet_cfg, cfg["temporal"], use_cache)
        prog("load", 2 / 6, steps[2])
        appearance, _ = _model_from_folder(UNet2DConditionModel, rel.appearance_encoder, "appearance encoder",
                                           use_cache, allow_missing=lambda k: bool(_PRUNED.match(k)))
        prog("load", 3 / 6, steps[3])
        controlnet, _ = _model_from_folder(ControlNetModel, rel.controlnet, "controlnet", use_cache)
        prog("load", 4 / 6, steps[4])
        vae, _ = _model_from_folder(AutoencoderKL, rel.vae, "vae", use_cache)
        prog("load", 5 / 6, steps[5])
        text_encoder = load_text_encoder(rel.text_encoder, use_cache)
        tokenizer = load_tokenizer(rel.tokenizer)
        scheduler = load_scheduler(rel, cfg["scheduler"])
        for m in (unet, temporal, appearance, controlnet, vae, text_encoder):
            m.eval().requires_grad_(False)
        pipe = MagicAnimatePipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                    controlnet=controlnet, appearance_encoder=appearance, temporal=temporal,
                                    scheduler=scheduler)
    pipe.animator_config = cfg
    pipe.release = rel
    prog("load", 1.0, "weights loaded")
    return pipe
