"""``generate_dance``: music in, SMPL dance out (the function the rest of MagicDance calls).

Uses the shipped default checkpoint (``checkpoints/default.safetensors``) or one
named by the caller; when no checkpoint exists it falls back to the procedural
choreographer so the product still works (``meta["model"]`` says which ran).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .. import __version__
from ..body.motion_file import Motion
from ..errors import BadInput, MissingModel
from ..fileio import PathLike, sha256_file
from ..progress import ProgressFn, null_progress
from .constraints import Constraints, apply, apply_root_yaw
from .representation import FRAME_DIM, ROOT_SLICE, ROT_START, Normalizer, WINDOW, features_to_arrays

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINT_DIR / "default.safetensors"
DEFAULT_STEPS = 10
GENERATORS = ("model", "choreo")


@dataclass
class LoadedModel:
    model: "object"              # DanceDenoiser
    normalizer: Normalizer
    music_mean: Optional[np.ndarray]
    music_std: Optional[np.ndarray]
    path: Path
    sha256: str
    training: dict

    @property
    def cfg(self):
        return self.model.cfg


_CACHE: dict = {}
_LOCK = threading.Lock()


def load_model(path: PathLike) -> LoadedModel:
    """Read a project checkpoint (safetensors: ``model.*``, ``normalizer.*``, ``music_norm.*``, config)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    from .model import DanceDenoiser, DenoiserConfig

    p = Path(path)
    if not p.is_file():
        raise MissingModel(f"motion checkpoint not found: {p}")
    key = (str(p.resolve()), p.stat().st_mtime_ns)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            return hit
        try:
            with safe_open(str(p), framework="pt") as f:
                meta = f.metadata() or {}
            tensors = load_file(str(p))
        except (SafetensorError, OSError, ValueError) as e:
            raise BadInput(f"not a readable safetensors motion checkpoint: {p} ({e.__class__.__name__})") from None
        if "config" not in meta or "normalizer.data_min" not in tensors:
            raise BadInput(f"{p} is not a MagicDance motion checkpoint (no config or normaliser)")
        cfg = DenoiserConfig.from_dict(json.loads(meta["config"]))
        model = DanceDenoiser(cfg)
        sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        missing, unexpected = model.load_state_dict(sd, strict=False)
        missing = [k for k in missing if not k.endswith("rotary.freqs")]
        if missing or unexpected:
            raise BadInput(f"checkpoint {p} does not match its config: missing {missing[:3]}, unexpected {unexpected[:3]}")
        model.eval()
        mm = tensors.get("music_norm.mean")
        ms = tensors.get("music_norm.std")
        training = json.loads(meta["training"]) if "training" in meta else {}
        out = LoadedModel(model, Normalizer.from_state_dict(tensors), None if mm is None else mm.numpy(),
                          None if ms is None else ms.numpy(), p, sha256_file(p), training)
        _CACHE.clear()
        _CACHE[key] = out
        return out


def _analysis(music, progress):
    if isinstance(music, (str, bytes)) or hasattr(music, "__fspath__"):
        from ..audio.analysis import analyze_music

        return analyze_music(music, progress=progress)
    return music


def _music_sha(analysis, music) -> str:
    sha = getattr(analysis, "source_sha256", "") or ""
    if not sha and (isinstance(music, str) or hasattr(music, "__fspath__")) and Path(music).is_file():
        sha = sha256_file(music)
    if not sha:
        sha = hashlib.sha256(np.ascontiguousarray(getattr(analysis, "edge35", np.zeros(0)), np.float32).tobytes()).hexdigest()
    return sha


def _edge_frame(feats: np.ndarray, to_edge: bool) -> np.ndarray:
    """Root position and rotation between our Y-up frame and EDGE's Z-up frame."""
    from ..body.rotations import matrix_to_6d, rot6d_to_matrix

    R = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # +90 deg about X: Y-up -> Z-up
    if not to_edge:
        R = R.T
    out = np.array(feats, dtype=np.float64)
    out[:, ROOT_SLICE] = out[:, ROOT_SLICE] @ R.T
    root = rot6d_to_matrix(out[:, ROT_START:ROT_START + 6])
    out[:, ROT_START:ROT_START + 6] = matrix_to_6d(R @ root)
    return out.astype(np.float32)


def generate_dance(music, *, style: Optional[str] = None, seed: int = 0, steps: Optional[int] = None,
                   constraints: Optional[Constraints] = None, guidance: Optional[float] = None,
                   eta: float = 1.0, checkpoint: Optional[PathLike] = None, foot_fix: bool = True,
                   smooth: Optional[float] = None, music_features: Optional[np.ndarray] = None,
                   generator: str = "model", beat_sync: Optional[bool] = None,
                   choreo_guide: Optional[float] = None, beat_pulse: Optional[float] = None,
                   progress: Optional[ProgressFn] = None) -> Motion:
    """A dance for ``music`` (a song path or a MusicAnalysis), 30 fps, as long as the song.

    ``style``: one of the choreographer's STYLES or None; ``seed``: same seed, same dance;
    ``steps``: DDIM steps (default 10); ``constraints``: editing constraints (exact);
    ``guidance``: classifier-free guidance weight (default: the checkpoint's);
    ``foot_fix``: plant feet with leg IK where contacts are predicted;
    ``smooth``: Gaussian temporal smoothing (sigma, frames) of the sampled numbers before the
    constraints are written (default: the checkpoint's ``smooth``; a few-step small model
    leaves frame-to-frame jitter); 0 = off;
    ``music_features``: (T,F) features for checkpoints not using edge35 (e.g. Jukebox);
    ``generator``: "model" (the diffusion model) or "choreo" (the procedural choreographer);
    ``beat_sync``: retime the dance so its accents land on the beats (default: the
    checkpoint's ``beat_sync`` strength; False = off, pulse included; constrained frames never move);
    ``beat_pulse``: 0-1, how much the playback slows into every beat (or every other beat
    above 106 BPM) and speeds up between, giving the dance the song's tempo (default: the
    checkpoint's; 0 = accents moved onto beats only);
    ``choreo_guide``: with a style, how far (0-1 of the noise schedule) the choreographer's
    dance in that style is noised before the model redraws it (default: the checkpoint's;
    0 = pure model).
    """
    progress = progress or null_progress
    if generator not in GENERATORS:
        raise BadInput(f"unknown generator {generator!r}; one of: {', '.join(GENERATORS)}")
    if generator == "choreo":
        return _fallback(music, style, seed, constraints, progress, reason="chosen")
    ckpt = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
    if checkpoint is None and not ckpt.is_file():
        return _fallback(music, style, seed, constraints, progress)
    lm = load_model(ckpt)
    analysis = _analysis(music, progress)
    return _generate(lm, analysis, _music_sha(analysis, music), style=style, seed=seed, steps=steps,
                     constraints=constraints, guidance=guidance, eta=eta, foot_fix=foot_fix,
                     smooth=smooth, music_features=music_features, beat_sync=beat_sync,
                     choreo_guide=choreo_guide, beat_pulse=beat_pulse, progress=progress)


def _choreo_init(lm: LoadedModel, analysis, style: str, seed: int, T: int):
    """The choreographer's dance in ``style`` as normalised windows (SDEdit start), or None
    when the analysis has no beats (features given directly) or the style is not the
    choreographer's."""
    import torch

    from ..choreo.compose import choreograph
    from ..choreo.styles import STYLES
    from .representation import motion_to_features
    from .sampler import split_windows

    if style not in STYLES or getattr(analysis, "beats_s", None) is None or not hasattr(analysis, "downbeats_s"):
        return None
    feats = motion_to_features(choreograph(analysis, style=style, seed=seed))
    feats = feats[:T] if len(feats) >= T else np.concatenate([feats, np.repeat(feats[-1:], T - len(feats), 0)])
    if lm.cfg.edge_frame:
        feats = _edge_frame(feats, True)
    x = np.clip(lm.normalizer.normalize(feats.astype(np.float32)), -1, 1).astype(np.float32)
    return torch.from_numpy(split_windows(x, lm.cfg.seq_len))


def _fallback(music, style, seed, constraints, progress, reason: str = "no motion checkpoint") -> Motion:
    from ..choreo.compose import choreograph

    analysis = _analysis(music, progress)
    motion = choreograph(analysis, style=style or "house", seed=seed, progress=progress)
    if constraints is not None and not constraints.empty:
        from .representation import motion_to_features

        cons = constraints.fitted(motion.num_frames)
        feats = apply(motion_to_features(motion), cons)
        poses, trans, contacts = features_to_arrays(feats)
        motion = Motion(poses=apply_root_yaw(poses, cons), trans=trans, contacts=contacts, meta=motion.meta)
    motion.meta.update({"model": f"choreographer ({reason})", "seed": int(seed),
                        "style": style or "house", "music_sha256": _music_sha(analysis, music),
                        "version": __version__})
    return motion


def _generate(lm: LoadedModel, analysis, music_sha: str, *, style, seed, steps, constraints, guidance, eta,
              foot_fix, smooth, music_features, progress, beat_sync=None, choreo_guide=None,
              beat_pulse=None) -> Motion:
    import torch

    from .sampler import DDIMSampler, SamplerSettings, join_windows, split_windows

    cfg = lm.cfg
    if music_features is None:
        if cfg.music_feature not in ("edge35", "edge35+beat"):
            raise MissingModel(f"this checkpoint needs {cfg.music_feature} music features "
                               "(EDGE's Jukebox features: install the optional 'jukebox' extra; "
                               "note Jukebox's licence is non-commercial)")
        from .music_input import features as music_input

        edge35 = np.asarray(getattr(analysis, "edge35", np.zeros((0, 35))), np.float32)
        if edge35.ndim != 2 or edge35.shape[1] != 35:
            raise BadInput(f"music analysis features must be (T,35), got {edge35.shape}")
        music_features = music_input(cfg.music_feature, edge35, float(getattr(analysis, "fps", 30.0)))
    feats = np.asarray(music_features, np.float32)
    if feats.ndim != 2 or feats.shape[1] != cfg.cond_feature_dim or len(feats) < 1:
        raise BadInput(f"music features must be (T,{cfg.cond_feature_dim}), got {feats.shape}")
    if not np.all(np.isfinite(feats)):
        raise BadInput("music features contain NaN or infinite values")
    T = len(feats)
    if lm.music_mean is not None:
        feats = (feats - lm.music_mean) / lm.music_std
    style_id = None
    if style is not None and style != "none":
        if style not in cfg.style_names:
            known = ", ".join(cfg.style_names) or "none (this checkpoint has no styles)"
            raise BadInput(f"unknown style {style!r}; choose one of: {known}")
        style_id = cfg.style_names.index(style)
    cons = constraints.fitted(T) if constraints is not None else None

    music_w = torch.from_numpy(split_windows(feats, cfg.seq_len))
    B = music_w.shape[0]
    style_t = None
    if cfg.num_styles:
        style_t = torch.full((B,), cfg.num_styles if style_id is None else style_id, dtype=torch.long)
    known = known_mask = None
    if cons is not None and cons.mask.any():
        vals = _edge_frame(cons.values, True) if cfg.edge_frame else cons.values
        mask = cons.mask
        if cfg.edge_frame:  # a root rotation/position constraint touches all its numbers in EDGE's frame
            m = mask.copy()
            m[:, ROOT_SLICE] = mask[:, ROOT_SLICE].any(axis=1, keepdims=True)
            mask = m
        known = torch.from_numpy(split_windows(np.clip(lm.normalizer.normalize(vals), -1, 1), cfg.seq_len))
        known_mask = torch.from_numpy(split_windows(mask.astype(np.float32), cfg.seq_len))
    guide = cfg.check_sampling("choreo_guide", cfg.choreo_guide if choreo_guide is None else choreo_guide)
    pulse = cfg.check_sampling("beat_pulse", cfg.beat_pulse if beat_pulse is None else beat_pulse)
    init = None
    if style_id is not None and 0 < guide < 1:
        init = _choreo_init(lm, analysis, style, seed, T)
    settings = SamplerSettings(steps=int(steps or DEFAULT_STEPS), eta=float(eta),
                               guidance=float(cfg.guidance_weight if guidance is None else guidance),
                               style_guidance=float(cfg.style_guidance))
    if settings.steps < 1 or settings.steps > cfg.n_timestep:
        raise BadInput(f"steps must be between 1 and {cfg.n_timestep}")
    gen = torch.Generator().manual_seed(int(seed))
    prev_threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1 if prev_threads <= 2 else prev_threads)  # see docs/motion.md: 1 thread wins on a busy 2-core CPU
        x = DDIMSampler(lm.model, settings).sample(music_w, style=style_t, generator=gen, known=known,
                                                   known_mask=known_mask, init=init, init_strength=guide,
                                                   progress=progress)
    finally:
        torch.set_num_threads(prev_threads)
    windows = lm.normalizer.unnormalize(x.numpy())
    out = join_windows(windows, T)
    if cfg.edge_frame:
        out = _edge_frame(out, False)
    if smooth is None:
        smooth = cfg.smooth
    if smooth and smooth > 0:
        from scipy.ndimage import gaussian_filter1d

        out = gaussian_filter1d(out.astype(np.float64), float(smooth), axis=0, mode="nearest")
        if cfg.smooth_travel > 0:  # smooth = 0 means raw samples: no smoothing at all
            floor = [ROOT_SLICE.start, ROOT_SLICE.start + 2]   # pelvis x and z
            out[:, floor] = gaussian_filter1d(out[:, floor], cfg.smooth_travel, axis=0, mode="nearest")
    out = apply(out, cons)
    poses, trans, contacts = features_to_arrays(out)
    poses = apply_root_yaw(poses, cons)
    from .beatsync import beat_sync as retime, usable_beats

    sync = cfg.beat_sync if beat_sync is None else (cfg.beat_sync or 1.0) * bool(beat_sync)
    beats = usable_beats(getattr(analysis, "beats_s", None))
    if len(beats) < 2:
        sync = 0.0   # nothing to sync to: say so in meta
    if sync > 0:
        pinned = None
        if cons is not None:
            pinned = cons.mask.any(axis=1) | np.isfinite(cons.root_yaw)
        joints = Motion(poses=poses, trans=trans, contacts=contacts).joints
        poses, trans, contacts = retime(poses, trans, contacts, joints, beats, fps=30.0, strength=sync, pinned=pinned,
                                        pulse=pulse)
    if cfg.max_root_turn > 0:  # last: retiming may speed a turn up
        from .turnlimit import limit_root_turn

        pinned = None
        if cons is not None:
            pinned = cons.mask[:, ROT_START:ROT_START + 6].any(axis=1) | np.isfinite(cons.root_yaw)
        poses = limit_root_turn(poses, cfg.max_root_turn, pinned)
    motion = Motion(poses=poses, trans=trans, contacts=contacts)
    if foot_fix:
        from .footfix import remove_foot_sliding

        locked = None
        if cons is not None:
            locked = np.stack([cons.mask[:, ROT_START + 6 * j:ROT_START + 6 * j + 6].any(axis=1) for j in range(24)], 1)
        motion = remove_foot_sliding(motion, locked=locked)
    motion.meta.update({"model": f"magicdance-motion/{cfg.name}", "checkpoint": lm.path.name,
                        "checkpoint_sha256": lm.sha256, "seed": int(seed), "style": style or "none",
                        "music_sha256": music_sha, "steps": settings.steps, "guidance": settings.guidance,
                        "eta": settings.eta, "smooth": float(smooth or 0.0), "foot_fix": bool(foot_fix),
                        "beat_sync": float(sync), "beat_pulse": pulse if sync > 0 else 0.0,
                        "choreo_guide": guide if init is not None else 0.0,
                        "version": __version__})
    return motion
