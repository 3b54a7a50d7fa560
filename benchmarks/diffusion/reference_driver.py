"""Run MagicAnimate's own implementation on inputs prepared by compare_reference.py.

Runs inside MagicAnimate's pinned environment (diffusers 0.21.4, transformers 4.32.0, the CPU
torch 2.13 of this disk) with its checkout on PYTHONPATH; it imports MagicAnimate's modules and
calls them the way its ``magicanimate/pipelines/animation.py`` does (nothing of theirs is copied
here). Only what a CPU run needs differs: the pipeline's two hard-coded ``.cuda()`` calls are
made no-ops, the generator is a CPU one, and their video-saving helpers' ``torchvision`` import
is given a placeholder (torchvision's PyPI wheel does not match the CPU torch here; this run
saves no video).

    python reference_driver.py WORK_DIR     (reads WORK_DIR/inputs.npz and WORK_DIR/pretrained_models,
                                             writes WORK_DIR/reference_frames.npz)
"""

import importlib.machinery
import sys
import types
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch


def main(work: Path) -> None:
    torch.Tensor.cuda = lambda self, *a, **k: self           # CPU run: their .cuda() calls stay on the CPU

    from diffusers import AutoencoderKL, DDIMScheduler
    from omegaconf import OmegaConf
    from transformers import CLIPTextModel, CLIPTokenizer

    placeholder = types.ModuleType("torchvision")
    placeholder.__spec__ = importlib.machinery.ModuleSpec("torchvision", None)
    sys.modules.setdefault("torchvision", placeholder)
    from magicanimate.models.appearance_encoder import AppearanceEncoderModel
    from magicanimate.models.controlnet import ControlNetModel
    from magicanimate.models.unet_controlnet import UNet3DConditionModel
    from magicanimate.pipelines.pipeline_animation import AnimationPipeline

    import magicanimate

    checkout = Path(list(magicanimate.__path__)[0]).resolve().parent   # a namespace package
    inference = OmegaConf.load(checkout / "configs/inference/inference.yaml")
    pm = work / "pretrained_models"
    inp = np.load(work / "inputs.npz")
    L = 16                                                   # configs/prompts/animation.yaml: L

    tokenizer = CLIPTokenizer.from_pretrained(str(pm / "stable-diffusion-v1-5"), subfolder="tokenizer")
    text_encoder = CLIPTextModel.from_pretrained(str(pm / "stable-diffusion-v1-5"), subfolder="text_encoder")
    unet = UNet3DConditionModel.from_pretrained_2d(
        str(pm / "stable-diffusion-v1-5"), subfolder="unet",
        unet_additional_kwargs=OmegaConf.to_container(inference.unet_additional_kwargs))
    appearance_encoder = AppearanceEncoderModel.from_pretrained(str(pm / "MagicAnimate/appearance_encoder"),
                                                                subfolder="appearance_encoder")
    vae = AutoencoderKL.from_pretrained(str(pm / "sd-vae-ft-mse"))
    controlnet = ControlNetModel.from_pretrained(str(pm / "MagicAnimate/densepose_controlnet"))
    pipeline = AnimationPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, controlnet=controlnet,
        scheduler=DDIMScheduler(**OmegaConf.to_container(inference.noise_scheduler_kwargs)))
    sd = torch.load(pm / "MagicAnimate/temporal_attention/temporal_attention.ckpt", map_location="cpu",
                    weights_only=True)
    sd = sd["state_dict"] if "state_dict" in sd else sd
    sd = OrderedDict((k.split("module.")[-1] if k.startswith("module.") else k, v) for k, v in sd.items())
    missing, unexpected = pipeline.unet.load_state_dict(sd, strict=False)
    assert not unexpected, unexpected[:3]
    assert not [k for k in missing if "motion_modules" in k], "temporal keys missing"

    control = inp["poses"]
    n = len(control)
    if n % L:
        control = np.pad(control, ((0, L - n % L), (0, 0), (0, 0), (0, 0)), mode="edge")
    source = inp["reference"]
    generator = torch.Generator("cpu").manual_seed(int(inp["seed"]))
    videos = pipeline("", negative_prompt="", num_inference_steps=int(inp["steps"]),
                      guidance_scale=float(inp["guidance"]), width=source.shape[1], height=source.shape[0],
                      video_length=len(control), controlnet_condition=control, init_latents=None,
                      generator=generator, appearance_encoder=appearance_encoder,
                      source_image=source).videos
    frames = videos[0, :, :n].permute(1, 2, 3, 0).float().numpy()      # (T,H,W,3) in [0,1]
    np.savez_compressed(work / "reference_frames.npz", frames=frames)
    print(f"reference: {n} frames {frames.shape[1]}x{frames.shape[2]}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
