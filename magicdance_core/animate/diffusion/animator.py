"""The diffusion animator behind the project's Animator interface (what the job, CLI, worker and
batch call): the job's DensePose pass + the photo -> MagicAnimatePipeline -> frames of the
pass's size.

Interrupted sampling (Ctrl-C, the worker's cancel, the progress callback raising Cancelled)
stops within one window; the latents of the last finished step are saved atomically to the
job's ``animate_state.safetensors`` with the inputs' key, and the next run of the same job
continues from that step (DDIM with eta 0 is deterministic: the video is the one an
uninterrupted run makes). The file is removed once the video is made.

``face_weights`` (``--face-weights FILE``) adds MagicDance's face attention (:mod:`.face`): the
photo analysis' face box gives the crop; without the file (or without a face in the photo) the
frames are MagicAnimate's.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Optional

import numpy as np

from ...errors import BadInput, Cancelled
from ...fileio import atomic_path
from ..base import AnimateOptions, Animator, register
from .config import load_config, merged_sampling
from .framing import PoseFrames, from_square, reference_image
from .layout import find_release

STATE_FILE = "animate_state.safetensors"
_PIPES: dict = {}       # one loaded pipeline per process (a batch worker animates many rows)


def pick_device(device: Optional[str] = None):
    import torch

    name = device or os.environ.get("MAGICDANCE_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BadInput("MAGICDANCE_DEVICE asks for cuda, but torch sees no CUDA device")
    return dev


def load_pipeline(weights, device=None, progress=None):
    """The release in ``weights`` as a MagicAnimatePipeline on ``device`` (fp16 on CUDA), cached."""
    import torch

    from .pipeline import MagicAnimatePipeline

    rel = find_release(weights)
    dev = pick_device(device)
    cfg = load_config(rel.root)
    dtype = getattr(torch, cfg["precision"]["cuda" if dev.type == "cuda" else "cpu"])
    key = (rel.fingerprint(), str(dev), str(dtype), json.dumps(cfg, sort_keys=True))
    if key not in _PIPES:
        _PIPES.clear()
        pipe = MagicAnimatePipeline.from_release(rel.root, progress=progress)
        _PIPES[key] = pipe.to(dev, dtype)
    return _PIPES[key]


_FACES: dict = {}       # the loaded face module per (file, mtime, size)


def load_face(path, unet):
    """The face module of ``path`` for ``unet`` (cached per file version), or None."""
    if path is None:
        return None
    from .face import load_face_module

    p = Path(path)
    st = p.stat() if p.is_file() else None
    key = (str(p.resolve()), st and st.st_mtime_ns, st and st.st_size, id(unet))
    if key not in _FACES:
        _FACES.clear()
        _FACES[key] = load_face_module(p, unet).to(unet.device, unet.dtype)
    return _FACES[key]


def face_image_for(photo, pass_wh, size: int, face_size: int):
    """The face crop of the photo as the reference image shows it (None: no face found)."""
    from .face import face_crop, photo_head_box

    box = photo_head_box(getattr(photo, "face_box", None), (photo.image.shape[1], photo.image.shape[0]),
                         pass_wh, size)
    if box is None:
        return None
    return face_crop(reference_image(photo.image, pass_wh[0], pass_wh[1], size), box, face_size)


class _Rig:
    def __init__(self, photo, weights):
        self.photo, self.weights = photo, weights


@register("diffusion")
class DiffusionAnimator(Animator):
    """MagicAnimate's release (``--animator-weights DIR``), driven by the job's DensePose pass."""

    name = "diffusion"

    def __init__(self, weights: Optional[str] = None, steps: Optional[int] = None,
                 guidance: Optional[float] = None, device: Optional[str] = None,
                 face_weights: Optional[str] = None):
        self.weights, self.steps, self.guidance, self.device = weights, steps, guidance, device
        self.face_weights = face_weights

    def settings(self) -> dict:
        rel = find_release(self.weights)
        return merged_sampling(load_config(rel.root)["sampling"], num_inference_steps=self.steps,
                               guidance_scale=self.guidance)

    def check(self) -> None:
        """Up-front checks (before the job's heavy stages): the release is complete, settings in
        range, the face weights file (if any) is one."""
        self.settings()
        if self.face_weights is not None:
            from ...errors import MagicDanceError
            from .face import read_face_config

            try:
                read_face_config(self.face_weights)
            except MagicDanceError as e:
                raise type(e)(f"--face-weights: {e}") from None

    def key(self) -> dict:
        rel = find_release(self.weights)
        k = {"weights": rel.fingerprint(), "sampling": self.settings(), "config": load_config(rel.root)}
        if self.face_weights is not None:
            from ...fileio import sha256_file

            k["face_weights"] = sha256_file(self.face_weights)
        return k

    def prepare(self, photo, options: AnimateOptions):
        self.check()
        return _Rig(photo, self.weights)

    def animate(self, rig, dancer, options: AnimateOptions, progress=None):
        import torch

        prog = progress or (lambda s, f, m="": None)
        s = self.settings()
        size = int(s["size"])
        if dancer.passes_dir is None:
            raise BadInput("the diffusion animator is driven by the job's DensePose pass, and the job has none "
                           "(keep --passes densepose; see the passes stage's warning)")
        poses = PoseFrames(Path(dancer.passes_dir) / "densepose", size)
        if len(poses) != dancer.num_frames:
            raise BadInput(f"the job's DensePose pass has {len(poses)} frames, the dance {dancer.num_frames}: "
                           "re-render the passes")
        ref = reference_image(rig.photo.image, poses.width, poses.height, size)
        seed = int(options.extra.get("seed", 0))
        pipe = load_pipeline(self.weights, self.device, progress=lambda st, f, m="": prog("animate", 0.04 * f, m))
        pipe.face = load_face(self.face_weights, pipe.unet)
        face_img = None if pipe.face is None else \
            face_image_for(rig.photo, (poses.width, poses.height), size, pipe.face.cfg.face_size)
        state_path = Path(options.extra["work_dir"]) / STATE_FILE if options.extra.get("work_dir") else None
        state_key = hashlib.sha256(json.dumps(
            [self.key(), seed, poses.digest(), hashlib.sha256(ref.tobytes()).hexdigest(), str(pipe.device),
             str(pipe.unet.dtype)], sort_keys=True, default=str).encode()).hexdigest()
        latents, start = _load_state(state_path, state_key)
        steps = int(s["num_inference_steps"])
        last = {"step": start, "latents": latents}

        def keep(step, lat):
            last["step"], last["latents"] = step, lat

        def sample_progress(_stage, f, m=""):
            prog("animate", 0.04 + 0.86 * f, m)

        if start < steps:
            try:
                out = pipe(ref, poses, num_inference_steps=steps, guidance_scale=float(s["guidance_scale"]),
                           seed=seed, face_image=face_img, output_type="latent", latents=latents, start_step=start,
                           progress=sample_progress, callback_on_step_end=keep)
            except (Cancelled, KeyboardInterrupt):
                if state_path is not None and last["latents"] is not None:
                    _save_state(state_path, state_key, last["step"], last["latents"])
                raise
            latents = out.frames
            if state_path is not None:      # an interrupt while decoding/encoding keeps the sampling
                _save_state(state_path, state_key, steps, latents)
        n = len(poses)
        chunk = int(s["vae_decode_chunk"])
        with torch.no_grad():
            for k, img in enumerate(pipe.decode_frames(latents, chunk, count=n)):
                yield from_square(img, poses.width, poses.height)
                if (k + 1) % chunk == 0 or k + 1 == n:
                    prog("animate", 0.9 + 0.1 * (k + 1) / n, f"frame {k + 1}/{n}")
        if state_path is not None:
            state_path.unlink(missing_ok=True)


def _load_state(path: Optional[Path], key: str):
    if path is None or not path.is_file():
        return None, 0
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("key") != key:
                return None, 0                   # other inputs or settings: start over
            return f.get_tensor("latents"), int(meta["step"])
    except (SafetensorError, OSError, KeyError, ValueError):
        return None, 0


def _save_state(path: Path, key: str, step: int, latents) -> None:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({"latents": latents.contiguous().cpu()}, str(tmp), metadata={"key": key, "step": str(step)})


def frames_to_uint8(frames: np.ndarray) -> np.ndarray:
    return (np.clip(frames, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
