"""JSON-lines protocol between the Blender add-on and ``magicdance worker``.

Requests (one JSON object per line on stdin)::

    {"op": "generate", "music": PATH, "out": MOTION_NPZ, "style": S, "seed": N, "steps": N,
     "start_s": T0, "end_s": T1, "constraints": NPZ_OR_NULL, "generator": "model"|"choreo",
     "cleanup": PRESET, "snap_to_beat": BOOL, "beat_pulse": A}
    {"op": "analyze", "music": PATH, "out": MUSIC_JSON}
    {"op": "passes", "motion": NPZ, "out": DIR, "passes": "densepose,iuv", "size": N, ...}
    {"op": "animate", "music": PATH, "photo": PATH, "motion": NPZ, "out": MP4, "job": DIR, ...}
                                          # the dance video (worker/animate.py)
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

from ..errors import BadInput, BadRequest, MagicDanceError
from .animate import op_animate


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
    from ..motion.pipeline import DEFAULT_CHECKPOINT

    if not DEFAULT_CHECKPOINT.is_file():
        missing.append(f"the motion checkpoint ({DEFAULT_CHECKPOINT.name})")
    have["generator"] = "DancePipeline"
    return {"ok": not missing, "missing": missing, "have": have, "python": sys.executable}


# -- request fields: a missing or mistyped field is a BadRequest, never an InternalError ----------
_NO = object()


def _field(req: dict, key: str, types, required: bool = False, default=None):
    v = req.get(key, _NO)
    if v is _NO or v is None:
        if required:
            raise BadRequest(f"{req.get('op')} needs '{key}'")
        return default
    if isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise BadRequest(f"'{key}' must be {_kind(types)}, got {v!r}")
    if not isinstance(v, types):
        raise BadRequest(f"'{key}' must be {_kind(types)}, got {v!r}")
    if isinstance(v, str) and required and not v:
        raise BadRequest(f"{req.get('op')} needs '{key}'")
    return v


def _kind(types) -> str:
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", list: "a list"}
    ts = types if isinstance(types, tuple) else (types,)
    if set(ts) == {int, float}:
        return "a number"
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in ts))


def _path(req: dict, key: str, required: bool = True):
    return _field(req, key, str, required)


def _number(req: dict, key: str, default=None, *, lo=None, hi=None, integer: bool = False):
    from ..checks import check_number

    v = _field(req, key, int if integer else (int, float), default=default)
    if v is None:
        return None
    try:
        return check_number(v, f"'{key}'", lo, hi, integer=integer)
    except BadInput as e:
        raise BadRequest(str(e)) from None


def _op_generate(req: dict, progress, analysis=None) -> dict:
    """``analysis``: the song already analysed by the caller (the add-on's in-process path)."""
    import numpy as np

    from ..body.motion_file import load_motion, save_motion
    from ..checks import SEED_MAX, check_input_file, check_output
    from .generate import build_constraints, generate_motion

    music, out = _path(req, "music"), _path(req, "out")
    cons_path = _path(req, "constraints", required=False)
    seed = _number(req, "seed", 0, lo=0, hi=SEED_MAX, integer=True)
    steps = _number(req, "steps", None, lo=1, hi=1000, integer=True)
    start_s = _number(req, "start_s", None, lo=0)
    end_s = _number(req, "end_s", None, lo=0)
    style = _field(req, "style", str)
    generator = _field(req, "generator", str)
    cleanup = _field(req, "cleanup", str)
    check_input_file(music, "music", "song")
    check_output(out, "out", inputs={"music": music, "constraints": cons_path}, suffixes=(".npz",))
    constraints = None
    if req.get("constraints"):
        ref = load_motion(req["constraints"])
        with np.load(req["constraints"]) as z:
            lm = z["lock_mask"] if "lock_mask" in z.files else np.zeros((ref.num_frames, 24), bool)
            jm = z["joint_mask"] if "joint_mask" in z.files else np.zeros(24, bool)
            edges = tuple(bool(x) for x in z["edges"]) if "edges" in z.files else (False, False)
            root = z["root_mask"] if "root_mask" in z.files else None
        constraints = build_constraints(ref, lm, jm, edges, root_mask=root)
    m = generate_motion(music if analysis is None else analysis, style=style, seed=seed, steps=steps, constraints=constraints,
                        generator=generator, beat_pulse=_optional_float(req, "beat_pulse"), cleanup=cleanup,
                        snap_to_beat=_flag(req, "snap_to_beat"),
                        start_s=start_s, end_s=end_s, progress=progress)
    save_motion(m, out)
    return {"paths": {"motion": str(out)}}


def _flag(req: dict, key: str) -> bool:
    v = req.get(key, False)
    if v is None:
        return False
    if not isinstance(v, bool):
        raise BadInput(f"'{key}' must be true or false, got {v!r}")
    return v


def _optional_float(req: dict, key: str):
    return _number(req, key, None)


def _op_analyze(req: dict, progress) -> dict:
    from ..audio.analysis import analyze_music, features_path
    from ..checks import check_input_file, check_output

    music, out = _path(req, "music"), _path(req, "out")
    check_input_file(music, "music", "song")
    check_output(out, "out", inputs={"music": music}, suffixes=(".json",))
    check_output(features_path(out), "out (its features file)", inputs={"music": music})
    a = analyze_music(music, progress=progress)
    a.to_json(out)
    return {"paths": {"analysis": str(out)}}


def _op_passes(req: dict, progress) -> dict:
    """Guidance passes of a motion file (the add-on's Render Passes in the GUI)."""
    from pathlib import Path

    from ..body.motion_file import MAX_FPS, MIN_FPS, load_motion
    from ..camera import load_landmarks_json
    from ..checks import check_input_file, check_output
    from ..passes.api import render_motion_passes
    from ..passes.render import SkeletonOptions
    from ..passes.sequence import check_pass_folders, parse_passes

    motion, out = _path(req, "motion"), _path(req, "out")
    landmarks = _path(req, "landmarks", required=False)
    passes = _field(req, "passes", (str, list))
    if isinstance(passes, list) and not all(isinstance(x, str) for x in passes):
        raise BadRequest(f"'passes' must be a string or a list of pass names, got {passes!r}")
    size = _number(req, "size", 512, lo=16, hi=8192, integer=True)
    fps = _number(req, "fps", None, lo=MIN_FPS, hi=240.0)
    stick = _number(req, "stick_width", None, lo=0, hi=200)
    bgr = _field(req, "skeleton_bgr", bool, default=False)
    video = _field(req, "video", bool, default=True)
    parse_passes(passes)
    check_input_file(motion, "motion", "motion file")
    check_output(out, "out", folder=True, inputs={"motion": motion, "landmarks": landmarks},
                 writes=("passes.json", "camera.json"))
    check_pass_folders(out, passes)
    m = load_motion(motion)
    lm = load_landmarks_json(landmarks) if landmarks else None
    res = render_motion_passes(m, out, passes=passes, size=size or 512, fps=fps, landmarks=lm,
                               skeleton=SkeletonOptions(bgr, stick), video=video, progress=progress)
    return {"paths": {"passes": str(res.out_dir), "camera": str(Path(res.out_dir) / "camera.json")},
            "frames": int(res.frames)}


OPS: dict = {
    "animate": op_animate,
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
            op = OPS.get(req.get("op")) if isinstance(req.get("op"), str) else None
            if op is None:
                raise BadRequest(f"unknown op {req.get('op')!r}; one of: {', '.join(OPS)}")
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
    from ..progress import honour_sigint

    honour_sigint()   # the add-on stops a request with SIGINT (blender_addon/worker_client.py)
    real = sys.stdout
    sys.stdout = sys.stderr
    try:
        return serve(sys.stdin, real)
    finally:
        sys.stdout = real
