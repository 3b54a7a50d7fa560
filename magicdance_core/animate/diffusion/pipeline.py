"""MagicAnimatePipeline: MagicAnimate's sampler on diffusers' components.

Components (each from its own folder and config of the release, see :mod:`.layout`):
``vae`` (AutoencoderKL), ``text_encoder`` + ``tokenizer`` (transformers' CLIP), ``unet``
(UNet2DConditionModel with :mod:`.temporal` attached), ``controlnet`` (ControlNetModel, the
DensePose ControlNet), ``appearance_encoder`` (a UNet2DConditionModel, read through
:mod:`.reference`), ``temporal`` (the motion modules), ``scheduler`` (DDIMScheduler) and, optional,
``face`` (MagicDance's face attention, :mod:`.face`; None: the animator is exactly MagicAnimate).
Sampling settings are ``__call__`` arguments; their defaults are ``self.animator_config["sampling"]``
(:mod:`.config`).

For any song length the GPU holds one window at a time: the whole song's latents and the
averaged noise predictions stay on the CPU (float32), the ControlNet's residuals are kept only
for the frames later windows of the step still need, and the VAE decodes a few frames at a time.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence

import numpy as np
import torch

from diffusers import AutoencoderKL, ControlNetModel, DDIMScheduler, UNet2DConditionModel
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.utils import BaseOutput

from ...errors import BadInput
from ...progress import ProgressFn, null_progress
from . import face as face_attn
from . import reference as ref
from .config import merged_sampling
from .context import context_windows, padded_length
from .temporal import TemporalModules


@dataclass
class MagicAnimateOutput(BaseOutput):
    frames: np.ndarray | torch.Tensor    # (T,H,W,3) float in [0,1] ("np"), or (T,4,h,w) latents ("latent")


class MagicAnimatePipeline(DiffusionPipeline):
    _optional_components: list = ["face"]
    model_cpu_offload_seq = "text_encoder->appearance_encoder->controlnet->unet->vae"

    def __init__(self, vae: AutoencoderKL, text_encoder, tokenizer, unet: UNet2DConditionModel,
                 controlnet: ControlNetModel, appearance_encoder: UNet2DConditionModel,
                 temporal: TemporalModules, scheduler: DDIMScheduler, face: Optional["face_attn.FaceModule"] = None):
        super().__init__()
        self.register_modules(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                              controlnet=controlnet, appearance_encoder=appearance_encoder,
                              temporal=temporal, scheduler=scheduler, face=face)
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.bank = ref.ReferenceBank()
        self.face_ctx = face_attn.FaceContext()
        from .config import load_config

        self.animator_config = load_config(None)
        temporal.attach(unet)

    @classmethod
    def from_release(cls, weights_dir, progress: Optional[ProgressFn] = None, use_cache: bool = True):
        """Load MagicAnimate's ``pretrained_models`` folder (see :mod:`.loading`)."""
        from .loading import load_release

        return load_release(weights_dir, progress=progress, use_cache=use_cache)

    # -- pieces of __call__ ------------------------------------------------------------------
    @property
    def _device(self) -> torch.device:
        return self.unet.device

    def encode_prompt(self, prompt: str, negative_prompt: str, guidance: bool):
        """(cond, uncond or None) CLIP embeddings, (1, 77, C) each."""
        def enc(text):
            ids = self.tokenizer(text, padding="max_length", max_length=self.tokenizer.model_max_length,
                                 truncation=True, return_tensors="pt").input_ids
            return self.text_encoder(ids.to(self.text_encoder.device))[0].to(self.unet.dtype)

        return enc(prompt), (enc(negative_prompt) if guidance else None)

    def encode_reference(self, image: np.ndarray) -> torch.Tensor:
        """MagicAnimate's reference latents: pixels to [-1, 1], the VAE's posterior mean, scaled."""
        x = torch.from_numpy(np.ascontiguousarray(image)).float().div(127.5).sub(1.0)
        x = x.permute(2, 0, 1)[None].to(self.vae.device, self.vae.dtype)
        return (self.vae.encode(x).latent_dist.mean * self.vae.config.scaling_factor).to(self.unet.dtype)

    def initial_noise(self, num_frames: int, window: int, h: int, w: int, seed: int) -> torch.Tensor:
        """One window of noise from ``seed`` (a CPU generator: the same on every device),
        repeated over the song as MagicAnimate does; (num_frames, 4, h, w) float32 on the CPU."""
        g = torch.Generator("cpu").manual_seed(int(seed))
        c = self.unet.config.in_channels
        noise = torch.randn((1, c, window, h, w), generator=g, dtype=torch.float32)[0].transpose(0, 1)
        reps = -(-num_frames // window)
        return noise.repeat(reps, 1, 1, 1)[:num_frames] * self.scheduler.init_noise_sigma

    def _control_images(self, poses: Sequence, frames: list) -> torch.Tensor:
        arr = np.stack([np.asarray(poses[f]) for f in frames])
        x = torch.from_numpy(arr).to(self.controlnet.device).permute(0, 3, 1, 2)
        return x.to(self.controlnet.dtype) / 255.0

    def decode_frames(self, latents: torch.Tensor, chunk: int = 4, count: Optional[int] = None,
                      progress: Optional[ProgressFn] = None) -> Iterator[np.ndarray]:
        """Decoded frames (H,W,3) float32 in [0,1], ``chunk`` frames through the VAE at a time."""
        n = len(latents) if count is None else int(count)
        prog = progress or null_progress
        for a in range(0, n, chunk):
            z = latents[a:min(a + chunk, n)].to(self.vae.device, self.vae.dtype) / self.vae.config.scaling_factor
            x = self.vae.decode(z).sample
            x = (x / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).float().cpu().numpy()
            for img in x:
                yield img
            prog("decode", min(a + chunk, n) / n, f"frame {min(a + chunk, n)}/{n}")

    def encode_face(self, face_image: Optional[np.ndarray]) -> Optional[torch.Tensor]:
        """(1, N, C) face tokens of the face crop, or None (no face module, or no face)."""
        if self.face is None or face_image is None:
            return None
        return self.face.encode(self.vae, face_image).to(self.unet.dtype)

    @contextlib.contextmanager
    def _reference_attention(self, fusion_blocks: str, on: bool):
        """Install the write/read processors for the duration of one call."""
        if not on:
            yield
            return
        names_u = ref.fused_layer_names(list(self.unet.attn_processors), fusion_blocks)
        names_a = ref.fused_layer_names(list(self.appearance_encoder.attn_processors), fusion_blocks)
        if names_u != names_a or not names_u:
            raise BadInput("the appearance encoder's transformer blocks do not match the UNet's")
        self.bank.expected = len(names_u)
        before_u = ref.install(self.unet, self.bank, names_u, ref.ReferenceReadProcessor)
        before_a = ref.install(self.appearance_encoder, self.bank, names_a, ref.ReferenceWriteProcessor)
        try:
            yield
        finally:
            self.unet.set_attn_processor(before_u)
            self.appearance_encoder.set_attn_processor(before_a)
            self.bank.clear()
            self.bank.reading = False

    # -- sampling ------------------------------------------------------------------------------
    @torch.no_grad()
    def __call__(self, reference_image: np.ndarray, pose_frames: Sequence, *,
                 num_inference_steps: Optional[int] = None, guidance_scale: Optional[float] = None,
                 seed: int = 0, prompt: Optional[str] = None, negative_prompt: Optional[str] = None,
                 context_frames: Optional[int] = None, context_overlap: Optional[int] = None,
                 closed_loop: Optional[bool] = None, controlnet_conditioning_scale: Optional[float] = None,
                 eta: Optional[float] = None, fusion_blocks: Optional[str] = None,
                 reference_attention: Optional[bool] = None, vae_decode_chunk: Optional[int] = None,
                 face_image: Optional[np.ndarray] = None,
                 output_type: str = "np", latents: Optional[torch.Tensor] = None, start_step: int = 0,
                 progress: Optional[ProgressFn] = None,
                 callback_on_step_end: Optional[Callable[[int, torch.Tensor], None]] = None) -> MagicAnimateOutput:
        """Animate ``reference_image`` (S,S,3 uint8) along ``pose_frames`` (a sequence of S,S,3 uint8
        DensePose images, read lazily). ``latents``/``start_step`` resume an interrupted run from the
        latents ``callback_on_step_end(step_done, latents)`` was given. ``progress(stage, fraction,
        message)`` is called per window; it may raise Cancelled. ``face_image``: the face crop
        (:func:`.face.face_crop`) the face module attends to; ignored without a face module."""
        prog = progress or null_progress
        # 1. settings: the call's arguments over the config's defaults
        s = merged_sampling(self.animator_config["sampling"], num_inference_steps=num_inference_steps,
                            guidance_scale=guidance_scale, prompt=prompt, negative_prompt=negative_prompt,
                            context_frames=context_frames, context_overlap=context_overlap,
                            closed_loop=closed_loop, controlnet_conditioning_scale=controlnet_conditioning_scale,
                            eta=eta, fusion_blocks=fusion_blocks, reference_attention=reference_attention,
                            vae_decode_chunk=vae_decode_chunk)
        steps, g_scale, L = int(s["num_inference_steps"]), float(s["guidance_scale"]), int(s["context_frames"])
        cfg = g_scale > 1.0

        # 2. inputs
        ref_img = np.asarray(reference_image)
        S = ref_img.shape[0]
        if ref_img.shape != (S, S, 3) or S % self.vae_scale_factor:
            raise BadInput(f"the reference image must be square RGB with a side divisible by "
                           f"{self.vae_scale_factor}, got {ref_img.shape}")
        T = len(pose_frames)
        if T == 0:
            raise BadInput("no pose frames to animate")
        if np.asarray(pose_frames[0]).shape != (S, S, 3):
            raise BadInput(f"pose frames must be {S}x{S} RGB like the reference, got {np.asarray(pose_frames[0]).shape}")
        max_len = int(self.temporal.cfg["temporal_position_encoding_max_len"])
        if self.temporal.cfg["temporal_position_encoding"] and L > max_len:
            raise BadInput(f"context_frames {L} exceeds the temporal modules' {max_len} frame positions")
        Tp = padded_length(T, L)                      # MagicAnimate pads with the last frame
        poses = _Clamped(pose_frames, T)
        h = w = S // self.vae_scale_factor

        # 3. prompt and reference
        cond, uncond = self.encode_prompt(s["prompt"], s["negative_prompt"], cfg)
        ref_latents = self.encode_reference(ref_img)
        face_tokens = self.encode_face(face_image)

        # 4. timesteps
        self.scheduler.set_timesteps(steps, device="cpu")
        timesteps = self.scheduler.timesteps

        # 5. initial latents (the whole song, float32 on the CPU)
        if latents is None:
            latents = self.initial_noise(Tp, L, h, w, seed)
            start_step = 0
        elif tuple(latents.shape) != (Tp, self.unet.config.in_channels, h, w):
            raise BadInput("saved sampling state does not match this song")
        latents = latents.float().cpu()

        # 6. denoising loop
        windows = context_windows(Tp, L, int(s["context_overlap"]), bool(s["closed_loop"]))
        last_use = {}
        for wi, win in enumerate(windows):
            for f in win:
                last_use[f] = wi
        dev, dt = self._device, self.unet.dtype
        n_work = max(1, (steps - start_step) * len(windows))
        with self._reference_attention(s["fusion_blocks"], bool(s["reference_attention"])), \
                face_attn.face_attention(self.unet, self.face, face_tokens, self.face_ctx):
            for i in range(start_step, steps):
                t = timesteps[i]
                # 6a. the appearance encoder writes the reference features of this step
                if s["reference_attention"]:
                    self.bank.reading = False
                    ref.run_writer(self.appearance_encoder, self.bank, ref_latents, t.to(dev), cond)
                    self.bank.reading = True
                eps_sum = torch.zeros_like(latents)
                count = torch.zeros((Tp, 1, 1, 1))
                control_cache: dict = {}
                for wi, win in enumerate(windows):
                    F_ = len(win)
                    x = latents[win].to(dev, dt)
                    x = self.scheduler.scale_model_input(x, t)
                    # 6b. ControlNet residuals, once per frame and step (it sees each frame alone)
                    todo = [f for f in win if f not in control_cache]
                    if todo:
                        idx = [win.index(f) for f in todo]
                        down, mid = self.controlnet(
                            x[idx], t.to(dev), encoder_hidden_states=cond.expand(len(todo), -1, -1),
                            controlnet_cond=self._control_images(poses, todo),
                            conditioning_scale=float(s["controlnet_conditioning_scale"]), return_dict=False)
                        for j, f in enumerate(todo):
                            control_cache[f] = ([d[j:j + 1] for d in down], mid[j:j + 1])
                    down = [torch.cat([control_cache[f][0][k] for f in win]) for k in range(len(control_cache[win[0]][0]))]
                    mid = torch.cat([control_cache[f][1] for f in win])
                    # 6c. the denoiser on the window (unconditional and conditional halves at once)
                    if cfg:
                        x_in = torch.cat([x, x])
                        text = torch.cat([uncond.expand(F_, -1, -1), cond.expand(F_, -1, -1)])
                        down, mid = [torch.cat([d, d]) for d in down], torch.cat([mid, mid])
                        self.bank.read_rows = slice(F_, 2 * F_)
                        self.face_ctx.rows = slice(F_, 2 * F_)       # the face, like the reference: cond half
                    else:
                        x_in, text = x, cond.expand(F_, -1, -1)
                        self.bank.read_rows = slice(0, F_)
                        self.face_ctx.rows = slice(0, F_)
                    self.temporal.frames.num_frames = F_
                    eps = self.unet(x_in, t.to(dev), encoder_hidden_states=text,
                                    down_block_additional_residuals=down, mid_block_additional_residual=mid,
                                    return_dict=False)[0]
                    if cfg:
                        e_u, e_c = eps.chunk(2)
                        eps = e_u + g_scale * (e_c - e_u)
                    # 6d. average over the windows holding each frame
                    ix = torch.tensor(win)
                    eps_sum.index_add_(0, ix, eps.float().cpu())
                    count.index_add_(0, ix, torch.ones((F_, 1, 1, 1)))
                    for f in win:
                        if last_use[f] == wi:
                            control_cache.pop(f, None)
                    done = (i - start_step) * len(windows) + wi + 1
                    prog("sample", done / n_work, f"step {i + 1}/{steps} window {wi + 1}/{len(windows)}")
                # 6e. the scheduler's step on the whole song
                latents = self.scheduler.step(eps_sum / count, t, latents, eta=float(s["eta"])).prev_sample
                if callback_on_step_end is not None:
                    callback_on_step_end(i + 1, latents)
        self.temporal.frames.num_frames = 1

        # 7. output
        if output_type == "latent":
            return MagicAnimateOutput(frames=latents[:T])
        frames = np.stack(list(self.decode_frames(latents, int(s["vae_decode_chunk"]), count=T)))
        return MagicAnimateOutput(frames=frames)


class _Clamped:
    """Frame ``i`` of ``frames`` for i past the end: the last frame (MagicAnimate's edge padding)."""

    def __init__(self, frames: Sequence, n: int) -> None:
        self.frames, self.n = frames, n

    def __getitem__(self, i: int):
        return self.frames[min(int(i), self.n - 1)]
