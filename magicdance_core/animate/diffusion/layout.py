"""MagicAnimate's ``pretrained_models/`` folder as its README tells users to assemble it.

    pretrained_models/
      stable-diffusion-v1-5/{unet, text_encoder, tokenizer, scheduler}   (diffusers layout)
      sd-vae-ft-mse/                                                    (config.json + weights)
      MagicAnimate/appearance_encoder/, MagicAnimate/densepose_controlnet/
      MagicAnimate/temporal_attention/temporal_attention.ckpt

Real folders vary: weights as ``.safetensors`` or ``.bin`` (or their fp16 variants), the VAE
in ``sd-vae-ft-mse/`` or in Stable Diffusion's own ``vae/``, the scheduler folder present or
not. :func:`find_release` accepts all of them and names every missing part in one line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

from ...errors import MissingModel

SD = "stable-diffusion-v1-5"
MA = "MagicAnimate"
TEMPORAL_CKPT = f"{MA}/temporal_attention/temporal_attention.ckpt"

# weight file names in order of preference (diffusers' and transformers' names)
DIFFUSERS_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin",
                     "diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.fp16.bin")
TRANSFORMERS_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.fp16.safetensors", "pytorch_model.fp16.bin")
TOKENIZER_FILES = ("vocab.json", "merges.txt")

LAYOUT_HINT = ("MagicAnimate's pretrained_models layout: stable-diffusion-v1-5/, sd-vae-ft-mse/, "
               "MagicAnimate/{appearance_encoder,densepose_controlnet}/, "
               "MagicAnimate/temporal_attention/temporal_attention.ckpt")


@dataclass(frozen=True)
class Part:
    folder: Path                  # the component's folder (config.json lives here)
    weights: Path                 # its weight file


@dataclass(frozen=True)
class Release:
    root: Path
    unet: Part
    vae: Part
    text_encoder: Part
    appearance_encoder: Part
    controlnet: Part
    temporal: Path
    tokenizer: Path
    scheduler: Optional[Path]     # scheduler_config.json, if the folder has one

    def weight_files(self) -> Dict[str, Path]:
        return {"unet": self.unet.weights, "vae": self.vae.weights, "text_encoder": self.text_encoder.weights,
                "appearance_encoder": self.appearance_encoder.weights, "controlnet": self.controlnet.weights,
                "temporal": self.temporal}

    def fingerprint(self) -> str:
        """Cheap identity of the weights (path, size, mtime of every file) for job keys and caches."""
        h = hashlib.sha256()
        files = list(self.weight_files().values()) + [self.unet.folder / "config.json"]
        for p in files:
            st = p.stat()
            h.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        return h.hexdigest()[:16]


def _weights_in(folder: Path, names) -> Optional[Path]:
    for n in names:
        p = folder / n
        if p.is_file() and p.stat().st_size > 0:
            return p
    return None


def find_release(weights_dir) -> Release:
    """Locate every part of the release under ``weights_dir`` or raise MissingModel (one line)."""
    if weights_dir is None:
        raise MissingModel("the diffusion animator needs MagicAnimate + Stable Diffusion 1.5 weights: "
                           "pass --animator-weights DIR (MagicAnimate's pretrained_models folder); "
                           "the built-in 'surface' animator needs none")
    root = Path(weights_dir).expanduser()
    if not root.is_dir():
        raise MissingModel(f"--animator-weights: animator weights folder not found: {root}")
    if not (root / MA).is_dir() and (root / "pretrained_models" / MA).is_dir():
        root = root / "pretrained_models"      # the magic-animate checkout itself was named
    missing = []

    def part(folder_rel: str, names, alt: Optional[str] = None) -> Optional[Part]:
        for rel in (folder_rel, alt):
            if rel is None:
                continue
            folder = root / rel
            w = _weights_in(folder, names)
            if (folder / "config.json").is_file() and w is not None:
                return Part(folder, w)
        folder = root / folder_rel
        if not folder.is_dir():
            missing.append(f"{folder_rel}/")
        elif not (folder / "config.json").is_file():
            missing.append(f"{folder_rel}/config.json")
        else:
            missing.append(f"{folder_rel}/{names[0]} (or {names[1]})")
        return None

    unet = part(f"{SD}/unet", DIFFUSERS_WEIGHTS)
    text_encoder = part(f"{SD}/text_encoder", TRANSFORMERS_WEIGHTS)
    vae = part("sd-vae-ft-mse", DIFFUSERS_WEIGHTS, alt=f"{SD}/vae")
    appearance = part(f"{MA}/appearance_encoder", DIFFUSERS_WEIGHTS)
    controlnet = part(f"{MA}/densepose_controlnet", DIFFUSERS_WEIGHTS)
    tokenizer = root / SD / "tokenizer"
    lacking = [n for n in TOKENIZER_FILES if not (tokenizer / n).is_file()]
    if lacking:
        missing.append(f"{SD}/tokenizer/{lacking[0]}")
    temporal = root / TEMPORAL_CKPT
    if not temporal.is_file() or temporal.stat().st_size == 0:
        missing.append(TEMPORAL_CKPT)
    if missing:
        more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        raise MissingModel(f"--animator-weights: {root} lacks {', '.join(missing[:4])}{more} ({LAYOUT_HINT})")
    sched = root / SD / "scheduler" / "scheduler_config.json"
    return Release(root, unet, vae, text_encoder, appearance, controlnet, temporal, tokenizer,
                   sched if sched.is_file() else None)
