"""``DancePipeline``: music in, SMPL dance out; the one object every entry point calls.

Shaped like a diffusers pipeline:

- components, loaded from a checkpoint (``from_pretrained``): the denoiser (``DanceDenoiser`` with
  its normaliser and music normaliser, from ``X.safetensors``) and the sampler (DDIM on the
  denoiser's own noise schedule); or, for ``generator="choreo"``, the procedural choreographer;
- sampling settings: defaults in ``X.sampling.json`` beside the weights (``sampling.py``), every
  one overridable per call (``pipe(song, steps=4, eta=0.5)``);
- ``__call__`` in numbered steps: 1 check inputs, 2 condition, 3 initial noise or guide,
  4 sample, 5 clean up (``cleanup.py``'s chain and preset), 6 metadata.

``magicdance motion``, the dance job, the worker behind the add-on and batch (through the job) all
call it, so the same song, seed and preset give the same dance bit for bit everywhere.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .. import __version__
from ..body.motion_file import Motion
from ..errors import BadInput, MissingModel
from ..fileio import PathLike, sha256_file
from ..progress import ProgressFn, null_progress
from . import cleanup as chain_steps
from . import sampling as sampling_file
from .constraints import Constraints, apply, apply_root_yaw
from .representation import ROOT_SLICE, ROT_START, Normalizer, features_to_arrays

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINT_DIR / "default.safetensors"
GENERATORS = ("model", "choreo")
# The choreographer is on the beat and turns like a dancer by construction: of the chain only
# the feet (and the job's stage limits) apply to it unless a call asks for more.
CHOREO_SAMPLING = {**sampling_file.DEFAULTS, "smooth": 0.0}
SAMPLER_KEYS = ("steps", "eta", "guidance", "style_guidance", "choreo_guide", "beat_guidance", "smooth", "smooth_travel")


# ------------------------------------------------------------------------------ components
@dataclass
class LoadedModel:
    """The denoiser component: network, normalisers and where it came from."""
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
    """Read a project checkpoint (safetensors: ``model.*``, ``normalizer.*``, ``music_norm.*``, config).

    Kept in memory (one at a time) so a warm worker does not read the file again."""
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


def checkpoint_sampling(weights: PathLike, cfg_dict: dict) -> dict:
    """A checkpoint's sampling defaults: its sampling file, else its architecture config's fields."""
    base = sampling_file.from_architecture(cfg_dict)
    side = sampling_file.sampling_path(weights)
    return sampling_file.load_sampling(side, base) if side.is_file() else base


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


# ------------------------------------------------------------------------------ music
def load_analysis(music, progress: Optional[ProgressFn] = None):
    """A MusicAnalysis from a song path (analysed now), a music.json path, or an analysis, in the
    form a music.json round trip gives (beats to 0.1 ms, float32 features): a song analysed in
    this process and the same song read back from a job's music.json then dance the same."""
    from ..audio.analysis import MusicAnalysis, analyze_music

    if isinstance(music, (str, bytes)) or hasattr(music, "__fspath__"):
        p = Path(music)
        music = MusicAnalysis.from_json(p) if p.suffix.lower() == ".json" else analyze_music(p, progress=progress)
    if not (hasattr(music, "beats_s") or hasattr(music, "edge35")):
        raise BadInput(f"music must be a song, a music.json or an analysis, got {type(music).__name__}")
    changes = {k: np.asarray(getattr(music, k), np.float32)
               for k in ("onset_env", "rms", "edge35", "beat_onehot", "downbeat_onehot") if hasattr(music, k)}
    if hasattr(music, "tempo_bpm"):   # what MusicAnalysis.to_json keeps
        changes.update(duration_s=round(float(music.duration_s), 6), tempo_bpm=round(float(music.tempo_bpm), 3),
                       beats_s=np.asarray([round(float(b), 4) for b in music.beats_s], float),
                       downbeats_s=np.asarray([round(float(b), 4) for b in getattr(music, "downbeats_s", [])], float))
    try:
        return replace(music, **changes)
    except TypeError:   # not a dataclass: a stand-in with the same fields
        return music


def music_sha256(analysis) -> str:
    sha = getattr(analysis, "source_sha256", "") or ""
    if not sha:
        sha = hashlib.sha256(np.ascontiguousarray(getattr(analysis, "edge35", np.zeros(0)), np.float32).tobytes()).hexdigest()
    return sha


# ------------------------------------------------------------------------------ the pipeline
def sampling_threads(available: int) -> int:
    """Torch threads for sampling: every core other processes are not running on right now.

    Measured on a 2-core CPU (docs/motion.md): idle, 2 threads sample a 30 s dance in 0.8 s and
    1 thread in 1.4 s; with another job running, 2 spin-waiting threads are 4-20x slower than 1.
    The dance is the same bit for bit with any count (tests/test_motion_pipeline.py).
    """
    from ..cpu_load import free_cores

    return max(1, min(int(available), free_cores()))


class DancePipeline:
    """``pipe = DancePipeline.from_pretrained(); motion = pipe(song, seed=1, cleanup="default")``."""

    def __init__(self, denoiser: Optional[LoadedModel], sampling: dict, generator: str = "model") -> None:
        self.denoiser = denoiser            # None for the choreographer
        self.sampling = dict(sampling)      # defaults of every setting (sampling.OPTIONS)
        self.generator = generator

    # -- loading
    @classmethod
    def from_pretrained(cls, checkpoint: Optional[PathLike] = None, generator: str = "model") -> "DancePipeline":
        """The model from ``checkpoint`` (a ``.safetensors`` file, or a folder holding
        ``model.safetensors``; default: the shipped one), or the choreographer."""
        from ..checks import check_choice

        check_choice(generator, "--generator", list(GENERATORS), "generator")
        if generator == "choreo":
            return cls(None, CHOREO_SAMPLING, "choreo")
        p = DEFAULT_CHECKPOINT if checkpoint is None else Path(checkpoint)
        if p.is_dir():
            p = p / "model.safetensors"
        lm = load_model(p)
        return cls(lm, checkpoint_sampling(p, lm.cfg.to_dict()), "model")

    @property
    def styles(self) -> list:
        if self.denoiser is None:
            from ..choreo.styles import STYLES

            return list(STYLES)
        return list(self.denoiser.cfg.style_names)

    # -- 1. check inputs
    def check_inputs(self, *, style=None, seed=0, cleanup=None, name: Optional[Callable[[str], str]] = None,
                     **overrides) -> tuple:
        """(style, seed, preset, settings): every option range-checked, one line each naming its
        flag (``name(key)`` renames them, e.g. a worker request's keys), before any work."""
        from ..checks import check_seed

        nm = name or (lambda k: {"style": "--style", "seed": "--seed", "cleanup": "--cleanup"}.get(k) or
                      sampling_file.flag_of(k))
        checked = sampling_file.check_overrides(overrides, name=nm)
        if self.denoiser is not None and checked.get("steps", 1) > self.denoiser.cfg.n_timestep:
            raise BadInput(f"{nm('steps')} must be between 1 and {self.denoiser.cfg.n_timestep}, got {checked['steps']}")
        style = sampling_file.check_style(style, self.styles or ["none"], nm("style"))
        seed = check_seed(seed, nm("seed"))
        preset = chain_steps.check_preset(cleanup, nm("cleanup"))
        return style, seed, preset, chain_steps.preset_settings(preset, self.sampling, checked)

    def __call__(self, music, *, style: Optional[str] = None, seed: int = 0,
                 constraints: Optional[Constraints] = None, cleanup: Optional[str] = None,
                 music_features: Optional[np.ndarray] = None, progress: Optional[ProgressFn] = None,
                 **settings) -> Motion:
        """A dance for ``music`` (song path, music.json or MusicAnalysis), 30 fps, as long as the song.

        ``style``: one of :attr:`styles` or None; ``seed``: same seed, same dance;
        ``constraints``: what the animator keyed, kept exactly; ``cleanup``: a preset of
        ``cleanup.PRESETS`` (default "default"); ``settings``: any of ``sampling.OPTIONS``
        (None = the checkpoint's); ``music_features``: (T,F) features for checkpoints not using
        edge35 (Jukebox)."""
        progress = progress or null_progress
        # 1. check inputs (before the song is analysed)
        style, seed, preset, s = self.check_inputs(style=style, seed=seed, cleanup=cleanup, **settings)
        if constraints is not None and not isinstance(constraints, Constraints):
            raise BadInput("constraints must be a Constraints object (motion/constraints.py)")
        analysis = load_analysis(music, progress)
        # 2. condition: what the generator hears (music features) and the style
        T = max(1, int(getattr(analysis, "n_frames", 0) or len(getattr(analysis, "edge35", []))))
        if self.denoiser is not None:
            music_w, style_t, T = self._condition(analysis, music_features, style)
        cons = constraints.fitted(T) if constraints is not None else None
        # 3. + 4. initial noise or guide, then sample (the choreographer composes instead)
        used = {}
        if self.denoiser is None:
            feats = self._choreograph(analysis, style, seed, T, progress)
        else:
            init, used["choreo_guide"] = self._initial(analysis, style, seed, T, s)
            feats, used["beat_guidance"] = self._sample(music_w, style_t, cons, init, seed, s, T, progress, analysis)
            used.update(smooth=float(s["smooth"]), smooth_travel=float(s["smooth_travel"]) if s["smooth"] > 0 else 0.0)
            feats = self._smooth(feats, s)
        # the constraints written exactly, the free frames around them blended in
        feats = apply(feats, cons)
        poses, trans, contacts = features_to_arrays(feats)
        motion = Motion(poses=apply_root_yaw(poses, cons), trans=trans, contacts=contacts)
        # 5. clean up: the preset's chain, every step keeping the pinned values
        chain = chain_steps.build_chain(preset, s, getattr(analysis, "beats_s", None))
        motion = chain_steps.run_chain(motion, chain, chain_steps.Pinned.of(cons, T), progress)
        # 6. metadata: what ran, with which settings
        motion.meta = self._meta(analysis, style, seed, preset, chain, s, used)
        return motion

    # -- 2.
    def _condition(self, analysis, music_features, style):
        import torch

        from .sampler import split_windows

        lm = self.denoiser
        cfg = lm.cfg
        if music_features is None:
            from .music_input import ANALYSIS_KINDS, analysis_features

            if cfg.music_feature not in ANALYSIS_KINDS:
                raise MissingModel(f"this checkpoint needs {cfg.music_feature} music features "
                                   "(EDGE's Jukebox features: install the optional 'jukebox' extra; "
                                   "note Jukebox's licence is non-commercial)")
            edge35 = np.asarray(getattr(analysis, "edge35", np.zeros((0, 35))), np.float32)
            if edge35.ndim != 2 or edge35.shape[1] != 35:
                raise BadInput(f"music analysis features must be (T,35), got {edge35.shape}")
            music_features = analysis_features(cfg.music_feature, analysis)
        feats = np.asarray(music_features, np.float32)
        if feats.ndim != 2 or feats.shape[1] != cfg.cond_feature_dim or len(feats) < 1:
            raise BadInput(f"music features must be (T,{cfg.cond_feature_dim}), got {feats.shape}")
        if not np.all(np.isfinite(feats)):
            raise BadInput("music features contain NaN or infinite values")
        T = len(feats)
        if lm.music_mean is not None:
            feats = (feats - lm.music_mean) / lm.music_std
        music_w = torch.from_numpy(split_windows(feats, cfg.seq_len))
        style_t = None
        if cfg.num_styles:
            sid = cfg.num_styles if style is None else cfg.style_names.index(style)
            style_t = torch.full((music_w.shape[0],), sid, dtype=torch.long)
        return music_w, style_t, T

    # -- 3.
    def _initial(self, analysis, style, seed, T, s):
        """(SDEdit start or None, the guide strength used): with a style the choreographer's dance
        in it, noised to ``choreo_guide`` of the schedule (the model redraws it)."""
        import torch

        from ..choreo.compose import choreograph
        from ..choreo.styles import STYLES
        from .representation import motion_to_features
        from .sampler import split_windows

        lm, guide = self.denoiser, float(s["choreo_guide"])
        if (style is None or not 0 < guide < 1 or style not in STYLES
                or getattr(analysis, "beats_s", None) is None or not hasattr(analysis, "downbeats_s")):
            return None, 0.0
        feats = motion_to_features(choreograph(analysis, style=style, seed=seed))
        feats = feats[:T] if len(feats) >= T else np.concatenate([feats, np.repeat(feats[-1:], T - len(feats), 0)])
        if lm.cfg.edge_frame:
            feats = _edge_frame(feats, True)
        x = np.clip(lm.normalizer.normalize(feats.astype(np.float32)), -1, 1).astype(np.float32)
        return torch.from_numpy(split_windows(x, lm.cfg.seq_len)), guide

    # -- 4.
    def _sample(self, music_w, style_t, cons, init, seed, s, T, progress, analysis=None) -> np.ndarray:
        import torch

        from .sampler import DDIMSampler, SamplerSettings, join_windows, split_windows

        lm = self.denoiser
        cfg = lm.cfg
        known = known_mask = None
        if cons is not None and cons.mask.any():   # inpainting targets
            vals = _edge_frame(cons.values, True) if cfg.edge_frame else cons.values
            mask = cons.mask
            if cfg.edge_frame:  # a root rotation/position constraint touches all its numbers in EDGE's frame
                mask = mask.copy()
                mask[:, ROOT_SLICE] = cons.mask[:, ROOT_SLICE].any(axis=1, keepdims=True)
            known = torch.from_numpy(split_windows(np.clip(lm.normalizer.normalize(vals), -1, 1), cfg.seq_len))
            known_mask = torch.from_numpy(split_windows(mask.astype(np.float32), cfg.seq_len))
        settings = SamplerSettings(steps=int(s["steps"]), eta=float(s["eta"]), guidance=float(s["guidance"]),
                                   style_guidance=float(s["style_guidance"]))
        # the guide's weight is per step at the default 10 steps: more steps, smaller steps; fewer
        # steps do not get bigger ones (at 2 steps a 5x step tore the dance apart)
        guide = self._beat_guide(analysis, float(s["beat_guidance"]) * min(1.0, 10.0 / settings.steps), T, known_mask,
                                 from_choreo=init is not None)
        gen = torch.Generator().manual_seed(int(seed))
        prev = torch.get_num_threads()
        try:
            torch.set_num_threads(sampling_threads(prev))
            x = DDIMSampler(lm.model, settings).sample(music_w, style=style_t, generator=gen, known=known,
                                                       known_mask=known_mask, init=init,
                                                       init_strength=float(s["choreo_guide"]), guide=guide,
                                                       progress=progress)
        finally:
            torch.set_num_threads(prev)
        out = join_windows(lm.normalizer.unnormalize(x.numpy()), T)
        used = float(s["beat_guidance"]) if guide is not None else 0.0   # the meta says what acted
        return (_edge_frame(out, False) if cfg.edge_frame else out), used

    def _beat_guide(self, analysis, weight: float, T: int, known_mask, from_choreo: bool = False):
        """The sampler's beat guide for this song (None when off or the song has no beats).
        ``from_choreo``: sampling starts from the choreographer's dance (SDEdit: a style with
        ``choreo_guide`` > 0)."""
        import torch

        from .beat_guide import MIN_T_FROM_CHOREO, BeatGuide, beat_grid_frames, beat_template, steerable_channels
        from .sampler import split_windows

        from .beatsync import usable_beats

        beats = usable_beats(getattr(analysis, "beats_s", None))   # finite, sorted, none repeated
        if not weight > 0 or len(beats) < 2:
            return None
        grid = beat_grid_frames(beats, usable_beats(getattr(analysis, "downbeats_s", None)))
        W = self.denoiser.cfg.seq_len
        # frames past the song's end (split_windows pads the last window) are no one's business:
        # template 0 there, and they are left out of the loss's sums
        template = split_windows(beat_template(grid, T)[:, None], W, pad=0.0)[..., 0]
        valid = split_windows(np.ones((T, 1), np.float32), W, pad=0.0)[..., 0]
        if not np.any(template):
            return None
        free = torch.from_numpy(steerable_channels(self.denoiser.cfg.edge_frame)).view(1, 1, -1)
        if known_mask is not None:
            free = free * (1.0 - known_mask)
        # a start from the choreographer's dance already has the beat; guiding its low-noise steps
        # too made every style energetic (tune songs, nearest-style accuracy 0.32 -> 0.21, mostly
        # "disco"), so there the guide stops at t >= 300 as in the fifth round (RESULTS.md)
        return BeatGuide(self.denoiser.normalizer, torch.from_numpy(np.ascontiguousarray(template, np.float32)),
                         weight, free, valid=torch.from_numpy(np.ascontiguousarray(valid, np.float32)),
                         min_t=MIN_T_FROM_CHOREO if from_choreo else 0)

    @staticmethod
    def _smooth(feats: np.ndarray, s: dict) -> np.ndarray:
        """Gaussian smoothing of the sampled numbers (a few-step small model leaves jitter)."""
        if not s["smooth"] > 0:
            return feats
        from scipy.ndimage import gaussian_filter1d

        out = gaussian_filter1d(feats.astype(np.float64), float(s["smooth"]), axis=0, mode="nearest")
        if s["smooth_travel"] > 0:   # pelvis x and z: travel across the floor is slow
            floor = [ROOT_SLICE.start, ROOT_SLICE.start + 2]
            out[:, floor] = gaussian_filter1d(out[:, floor], float(s["smooth_travel"]), axis=0, mode="nearest")
        return out

    def _choreograph(self, analysis, style, seed, T, progress) -> np.ndarray:
        from ..choreo.compose import choreograph
        from .representation import motion_to_features

        feats = motion_to_features(choreograph(analysis, style=style or "house", seed=seed, progress=progress))
        if len(feats) < T:
            feats = np.concatenate([feats, np.repeat(feats[-1:], T - len(feats), 0)])
        return feats[:T]

    # -- 6.
    def _meta(self, analysis, style, seed, preset, chain, s, used) -> dict:
        ran = {name for name, _ in chain}
        meta = {"seed": int(seed), "music_sha256": music_sha256(analysis), "version": __version__,
                "generator": self.generator}
        if self.denoiser is None:
            meta.update(model="choreographer", style=style or "house")
        else:
            lm = self.denoiser
            meta.update(model=f"magicdance-motion/{lm.cfg.name}", checkpoint=lm.path.name, checkpoint_sha256=lm.sha256,
                        style=style or "none", **{k: s[k] for k in ("steps", "eta", "guidance", "style_guidance")})
            meta.update(used)
        # every chain setting as it acted: 0 / False where its step did not run
        meta.update(beat_sync=float(s["beat_sync"]) if "beat_sync" in ran else 0.0,
                    beat_pulse=float(s["beat_pulse"]) if "beat_sync" in ran else 0.0,
                    max_root_turn=float(s["max_root_turn"]) if "turn_limit" in ran else 0.0,
                    yaw_limit=float(s["yaw_limit"]) if "yaw_limit" in ran else 0.0,
                    travel_limit=float(s["travel_limit"]) if "travel_limit" in ran else 0.0,
                    foot_fix="foot_fix" in ran)
        meta.update(chain_steps.chain_meta(preset, chain, s))
        return meta
