"""``magicdance train-animator``: fine-tune the face module (and optionally the appearance
encoder, the DensePose ControlNet and the temporal modules) in MagicAnimate's two stages.

* **image stage**: single frames -- the reference photo (through the appearance encoder's
  reference attention and the face module) and the frame's DensePose (through the ControlNet)
  -> the frame; the temporal modules are detached (SD's UNet alone), as MagicAnimate's stage 1.
* **video stage**: ``frames``-frame clips with the temporal modules attached (stage 2).

Loss: the standard noise-prediction MSE -- the frame's VAE latents noised by diffusers'
``DDPMScheduler.add_noise`` at a uniform random timestep (the release's training schedule:
the DDIM sampler's betas, 1000 steps), the UNet's prediction against that noise. The reference
and the face are dropped together for ``condition_drop`` of the steps, so classifier-free
guidance at sampling (whose unconditional half sees neither) has something to contrast.
AdamW over the trained parameters; EMA of them (diffusers' ``EMAModel``); on CUDA only: mixed
precision (autocast, bf16 or fp16 with a GradScaler) and gradient checkpointing of the UNet.

Every random draw (clips, frames, timesteps, noise, VAE samples) comes from one torch Generator
whose state is in the checkpoint with the optimizer, the EMA, the step and the losses, so
``--resume`` continues the very same run: its losses are those an uninterrupted run logs.

Outputs in ``--out``: ``face.safetensors`` (EMA weights when EMA is on), the other trained
modules in the release's own layout (``MagicAnimate/appearance_encoder/`` ...), ``checkpoint/``,
``log.jsonl`` (one line per step), ``loss.png`` (the curve), ``validation/step_NNNNNN.mp4``
(held-out clip: generated | ground truth) every ``validation.every`` steps.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import BadInput, Cancelled
from ...fileio import atomic_path, atomic_write_text, temp_dir_name
from ...progress import ProgressFn, null_progress
from . import face as face_attn
from . import reference as ref
from .clips import Clip, find_clips, square_frame, square_pose

MODULES = ("face", "appearance_encoder", "controlnet", "temporal")
DEFAULTS = {
    "animator_weights": None,         # MagicAnimate's pretrained_models folder (relative to the config file)
    "size": 256,
    "seed": 0,
    "face": {"face_size": 64, "patch": 2, "scale": 1.0, "init": None},
    "stages": [
        {"name": "image", "steps": 1000, "batch_size": 4, "lr": 1e-4, "train": ["face"]},
        {"name": "video", "steps": 500, "batch_size": 1, "frames": 16, "lr": 5e-5, "train": ["face"]},
    ],
    "weight_decay": 0.01,
    "max_grad_norm": 1.0,
    "condition_drop": 0.1,
    "ema": {"decay": 0.999},
    "mixed_precision": "bf16",        # CUDA only: bf16, fp16 or no
    "gradient_checkpointing": True,   # CUDA only
    "checkpoint_every": 100,
    "eval_batches": 2,                # fixed (t, noise) batches of the train clips, scored at start and each checkpoint
    "validation": {"every": 500, "frames": 8, "steps": 10, "guidance": 3.5},
}
STAGE_KEYS = {"name", "steps", "batch_size", "frames", "lr", "train"}


# -- config ----------------------------------------------------------------------------------------
def load_train_config(path) -> dict:
    """The config file (YAML or JSON) over :data:`DEFAULTS`, checked; one line naming the first mistake."""
    p = Path(path)
    if not p.is_file():
        raise BadInput(f"--config: file not found: {p}")
    import yaml

    try:
        text = p.read_text()
        user = (yaml.safe_load(text) or {}) if p.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise BadInput(f"--config: {p} is not readable ({str(e).splitlines()[0]})") from None
    if not isinstance(user, dict):
        raise BadInput(f"--config: {p} must hold a mapping of settings")
    unknown = set(user) - set(DEFAULTS)
    if unknown:
        raise BadInput(f"--config: unknown setting(s) {', '.join(sorted(unknown))} (known: {', '.join(DEFAULTS)})")
    cfg = copy.deepcopy(DEFAULTS)
    for k, v in user.items():
        if isinstance(cfg.get(k), dict) and isinstance(v, dict):
            bad = set(v) - set(cfg[k])
            if bad:
                raise BadInput(f"--config: unknown {k} setting(s) {', '.join(sorted(bad))}")
            cfg[k].update(v)
        else:
            cfg[k] = v
    if cfg["animator_weights"] is not None and not Path(cfg["animator_weights"]).is_absolute():
        cfg["animator_weights"] = str((p.parent / cfg["animator_weights"]).resolve())
    if cfg["face"].get("init") is not None and not Path(cfg["face"]["init"]).is_absolute():
        cfg["face"]["init"] = str((p.parent / cfg["face"]["init"]).resolve())
    check_train_config(cfg)
    return cfg


def _num(v, what, lo, hi, integer=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi \
            or (integer and int(v) != v):
        kind = "a whole number" if integer else "a number"
        raise BadInput(f"--config: {what} must be {kind} in {lo}..{hi}, got {v!r}")


def check_train_config(cfg: dict) -> None:
    _num(cfg["size"], "size", 64, 2048, True)
    if cfg["size"] % 8:
        raise BadInput(f"--config: size must be a multiple of 8, got {cfg['size']}")
    _num(cfg["seed"], "seed", 0, 2 ** 63 - 1, True)
    f = cfg["face"]
    _num(f["face_size"], "face.face_size", 8, 1024, True)
    _num(f["patch"], "face.patch", 1, 8, True)
    if f["face_size"] % (8 * f["patch"]):
        raise BadInput(f"--config: face.face_size must be a multiple of 8 x face.patch, got {f['face_size']}")
    _num(f["scale"], "face.scale", 0, 10)
    if not isinstance(cfg["stages"], list) or not cfg["stages"]:
        raise BadInput("--config: stages must be a list of stages (image, video)")
    for i, st in enumerate(cfg["stages"]):
        if not isinstance(st, dict):
            raise BadInput(f"--config: stage {i + 1} must be a mapping")
        bad = set(st) - STAGE_KEYS
        if bad:
            raise BadInput(f"--config: stage {i + 1}: unknown setting(s) {', '.join(sorted(bad))}")
        if st.get("name") not in ("image", "video"):
            raise BadInput(f"--config: stage {i + 1}: name must be 'image' or 'video', got {st.get('name')!r}")
        _num(st.get("steps", 0), f"stage {st['name']} steps", 0, 10 ** 8, True)
        _num(st.get("batch_size", 1), f"stage {st['name']} batch_size", 1, 1024, True)
        _num(st.get("lr", 1e-4), f"stage {st['name']} lr", 0, 1)
        if st["name"] == "video":
            _num(st.get("frames", 16), "stage video frames", 2, 64, True)
            if st.get("batch_size", 1) != 1:
                raise BadInput("--config: the video stage trains one clip at a time (batch_size 1), as MagicAnimate")
        train = st.get("train", ["face"])
        if not isinstance(train, list) or not train or set(train) - set(MODULES):
            raise BadInput(f"--config: stage {st['name']} train must list some of {', '.join(MODULES)}, got {train!r}")
        if st["name"] == "image" and "temporal" in train:
            raise BadInput("--config: the image stage runs without the temporal modules; train them in the video stage")
    _num(cfg["weight_decay"], "weight_decay", 0, 1)
    _num(cfg["max_grad_norm"], "max_grad_norm", 0, 1e6)
    _num(cfg["condition_drop"], "condition_drop", 0, 1)
    if cfg["ema"] is not None:
        _num(cfg["ema"]["decay"], "ema.decay", 0, 1)
    if cfg["mixed_precision"] not in ("bf16", "fp16", "no"):
        raise BadInput(f"--config: mixed_precision must be bf16, fp16 or no, got {cfg['mixed_precision']!r}")
    _num(cfg["checkpoint_every"], "checkpoint_every", 1, 10 ** 8, True)
    _num(cfg["eval_batches"], "eval_batches", 0, 1000, True)
    v = cfg["validation"]
    _num(v["every"], "validation.every", 0, 10 ** 8, True)
    _num(v["frames"], "validation.frames", 1, 1000, True)
    _num(v["steps"], "validation.steps", 1, 1000, True)
    _num(v["guidance"], "validation.guidance", 0, 50)


# -- batches ----------------------------------------------------------------------------------------
@dataclass
class Sample:
    frames: np.ndarray       # (F,S,S,3) uint8
    poses: np.ndarray        # (F,S,S,3) uint8
    reference: np.ndarray    # (S,S,3) uint8
    face: np.ndarray         # (face_size, face_size, 3) uint8


def draw_sample(clip: Clip, n_frames: int, size: int, face_size: int, g: torch.Generator) -> Sample:
    n = len(clip)
    start = int(torch.randint(0, max(1, n - n_frames + 1), (1,), generator=g))
    idx = [min(start + k, n - 1) for k in range(n_frames)]
    rng = np.random.default_rng(int(torch.randint(0, 2 ** 31, (1,), generator=g)))
    ref_rgb, ref_dp = clip.reference_pair(rng, avoid=idx[0])
    reference = square_frame(ref_rgb, size)
    ref_pose = square_pose(ref_dp, size)
    box = face_attn.densepose_head_box(ref_pose) or (size * 0.4, 0, size * 0.6, size * 0.2)
    return Sample(frames=np.stack([square_frame(clip.frame(i), size) for i in idx]),
                  poses=np.stack([square_pose(clip.pose(i), size) for i in idx]),
                  reference=reference, face=face_attn.face_crop(reference, box, face_size))


def _images(x: np.ndarray, device, dtype) -> torch.Tensor:
    """uint8 (B,S,S,3) -> (B,3,S,S) in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(x)).to(device).permute(0, 3, 1, 2).to(dtype).div(127.5).sub(1.0)


# -- the trainer ------------------------------------------------------------------------------------
class AnimatorTrainer:
    def __init__(self, cfg: dict, data_dir, out_dir, device=None, progress: Optional[ProgressFn] = None,
                 log=lambda s: None):
        from diffusers import DDPMScheduler

        from .animator import pick_device
        from .loading import load_release

        self.cfg, self.out = cfg, Path(out_dir)
        self.prog = progress or null_progress
        self.log = log
        self.clips = find_clips(data_dir)                 # the data first: a wrong folder costs nothing
        self.train_clips = [c for c in self.clips if c.split != "val"] or self.clips
        self.val_clips = [c for c in self.clips if c.split == "val"] or self.clips[-1:]
        if cfg["animator_weights"] is None:
            raise BadInput("--config: animator_weights must name MagicAnimate's pretrained_models folder "
                           "(or pass --animator-weights DIR)")
        self.device = pick_device(device)
        self.cuda = self.device.type == "cuda"
        self.prog("train", 0.0, "loading the animator")
        pipe = load_release(cfg["animator_weights"])
        self.pipe = pipe.to(self.device, torch.float32)
        self.noise_scheduler = DDPMScheduler.from_config(
            {k: v for k, v in pipe.scheduler.config.items() if not k.startswith("_")})
        fc = cfg["face"]
        if fc.get("init"):
            self.face = face_attn.load_face_module(fc["init"], pipe.unet)
        else:
            self.face = face_attn.FaceModule.for_unet(pipe.unet, face_size=fc["face_size"], patch=fc["patch"],
                                                      scale=fc["scale"], seed=int(cfg["seed"]))
        self.face = self.face.to(self.device, torch.float32)
        self.pipe.face = self.face
        with torch.no_grad():
            self.text = pipe.encode_prompt("", "", False)[0].float()     # MagicAnimate trains on the empty prompt
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg["mixed_precision"]) if self.cuda else None
        if self.cuda and cfg["gradient_checkpointing"]:
            self.pipe.unet.enable_gradient_checkpointing()
            self.pipe.controlnet.enable_gradient_checkpointing()

    # -- modules ------------------------------------------------------------------------------
    def module(self, name: str) -> torch.nn.Module:
        return self.face if name == "face" else getattr(self.pipe, name)

    def _set_trainable(self, names: List[str]) -> list:
        for n in MODULES:
            self.module(n).requires_grad_(False).eval()
        params = []
        for n in names:
            m = self.module(n)
            m.requires_grad_(True).train()
            params += [p for p in m.parameters()]
        return params

    # -- one loss ---------------------------------------------------------------------------------
    def loss(self, samples: List[Sample], video: bool, g: torch.Generator, drop: bool,
             timesteps: Optional[torch.Tensor] = None, noise: Optional[torch.Tensor] = None):
        pipe, dev = self.pipe, self.device
        frames = np.concatenate([s.frames for s in samples])             # (B*F,S,S,3)
        poses = np.concatenate([s.poses for s in samples])
        refs = np.stack([s.reference for s in samples])
        faces = np.stack([s.face for s in samples])
        n = len(frames)
        with torch.no_grad():
            x = _images(frames, dev, torch.float32)
            dist = pipe.vae.encode(x).latent_dist
            eps0 = torch.randn(dist.mean.shape, generator=g).to(dev)
            z0 = (dist.mean + dist.std * eps0) * pipe.vae.config.scaling_factor
            ref_lat = face_attn.encode_latents(pipe.vae, _images(refs, dev, torch.float32))
            face_lat = face_attn.encode_latents(pipe.vae, _images(faces, dev, torch.float32))
        if noise is None:
            noise = torch.randn(z0.shape, generator=g)
        noise = noise.to(dev)
        T = int(self.noise_scheduler.config.num_train_timesteps)
        if timesteps is None:
            per = torch.randint(0, T, (len(samples),), generator=g)
            timesteps = per.repeat_interleave(n // len(samples))           # a clip shares its timestep
        t = timesteps.to(dev).long()
        noisy = self.noise_scheduler.add_noise(z0, noise, t)
        text = self.text.expand(n, -1, -1)
        F_ = n // len(samples) if video else 1
        pipe.temporal.frames.num_frames = F_
        autocast = torch.autocast("cuda", dtype=self.amp_dtype) if self.amp_dtype is not None else _null()
        with autocast:
            down, mid = pipe.controlnet(noisy, t, encoder_hidden_states=text,
                                        controlnet_cond=torch.from_numpy(poses).to(dev).permute(0, 3, 1, 2).float() / 255.0,
                                        return_dict=False)
            tokens = None if drop else self.face.encoder(face_lat.to(self.face.dtype))
            with self._reference(on=not drop):
                if not drop:
                    pipe.bank.reading = False
                    ref.run_writer(pipe.appearance_encoder, pipe.bank, ref_lat, t[:: F_][: len(samples)] if video
                                   else t, self.text.expand(len(samples), -1, -1))
                    pipe.bank.reading = True
                    pipe.bank.read_rows = slice(0, n)
                with face_attn.face_attention(pipe.unet, self.face, tokens, pipe.face_ctx):
                    pipe.face_ctx.rows = slice(0, n)
                    pred = pipe.unet(noisy, t, encoder_hidden_states=text, down_block_additional_residuals=down,
                                     mid_block_additional_residual=mid, return_dict=False)[0]
        pipe.temporal.frames.num_frames = 1
        return F.mse_loss(pred.float(), noise.float())

    def _reference(self, on: bool):
        return self.pipe._reference_attention(self.pipe.animator_config["sampling"]["fusion_blocks"], on)

    # -- fixed evaluation batches ---------------------------------------------------------------
    def eval_loss(self) -> Optional[float]:
        """Mean noise-prediction loss on fixed batches of the training clips (same draws every
        time: a number that moves only with the weights), image-stage style."""
        k = int(self.cfg["eval_batches"])
        if k == 0:
            return None
        g = torch.Generator().manual_seed(int(self.cfg["seed"]) + 7919)
        fs = int(self.cfg["face"]["face_size"])
        was = {n: self.module(n).training for n in MODULES}
        for n in MODULES:
            self.module(n).eval()
        attached = bool(self.pipe.temporal._handles)
        if attached:
            self.pipe.temporal.detach(self.pipe.unet)
        tot = []
        with torch.no_grad():
            for _ in range(k):
                samples = [draw_sample(self.train_clips[int(torch.randint(0, len(self.train_clips), (1,), generator=g))],
                                       1, self.cfg["size"], fs, g) for _ in range(2)]
                tot.append(float(self.loss(samples, False, g, drop=False)))
        if attached:
            self.pipe.temporal.attach(self.pipe.unet)
        for n, w in was.items():
            self.module(n).train(w)
        return float(np.mean(tot))

    # -- checkpoint --------------------------------------------------------------------------------
    def save_checkpoint(self, state: dict, names, opt, ema, g: torch.Generator, scaler=None) -> None:
        from safetensors.torch import save_file

        final = self.out / "checkpoint"
        tmp = self.out / temp_dir_name("checkpoint")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        sd = {}
        for n in MODULES:
            for k, v in self.module(n).state_dict().items():
                sd[f"{n}.{k}"] = v.detach().contiguous().cpu()
        sd["_rng"] = g.get_state()
        save_file(sd, str(tmp / "weights.safetensors"))
        torch.save({"optimizer": opt.state_dict(), "ema": ema.state_dict() if ema is not None else None,
                    "scaler": scaler.state_dict() if scaler is not None else None}, tmp / "optimizer.pt")
        (tmp / "state.json").write_text(json.dumps({**state, "train": list(names)}, indent=1))
        old = self.out / temp_dir_name("checkpoint.old")
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)

    def load_checkpoint(self):
        from safetensors.torch import load_file

        d = self.out / "checkpoint"
        if not (d / "state.json").is_file():
            raise BadInput(f"--resume: no checkpoint in {d}")
        state = json.loads((d / "state.json").read_text())
        if state.get("config") != _config_key(self.cfg):
            raise BadInput(f"--resume: {d} was made with another config; use a new --out or the same config")
        sd = load_file(str(d / "weights.safetensors"))
        for n in MODULES:
            mine = {k[len(n) + 1:]: v for k, v in sd.items() if k.startswith(n + ".")}
            self.module(n).load_state_dict(mine)
        rng = sd["_rng"]
        other = torch.load(d / "optimizer.pt", weights_only=True)
        return state, rng, other

    # -- outputs -------------------------------------------------------------------------------------
    def write_weights(self, ema, params) -> Path:
        """face.safetensors (and the other trained modules in the release layout), EMA weights if any."""
        if ema is not None:
            ema.store(params)
            ema.copy_to(params)
        try:
            path = self.face.save(self.out / "face.safetensors")
            for n in self.trained_ever:
                if n != "face":
                    self._write_release_part(n)
        finally:
            if ema is not None:
                ema.restore(params)
        return path

    def _write_release_part(self, name: str) -> None:
        from safetensors.torch import save_file

        from .layout import MA, TEMPORAL_CKPT

        sd = {k: v.detach().contiguous().cpu() for k, v in self.module(name).state_dict().items()}
        if name == "temporal":
            with atomic_path(self.out / TEMPORAL_CKPT) as tmp:
                torch.save(sd, tmp)                         # the release's .ckpt: tensors only (weights_only loads it)
            return
        sub = {"appearance_encoder": "appearance_encoder", "controlnet": "densepose_controlnet"}[name]
        folder = self.out / MA / sub
        folder.mkdir(parents=True, exist_ok=True)
        rel = self.pipe.release
        src = {"appearance_encoder": rel.appearance_encoder, "controlnet": rel.controlnet}[name]
        atomic_write_text(folder / "config.json", (src.folder / "config.json").read_text())
        with atomic_path(folder / "diffusion_pytorch_model.safetensors") as tmp:
            save_file(sd, str(tmp))

    def validate(self, step: int, ema, params) -> Optional[Path]:
        """A held-out clip animated with the current (EMA) weights: generated | ground truth."""
        from ...video.writer import write_video

        v = self.cfg["validation"]
        clip = self.val_clips[0]
        g = torch.Generator().manual_seed(int(self.cfg["seed"]) + 1)
        s = draw_sample(clip, min(int(v["frames"]), len(clip)), self.cfg["size"], self.cfg["face"]["face_size"], g)
        if ema is not None:
            ema.store(params)
            ema.copy_to(params)
        modes = {n: self.module(n).training for n in MODULES}
        attached = bool(self.pipe.temporal._handles)
        try:
            for n in MODULES:
                self.module(n).eval()
            if not attached:
                self.pipe.temporal.attach(self.pipe.unet)
            out = self.pipe(s.reference, list(s.poses), num_inference_steps=int(v["steps"]),
                            guidance_scale=float(v["guidance"]), seed=int(self.cfg["seed"]), face_image=s.face).frames
        finally:
            if not attached:
                self.pipe.temporal.detach(self.pipe.unet)
            for n, w in modes.items():
                self.module(n).train(w)
            if ema is not None:
                ema.restore(params)
        gen = (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
        side = np.concatenate([gen, s.frames], axis=2)
        path = self.out / "validation" / f"step_{step:06d}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(side, path, fps=30)
        return path

    # -- the run --------------------------------------------------------------------------------------
    def train(self, resume: bool = False) -> dict:
        from diffusers.training_utils import EMAModel

        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        g = torch.Generator().manual_seed(int(cfg["seed"]))
        state = {"config": _config_key(cfg), "step": 0, "stage": 0, "stage_step": 0, "losses": [], "eval": []}
        saved = None
        if resume:
            state, rng, saved = self.load_checkpoint()
            g.set_state(rng)
        elif (self.out / "checkpoint").exists():
            raise BadInput(f"--out {self.out} holds a training run already: pass --resume to continue it, "
                           "or choose another --out")
        stages = cfg["stages"]
        total = sum(int(s["steps"]) for s in stages) or 1
        self.trained_ever = sorted({n for s in stages for n in s.get("train", ["face"])})
        if not state["eval"]:
            e0 = self.eval_loss()
            if e0 is not None:
                state["eval"].append([0, e0])
        log_path = self.out / "log.jsonl"
        if not resume:
            log_path.write_text("")
        t_start = time.perf_counter()
        steps_run = 0
        ema = params = None
        for si in range(state["stage"], len(stages)):
            st = stages[si]
            names = st.get("train", ["face"])
            params = self._set_trainable(names)
            video = st["name"] == "video"
            if video:
                self.pipe.temporal.attach(self.pipe.unet)
            else:
                self.pipe.temporal.detach(self.pipe.unet)
            opt = torch.optim.AdamW(params, lr=float(st.get("lr", 1e-4)), weight_decay=float(cfg["weight_decay"]))
            ema = EMAModel(params, decay=float(cfg["ema"]["decay"])) if cfg["ema"] is not None else None
            scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
            if saved is not None and state["stage"] == si:
                opt.load_state_dict(saved["optimizer"])
                if ema is not None and saved["ema"] is not None:
                    ema.load_state_dict(saved["ema"])
                if scaler is not None and saved.get("scaler"):
                    scaler.load_state_dict(saved["scaler"])
                saved = None
            else:
                state["stage"], state["stage_step"] = si, 0
            n_frames = int(st.get("frames", 16)) if video else 1
            bs = int(st.get("batch_size", 1))
            try:
                while state["stage_step"] < int(st["steps"]):
                    samples = [draw_sample(self.train_clips[int(torch.randint(0, len(self.train_clips), (1,), generator=g))],
                                           n_frames, cfg["size"], cfg["face"]["face_size"], g) for _ in range(bs)]
                    drop = bool(torch.rand((1,), generator=g) < float(cfg["condition_drop"]))
                    t0 = time.perf_counter()
                    loss = self.loss(samples, video, g, drop)
                    opt.zero_grad(set_to_none=True)
                    # (a dropped step that trains only the face module has nothing to learn: no gradient)
                    if loss.requires_grad:
                        if scaler is not None:
                            scaler.scale(loss).backward()
                            scaler.unscale_(opt)
                        else:
                            loss.backward()
                        if cfg["max_grad_norm"]:
                            torch.nn.utils.clip_grad_norm_(params, float(cfg["max_grad_norm"]))
                        if scaler is not None:
                            scaler.step(opt)
                            scaler.update()
                        else:
                            opt.step()
                    if ema is not None:
                        ema.step(params)
                    dt = time.perf_counter() - t0
                    state["step"] += 1
                    state["stage_step"] += 1
                    steps_run += 1
                    lv = float(loss.detach())
                    state["losses"].append(lv)
                    with open(log_path, "a") as f:
                        f.write(json.dumps({"step": state["step"], "stage": st["name"], "loss": lv,
                                            "seconds": round(dt, 4), "dropped": drop}) + "\n")
                    self.prog("train", state["step"] / total,
                              f"{st['name']} stage step {state['stage_step']}/{st['steps']} loss {lv:.4f}")
                    last = state["stage_step"] == int(st["steps"])
                    if state["step"] % int(cfg["checkpoint_every"]) == 0 or last:
                        e = self.eval_loss()
                        if e is not None:
                            state["eval"].append([state["step"], e])
                        self.save_checkpoint(state, names, opt, ema, g, scaler)
                        self.write_weights(ema, params)
                        plot_losses(state, self.out / "loss.png")
                    every = int(cfg["validation"]["every"])
                    if every and state["step"] % every == 0:
                        self.validate(state["step"], ema, params)
            except (KeyboardInterrupt, Cancelled):
                # the last finished step is kept: --resume continues from it
                if state["stage_step"] > 0:
                    self.save_checkpoint(state, names, opt, ema, g, scaler)
                raise
        if steps_run == 0 and resume:
            self.log("the run was complete already")
        if params is not None and not (self.out / "face.safetensors").exists():
            self.write_weights(ema, params)
        state["seconds_per_step"] = (time.perf_counter() - t_start) / max(steps_run, 1)
        plot_losses(state, self.out / "loss.png")
        return state


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def _config_key(cfg: dict) -> str:
    import hashlib

    keep = {k: v for k, v in cfg.items() if k not in ("validation", "checkpoint_every")}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]


def plot_losses(state: dict, path: Path) -> None:
    """The loss curve: every step, a running mean, and the fixed evaluation batches."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    losses = np.asarray(state["losses"], np.float64)
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    if len(losses):
        x = np.arange(1, len(losses) + 1)
        ax.plot(x, losses, color="#9ab", lw=0.8, label="train loss (step)")
        k = max(1, len(losses) // 20)
        if len(losses) >= k:
            ax.plot(x[k - 1:], np.convolve(losses, np.ones(k) / k, mode="valid"), color="#246", lw=1.6,
                    label=f"running mean ({k})")
    if state.get("eval"):
        e = np.asarray(state["eval"], np.float64)
        ax.plot(e[:, 0], e[:, 1], "o-", color="#c40", ms=4, label="fixed eval batches")
    ax.set_xlabel("step")
    ax.set_ylabel("noise-prediction MSE")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(str(tmp), format="png")
    plt.close(fig)
