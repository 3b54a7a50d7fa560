"""The animator's settings: MagicAnimate's defaults (``magicanimate.json`` beside this file),
overridden section by section by ``magicdance_animator.json`` in the user's weights folder.

Sampling settings are the pipeline's call arguments; this file only holds their defaults,
so nobody rewrites weights (or code) to tune sampling.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Optional

from ...errors import BadInput

DEFAULTS_FILE = Path(__file__).with_name("magicanimate.json")
OVERRIDE_NAME = "magicdance_animator.json"
SECTIONS = ("sampling", "scheduler", "temporal", "precision")

# (low, high) inclusive ranges of the numeric sampling settings a user can pass.
RANGES = {
    "num_inference_steps": (1, 1000),
    "guidance_scale": (0.0, 50.0),
    "size": (64, 2048),
    "context_frames": (1, 64),
    "context_overlap": (0, 63),
    "controlnet_conditioning_scale": (0.0, 10.0),
    "eta": (0.0, 1.0),
    "vae_decode_chunk": (1, 256),
}


def load_config(weights_dir: Optional[Path] = None) -> dict:
    """The defaults, with the weights folder's override file (if any) applied."""
    cfg = json.loads(DEFAULTS_FILE.read_text())
    cfg.pop("_doc", None)
    if weights_dir is not None:
        p = Path(weights_dir) / OVERRIDE_NAME
        if p.is_file():
            try:
                over = json.loads(p.read_text())
            except (OSError, ValueError) as e:
                raise BadInput(f"{p} is not readable JSON ({e})") from None
            if not isinstance(over, dict) or set(over) - set(SECTIONS) - {"_doc"}:
                raise BadInput(f"{p}: top-level keys must be among {', '.join(SECTIONS)}")
            for sec in SECTIONS:
                if sec in over:
                    if not isinstance(over[sec], dict):
                        raise BadInput(f"{p}: '{sec}' must be an object")
                    unknown = set(over[sec]) - set(cfg[sec]) if sec != "scheduler" else set()
                    if unknown:
                        raise BadInput(f"{p}: unknown {sec} setting(s) {', '.join(sorted(unknown))}")
                    cfg[sec].update(over[sec])
    check_sampling(cfg["sampling"])
    return cfg


def check_sampling(s: dict) -> dict:
    """Range-check sampling settings (one-line BadInput naming the first bad one)."""
    for k, (lo, hi) in RANGES.items():
        if k not in s:
            continue
        v = s[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
            raise BadInput(f"animator setting {k} must be a number in {lo}..{hi}, got {v!r}")
    for k in ("num_inference_steps", "size", "context_frames", "context_overlap", "vae_decode_chunk"):
        if k in s and int(s[k]) != s[k]:
            raise BadInput(f"animator setting {k} must be a whole number, got {s[k]!r}")
    if "size" in s and int(s["size"]) % 8:
        raise BadInput(f"animator size must be a multiple of 8 (the VAE's factor), got {s['size']}")
    if "context_frames" in s and "context_overlap" in s and s["context_overlap"] >= s["context_frames"]:
        raise BadInput("animator context_overlap must be smaller than context_frames")
    if s.get("fusion_blocks", "midup") not in ("midup", "full"):
        raise BadInput(f"animator fusion_blocks must be 'midup' or 'full', got {s.get('fusion_blocks')!r}")
    return s


def merged_sampling(defaults: dict, **overrides) -> dict:
    """``defaults`` with the non-None ``overrides`` applied and checked."""
    s = copy.deepcopy(defaults)
    for k, v in overrides.items():
        if v is not None:
            if k not in s:
                raise TypeError(f"unknown sampling setting {k}")
            s[k] = v
    return check_sampling(s)
