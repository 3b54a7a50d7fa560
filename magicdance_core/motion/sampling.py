"""The dance pipeline's sampling settings: what they are, their ranges, their file.

Every setting the pipeline reads after the weights (DDIM steps, eta, guidance, smoothing, the
clean-up chain's settings) is declared once in :data:`OPTIONS` with its kind, its allowed range and
the CLI flag that sets it. A checkpoint's tuned defaults live in a JSON file beside its weights
(``default.safetensors`` -> ``default.sampling.json``, ``model.safetensors`` ->
``model.sampling.json``), the way diffusers keeps a scheduler config beside a model: changing a
default is editing that file, never rewriting the weights. A checkpoint without one (trained
before the file existed) takes the sampling fields of its architecture config.

:func:`check_overrides` is the one range check every entry point runs before any work
(``--eta must be between 0 and 1, got 7``), naming the flag (CLI) or the request key (worker).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional

from ..checks import check_choice, check_number
from ..errors import BadInput
from ..fileio import PathLike, atomic_write_text

FORMAT = "magicdance-sampling-1"


@dataclass(frozen=True)
class Option:
    kind: type            # int, float or bool
    lo: float = 0.0
    hi: float = 1.0
    flag: str = ""        # the CLI flag that sets it
    help: str = ""


OPTIONS: dict = {
    # -- the sampler
    "steps": Option(int, 1, 1000, "--steps", "DDIM steps"),
    "eta": Option(float, 0.0, 1.0, "--eta", "DDIM eta (0: deterministic updates, 1: EDGE's)"),
    # Guidance beyond ~20 pushes x0 to the clip range on every number: garbage, never a dance.
    "guidance": Option(float, 0.0, 20.0, "--guidance", "classifier-free guidance weight"),
    "style_guidance": Option(float, 0.0, 50.0, "--style-guidance", "extra guidance towards --style"),
    "choreo_guide": Option(float, 0.0, 1.0, "--choreo-guide",
                           "with a style: start from the choreographer's dance noised to this fraction"),
    # RMS step (normalised units) per guided step at 10 steps; beyond ~0.5 the guide outweighs the model.
    "beat_guidance": Option(float, 0.0, 1.0, "--beat-guidance",
                            "steer sampling so the body slows on the beats (beat_guide.py; 0: the network alone)"),
    "smooth": Option(float, 0.0, 30.0, "--smooth", "Gaussian smoothing of the sampled numbers (frames)"),
    "smooth_travel": Option(float, 0.0, 30.0, "--smooth-travel", "extra smoothing of the pelvis's floor path"),
    # -- the clean-up chain (motion/cleanup.py); 0 switches a step off
    "beat_sync": Option(float, 0.0, 1.0, "--beat-sync", "retime accents onto the beats (strength)"),
    "beat_pulse": Option(float, 0.0, 0.9, "--beat-pulse", "slow into every beat, faster between"),
    "max_root_turn": Option(float, 0.0, 180.0, "--max-root-turn", "pelvis turn limit, degrees a frame"),
    "yaw_limit": Option(float, 0.0, 180.0, "--yaw-limit", "facing kept within this of the camera (degrees)"),
    "travel_limit": Option(float, 0.0, 100.0, "--travel-limit", "pelvis kept within about this of frame 0 (m)"),
    "foot_fix": Option(bool, flag="--no-foot-fix", help="plant the feet (contact IK)"),
}

# The generic defaults: what a checkpoint without a sampling file and without these fields gets.
DEFAULTS: dict = {"steps": 10, "eta": 1.0, "guidance": 2.0, "style_guidance": 0.0, "choreo_guide": 0.0,
                  "beat_guidance": 0.0,
                  "smooth": 1.5, "smooth_travel": 0.0, "beat_sync": 0.0, "beat_pulse": 0.0,
                  "max_root_turn": 0.0, "yaw_limit": 0.0, "travel_limit": 0.0, "foot_fix": True}

# architecture-config field -> sampling setting, for checkpoints trained before sampling files
_LEGACY = {"guidance_weight": "guidance", "style_guidance": "style_guidance", "smooth": "smooth",
           "smooth_travel": "smooth_travel", "max_root_turn": "max_root_turn", "beat_sync": "beat_sync",
           "beat_pulse": "beat_pulse", "choreo_guide": "choreo_guide"}


def flag_of(key: str) -> str:
    return OPTIONS[key].flag or key


def check_option(key: str, value, name: Optional[str] = None):
    """``value`` checked against OPTIONS[key] (range, finite, kind); BadInput names ``name``
    (default: the option's CLI flag)."""
    opt = OPTIONS.get(key)
    if opt is None:
        raise BadInput(f"unknown sampling setting {key!r}; one of: {', '.join(OPTIONS)}")
    name = name or flag_of(key)
    if opt.kind is bool:
        if not isinstance(value, bool):
            raise BadInput(f"{name} must be true or false, got {value!r}")
        return value
    return check_number(value, name, opt.lo, opt.hi, integer=opt.kind is int)


def check_overrides(overrides: Mapping, name: Optional[Callable[[str], str]] = None) -> dict:
    """The not-None entries of ``overrides`` checked one by one (the first mistake raised as one
    line naming its flag); ``name(key)`` gives the name to use (default: the CLI flag)."""
    out = {}
    for key, value in overrides.items():
        if value is None:
            continue
        out[key] = check_option(key, value, name(key) if name else None)
    return out


def sampling_path(weights: PathLike) -> Path:
    """The sampling settings file of a weights file: ``X.safetensors`` -> ``X.sampling.json``."""
    w = Path(weights)
    return w.with_name(w.stem + ".sampling.json")


def from_architecture(cfg_dict: Mapping) -> dict:
    """Sampling defaults of a checkpoint trained before sampling files (fields of its config)."""
    out = dict(DEFAULTS)
    for old, new in _LEGACY.items():
        if old in cfg_dict:
            out[new] = cfg_dict[old]
    return out


def load_sampling(path: PathLike, base: Optional[Mapping] = None) -> dict:
    """Settings from a sampling file over ``base`` (default DEFAULTS), every value range-checked."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
        settings = doc["settings"]
        if not isinstance(settings, dict):
            raise TypeError("settings is not an object")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BadInput(f"not a valid sampling settings file: {p} ({e.__class__.__name__})") from None
    out = dict(DEFAULTS if base is None else base)
    out.update(check_overrides(settings, name=lambda k: f"{p.name}: {k}"))
    return out


def save_sampling(path: PathLike, settings: Mapping, note: str = "") -> Path:
    """Write a sampling file (atomically), every value range-checked first."""
    checked = check_overrides(settings, name=lambda k: k)
    doc = {"format": FORMAT, "settings": {k: checked[k] for k in OPTIONS if k in checked}}
    if note:
        doc["note"] = note
    atomic_write_text(Path(path), json.dumps(doc, indent=2) + "\n")
    return Path(path)


def check_style(style: Optional[str], known, flag: str = "--style") -> Optional[str]:
    """A style the generator knows, or None ("none" and "" mean None)."""
    if style is None or style in ("", "none"):
        return None
    return check_choice(style, flag, list(known), "style")
