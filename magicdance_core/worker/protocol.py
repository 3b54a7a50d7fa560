"""JSON-lines protocol between the Blender add-on and ``magicdance worker``.

Requests (one JSON object per line on stdin)::

    {"op": "generate", "music": PATH, "out": MOTION_NPZ, "style": S, "seed": N, "steps": N,
     "start_s": T0, "end_s": T1, "constraints": NPZ_OR_NULL}
    {"op": "analyze", "music": PATH, "out": MUSIC_JSON}
    {"op": "passes", "motion": NPZ, "out": DIR, "passes": "densepose,iuv", "size": N, ...}
    {"op": "check"}                       # what this environment has / lacks
    {"op": "ping"}

Messages (one JSON object per line on stdout)::

    {"type": "progress", "stage": S, "fraction": F, "message": M}
    {"type": "result", "paths": {...}, ...}
    {"type": "error", "message": M, "kind": "BadInput" | "MissingModel" | ...}

Cancellation is the client's: it ends the process (nothing is written except
through atomic renames, so a killed worker leaves no half file).  Anything else
the libraries print goes to stderr, never to stdout, so stdout stays parseable.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Callable, TextIO

from ..errors import MagicDanceError


def encode(msg: dict) -> str:
    return json.dumps(msg, separators=(",", ":")) + "\n"


def decode(line: str) -> dict:
    msg = json.loads(line)
    if not isinstance(msg, dict):
        raise ValueError("a message must be a JSON object")
    return msg


def check_environment() -> dict:
    """What the worker's environment can do: {"ok": bool, "missing": [...], "have": {...}}."""
    import importlib

    have, missing = {}, []
    for mod, why in (("numpy", "arrays"), ("scipy", "signal processing"), ("librosa", "music analysis"),
                     ("av", "audio/video decoding (PyAV)"), ("torch", "the motion model")):
        try:
            m = importlib.import_module(mod)
            have[mod] = getattr(m, "__version__", "yes")
        except Exception:
            missing.append(f"{mod} ({why})")
    from . import generate

    have["generator"] = generate.available_generator()
    return {"ok": not missing, "missing": missing, "have": have, "python": sys.executable}


def _op_generate(req: dict, progress) -> dict:
    import numpy as np

    from ..body.motion_file import load_motion, save_motion
    from ..errors import BadInput
    from .generate import build_constraints, generate_motion

    if not req.get("music") or not req.get("out"):
        raise BadInput("generate needs 'music' and 'out'")
    constraints = None
    if req.get("constraints"):
        ref = load_motion(req["constraints"])
        with np.load(req["constraints"]) as z:
            lm = z["lock_mask"] if "lock_mask" in z.files else np.zeros((ref.num_frames, 24), bool)
            jm = z["joint_mask"] if "joint_mask" in z.files else np.zeros(24, bool)
            edges = tuple(bool(x) for x in z["edges"]) if "edges" in z.files else (False, False)
        constraints = build_constraints(ref, lm, jm, edges)
    m = generate_motion(req["music"], style=req.get("style"), seed=int(req.get("seed", 0)),
                        steps=req.get("steps"), constraints=constraints, generator=req.get("generator"),
                        beat_pulse=_optional_float(req, "beat_pulse"),
                        start_s=req.get("start_s"), end_s=req.get("end_s"), progress=progress)
    save_motion(m, req["out"])
    return {"paths": {"motion": str(req["out"])}}


def _optional_float(req: dict, key: str):
    from ..errors import BadInput

    v = req.get(key)
    if v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise BadInput(f"{key} must be a number, got {v!r}") from None


def _op_analyze(req: dict, progress) -> dict:
    from ..audio.analysis import analyze_music
    from ..errors import BadInput

    if not req.get("music") or not req.get("out"):
        raise BadInput("analyze needs 'music' and 'out'")
    a = analyze_music(req["music"], progress=progress)
    a.to_json(req["out"])
    return {"paths": {"analysis": str(req["out"])}}


def _op_passes(req: dict, progress) -> dict:
    """Guidance passes of a motion file (the add-on's Render Passes in the GUI)."""
    from pathlib import Path

    from ..body.motion_file import load_motion
    from ..camera import load_landmarks_json
    from ..errors import BadInput
    from ..passes.api import render_motion_passes
    from ..passes.render import SkeletonOptions

    if not req.get("motion") or not req.get("out"):
        raise BadInput("passes needs 'motion' and 'out'")
    m = load_motion(req["motion"])
    lm = load_landmarks_json(req["landmarks"]) if req.get("landmarks") else None
    res = render_motion_passes(m, req["out"], passes=req.get("passes"), size=int(req.get("size") or 512),
                               fps=req.get("fps"), landmarks=lm,
                               skeleton=SkeletonOptions(bool(req.get("skeleton_bgr")), req.get("stick_width")),
                               video=bool(req.get("video", True)), progress=progress)
    return {"paths": {"passes": str(res.out_dir), "camera": str(Path(res.out_dir) / "camera.json")},
            "frames": int(res.frames)}


OPS: dict = {
    "passes": _op_passes,
    "generate": _op_generate,
    "analyze": _op_analyze,
    "check": lambda req, progress: {"report": check_environment()},
    "ping": lambda req, progress: {"pong": True},
}


def serve(stdin: TextIO = None, stdout: TextIO = None, min_interval: float = 0.05) -> int:
    """Answer requests until stdin closes."""
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    last = [0.0]

    def send(msg: dict) -> None:
        out.write(encode(msg))
        out.flush()

    def progress(stage: str, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - last[0] < min_interval:
            return
        last[0] = now
        send({"type": "progress", "stage": str(stage), "fraction": float(fraction), "message": str(message)})

    for line in stdin:
        if not line.strip():
            continue
        try:
            req = decode(line)
            op = OPS.get(req.get("op"))
            if op is None:
                raise ValueError(f"unknown op {req.get('op')!r}")
            result = op(req, progress)
            send({"type": "result", **result})
        except MagicDanceError as e:
            send({"type": "error", "message": str(e), "kind": e.__class__.__name__})
        except ValueError as e:
            send({"type": "error", "message": f"bad request: {e}", "kind": "BadRequest"})
        except Exception as e:   # the worker must answer, not die silently
            send({"type": "error", "message": f"{e.__class__.__name__}: {e}", "kind": "InternalError"})
    return 0


def serve_stdio() -> int:
    """Run :func:`serve` on the real stdout while everything else printed goes to stderr."""
    real = sys.stdout
    sys.stdout = sys.stderr
    try:
        return serve(sys.stdin, real)
    finally:
        sys.stdout = real
