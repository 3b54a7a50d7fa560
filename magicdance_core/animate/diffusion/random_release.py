"""A MagicAnimate ``pretrained_models`` folder with random weights, for tests and benchmarks.

Same file names, config keys, weight formats and state-dict key names as the real release
(SD 1.5's ``.bin`` UNet and text encoder, ``sd-vae-ft-mse`` with the legacy attention names its
file carries, the appearance encoder without the layers MagicAnimate prunes, the temporal
``.ckpt`` pickled by torch with MagicAnimate's motion-module keys); only the sizes differ
(``tiny``) or, at ``sd15``, nothing but the values. No network: nothing here is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import torch

from .layout import MA, SD, TEMPORAL_CKPT

SIZES = {
    # channels are multiples of 32: SD's GroupNorms (and the motion modules') use 32 groups
    "tiny": dict(block_out_channels=[32, 32, 64, 64], layers_per_block=2, cross_attention_dim=32,
                 attention_head_dim=4, vae_channels=[32, 32, 32, 32], vae_layers=1, text_hidden=32,
                 text_layers=2, text_heads=4, text_ff=64, cond_channels=[8, 8, 16, 16], size=64),
    "sd15": dict(block_out_channels=[320, 640, 1280, 1280], layers_per_block=2, cross_attention_dim=768,
                 attention_head_dim=8, vae_channels=[128, 256, 512, 512], vae_layers=2, text_hidden=768,
                 text_layers=12, text_heads=12, text_ff=3072, cond_channels=[16, 32, 96, 256], size=512),
}

DOWN = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
UP = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]


def unet_config(z: dict) -> dict:
    return {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0", "act_fn": "silu",
            "attention_head_dim": z["attention_head_dim"], "block_out_channels": z["block_out_channels"],
            "center_input_sample": False, "cross_attention_dim": z["cross_attention_dim"],
            "down_block_types": DOWN, "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0,
            "in_channels": 4, "layers_per_block": z["layers_per_block"], "mid_block_scale_factor": 1,
            "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4, "sample_size": z["size"] // 8,
            "up_block_types": UP}


def controlnet_config(z: dict) -> dict:
    c = unet_config(z)
    for k in ("out_channels", "up_block_types", "center_input_sample", "sample_size"):
        c.pop(k)
    c.update({"_class_name": "ControlNetModel", "_diffusers_version": "0.16.0.dev0",
              "conditioning_embedding_out_channels": z["cond_channels"],
              "controlnet_conditioning_channel_order": "rgb", "class_embed_type": None, "num_class_embeds": None,
              "only_cross_attention": False, "upcast_attention": False, "use_linear_projection": False,
              "resnet_time_scale_shift": "default", "global_pool_conditions": False})
    return c


def vae_config(z: dict) -> dict:
    n = len(z["vae_channels"])
    return {"_class_name": "AutoencoderKL", "_diffusers_version": "0.4.2", "act_fn": "silu",
            "block_out_channels": z["vae_channels"], "down_block_types": ["DownEncoderBlock2D"] * n,
            "in_channels": 3, "latent_channels": 4, "layers_per_block": z["vae_layers"], "norm_num_groups": 32,
            "out_channels": 3, "sample_size": z["size"], "up_block_types": ["UpDecoderBlock2D"] * n}


def text_config(z: dict) -> dict:
    return {"_name_or_path": "openai/clip-vit-large-patch14", "architectures": ["CLIPTextModel"],
            "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0, "eos_token_id": 2,
            "hidden_act": "quick_gelu", "hidden_size": z["text_hidden"], "initializer_factor": 1.0,
            "initializer_range": 0.02, "intermediate_size": z["text_ff"], "layer_norm_eps": 1e-05,
            "max_position_embeddings": 77, "model_type": "clip_text_model",
            "num_attention_heads": z["text_heads"], "num_hidden_layers": z["text_layers"], "pad_token_id": 1,
            "projection_dim": z["text_hidden"], "torch_dtype": "float32", "transformers_version": "4.22.0.dev0",
            "vocab_size": 49408 if z["text_hidden"] >= 768 else 514}


SCHEDULER = {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
             "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
             "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
             "clip_sample": False}


def _randomise(model: torch.nn.Module, seed: int, scale: float = 0.02) -> dict:
    """Small random values everywhere (norm weights near 1), so no layer is a no-op."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for k, v in model.state_dict().items():
        if not v.is_floating_point():
            sd[k] = v.clone()
        elif k.endswith(".pe") or k.endswith("position_ids"):
            sd[k] = v.clone()
        elif ("norm" in k.split(".")[-2] or "ln" in k.split(".")[-2]) and k.endswith("weight"):
            sd[k] = 1 + scale * torch.randn(v.shape, generator=g)
        else:
            fan_in = v[0].numel() if v.dim() > 1 else 1
            s = 1.0 / max(fan_in, 1) ** 0.5 if v.dim() > 1 else scale
            sd[k] = s * torch.randn(v.shape, generator=g)
    return sd


def _write_tokenizer(folder: Path, vocab_size: int) -> None:
    """CLIP's byte-level BPE tokenizer files; the tiny one holds only the 256 byte symbols."""
    from transformers import CLIPTokenizer
    from transformers.models.clip.tokenization_clip import bytes_to_unicode

    folder.mkdir(parents=True, exist_ok=True)
    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": i + len(chars) for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    assert len(vocab) <= vocab_size
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), pad_token="<|endoftext|>")
    tok.model_max_length = 77
    tok.save_pretrained(str(folder))


def _legacy_vae_names(sd: dict) -> dict:
    """sd-vae-ft-mse's file spells its mid-block attention the pre-0.14 diffusers way."""
    ren = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}
    out = {}
    for k, v in sd.items():
        for new, old in ren.items():
            if ".attentions.0." in k and f".{new}." in k:
                k = k.replace(f".{new}.", f".{old}.")
                break
        out[k] = v
    return out


def write_release(root, size: str = "tiny", seed: int = 0, *, ckpt_style: str = "flat",
                  zero_temporal: bool = False, settings: Optional[dict] = None) -> Path:
    """Write ``root/`` as MagicAnimate's ``pretrained_models`` folder; returns ``root``.

    ckpt_style: "flat" (the motion-module tensors), "lightning" (under ``state_dict`` with
    ``module.`` prefixes and a ``global_step``) or "unet" (``unet.`` prefixes).
    zero_temporal: zero every motion module's output projection (MagicAnimate's zero init: each
    module is then the identity). settings: ``magicdance_animator.json`` beside the weights
    (sections of :mod:`.config`; the tiny folder gets sampling size 64 when not given).
    """
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPTextConfig, CLIPTextModel

    from .config import load_config
    from .loading import _PRUNED
    from .temporal import TemporalModules

    z = SIZES[size]
    root = Path(root)
    sd_dir, ma = root / SD, root / MA

    def put_config(folder: Path, cfg: dict):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(cfg, indent=2))

    # Stable Diffusion 1.5 (unet as .bin, text encoder as .bin: as the README's tree shows)
    ucfg = unet_config(z)
    unet = UNet2DConditionModel.from_config(ucfg) if size == "tiny" else _meta(UNet2DConditionModel, ucfg)
    put_config(sd_dir / "unet", ucfg)
    unet_sd = _randomise(unet, seed + 1)
    torch.save(unet_sd, sd_dir / "unet" / "diffusion_pytorch_model.bin")
    tcfg = text_config(z)
    text = CLIPTextModel(CLIPTextConfig.from_dict(tcfg))
    put_config(sd_dir / "text_encoder", tcfg)
    tsd = _randomise(text, seed + 2)
    tsd["text_model.embeddings.position_ids"] = torch.arange(77)[None]     # old files carry it
    torch.save(tsd, sd_dir / "text_encoder" / "pytorch_model.bin")
    _write_tokenizer(sd_dir / "tokenizer", tcfg["vocab_size"])
    (sd_dir / "scheduler").mkdir(parents=True, exist_ok=True)
    (sd_dir / "scheduler" / "scheduler_config.json").write_text(json.dumps(SCHEDULER, indent=2))
    (sd_dir / "model_index.json").write_text(json.dumps({
        "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.6.0",
        "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"]}, indent=2))

    # sd-vae-ft-mse (safetensors, legacy attention names)
    vcfg = vae_config(z)
    vae = AutoencoderKL.from_config(vcfg)
    put_config(root / "sd-vae-ft-mse", vcfg)
    vsd = _randomise(vae, seed + 3)
    save_file(_legacy_vae_names(vsd), str(root / "sd-vae-ft-mse" / "diffusion_pytorch_model.safetensors"))

    # MagicAnimate: appearance encoder (SD's UNet, pruned after its last fused layer)
    acfg = dict(ucfg, _class_name="AppearanceEncoderModel", _diffusers_version="0.21.4")
    put_config(ma / "appearance_encoder", acfg)
    asd = {k: v for k, v in _randomise(unet, seed + 4).items() if not _PRUNED.match(k)}
    save_file(asd, str(ma / "appearance_encoder" / "diffusion_pytorch_model.safetensors"))
    del unet
    # DensePose ControlNet
    ccfg = controlnet_config(z)
    cn = ControlNetModel.from_config(ccfg) if size == "tiny" else _meta(ControlNetModel, ccfg)
    put_config(ma / "densepose_controlnet", ccfg)
    save_file(_randomise(cn, seed + 5), str(ma / "densepose_controlnet" / "diffusion_pytorch_model.safetensors"))
    del cn
    # temporal attention .ckpt (torch pickle, MagicAnimate's keys)
    tm = TemporalModules(ucfg, load_config(None)["temporal"])
    msd = _randomise(tm, seed + 6)
    if zero_temporal:
        for k in msd:
            if ".temporal_transformer.proj_out." in k:
                msd[k] = torch.zeros_like(msd[k])
    if ckpt_style == "lightning":
        obj = {"state_dict": {"module." + k: v for k, v in msd.items()}, "global_step": 10000}
    elif ckpt_style == "unet":
        obj = {"unet." + k: v for k, v in msd.items()}
    else:
        obj = msd
    (root / TEMPORAL_CKPT).parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, root / TEMPORAL_CKPT)

    over = {k: dict(v) for k, v in (settings or {}).items()}
    if size == "tiny":
        over.setdefault("sampling", {}).setdefault("size", z["size"])
    if over:
        (root / "magicdance_animator.json").write_text(json.dumps(over, indent=2))
    return root


def _meta(cls, cfg):
    """A full-size model with random weights, made cheaply (no kaiming init of 860M parameters)."""
    with torch.device("meta"):
        m = cls.from_config(cfg)
    return m.to_empty(device="cpu")


def random_pipeline(size: str = "tiny", seed: int = 0):
    """A MagicAnimatePipeline with random weights built in memory (benchmarks at full size: no
    files written, each tensor filled in place so the weights are held once)."""
    from diffusers import AutoencoderKL, ControlNetModel, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    import tempfile

    from .config import load_config
    from .loading import load_tokenizer
    from .pipeline import MagicAnimatePipeline
    from .temporal import TemporalModules, recompute_position_codes

    z = SIZES[size]
    g = torch.Generator().manual_seed(seed)

    def fill(m):
        m = m.to_empty(device="cpu")
        with torch.no_grad():
            for name, p in m.named_parameters():
                if p.dim() > 1:
                    p.normal_(0, 1.0 / max(p[0].numel(), 1) ** 0.5, generator=g)
                elif "norm" in name and name.endswith("weight"):
                    p.fill_(1.0)
                else:
                    p.normal_(0, 0.02, generator=g)
        return m.eval().requires_grad_(False)

    def meta(factory):
        with torch.device("meta"):
            return factory()

    cfg = load_config(None)
    ucfg = unet_config(z)
    unet = fill(meta(lambda: UNet2DConditionModel.from_config(ucfg)))
    app = fill(meta(lambda: UNet2DConditionModel.from_config(ucfg)))
    temporal = fill(meta(lambda: TemporalModules(ucfg, cfg["temporal"])))
    for mod in temporal.modules():          # to_empty left the position codes uninitialised
        if hasattr(mod, "pe"):
            mod.pe = torch.empty(mod.pe.shape, device="meta")
    recompute_position_codes(temporal)
    cn = fill(meta(lambda: ControlNetModel.from_config(controlnet_config(z))))
    vae = fill(meta(lambda: AutoencoderKL.from_config(vae_config(z))))
    tcfg = CLIPTextConfig.from_dict(text_config(z))
    text = CLIPTextModel(tcfg).eval().requires_grad_(False)
    with tempfile.TemporaryDirectory() as d:
        _write_tokenizer(Path(d), tcfg.vocab_size)
        tok = load_tokenizer(d)
    sched = DDIMScheduler.from_config({k: v for k, v in cfg["scheduler"].items() if not k.startswith("_")})
    return MagicAnimatePipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, controlnet=cn,
                                appearance_encoder=app, temporal=temporal, scheduler=sched)
