"""The diffusion animator (MagicAnimate-compatible) behind the same interface as the puppet.

MagicAnimate needs Stable Diffusion 1.5 weights, its appearance encoder, temporal attention
and the DensePose-driven ControlNet: none can ship or be downloaded here, so this animator
only runs when the user names a folder holding them. It checks the folder's layout and
otherwise raises MissingModel with what is missing; the denoising loop itself is a later issue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..errors import MissingModel
from .base import AnimateOptions, Animator, register

# MagicAnimate's release layout: pretrained_models/{MagicAnimate/{appearance_encoder,
# densepose_controlnet,temporal_attention}, stable-diffusion-v1-5}
REQUIRED = ("MagicAnimate/appearance_encoder", "MagicAnimate/densepose_controlnet",
            "MagicAnimate/temporal_attention", "stable-diffusion-v1-5")


@register("diffusion")
class DiffusionAnimator(Animator):
    name = "diffusion"

    def __init__(self, weights: Optional[str] = None):
        self.weights = Path(weights) if weights else None

    def _check(self):
        if self.weights is None:
            raise MissingModel("the diffusion animator needs MagicAnimate + Stable Diffusion 1.5 weights: "
                               "pass --animator-weights DIR (MagicAnimate's pretrained_models folder); "
                               "the built-in 'puppet' animator needs none")
        missing = [r for r in REQUIRED if not (self.weights / r).is_dir()]
        if missing:
            raise MissingModel(f"{self.weights} lacks {', '.join(missing)} (MagicAnimate's pretrained_models layout)")
        raise MissingModel("MagicAnimate weights found, but the diffusion animator's sampler is not "
                           "implemented yet in this version: use the 'puppet' animator")

    def prepare(self, photo, options: AnimateOptions):
        self._check()

    def animate(self, rig, dancer, options, progress=None):
        self._check()
        yield from ()
