"""The diffusion animator: MagicAnimate's released weights on diffusers (issue 17).

  layout      the release folder as users assemble it, one-line errors for missing parts
  weights     safe reading (.safetensors / .bin / .ckpt without running pickled code), caching
  loading     diffusers/transformers components from the release
  temporal    MagicAnimate's motion modules beside diffusers' UNet2DConditionModel
  reference   the appearance encoder's reference attention as attention processors
  context     16-frame context windows
  pipeline    MagicAnimatePipeline (``__call__`` = MagicAnimate's sampler)
  framing     the job's frames to MagicAnimate's squares and back
  animator    the Animator the job, CLI, worker and batch use
  config      defaults (magicanimate.json) and the weights folder's overrides
  random_release  a release-layout folder of random weights (tests, benchmarks)
"""

from .animator import DiffusionAnimator  # noqa: F401  (registers "diffusion")
