"""The worker request that renders passes (for the add-on's GUI, where numba/PyAV live
in the worker's environment, not in Blender's Python)::

    {"op": "passes", "motion": NPZ, "out": DIR, "passes": "densepose,..." | null,
     "size": 512, "width": null, "height": null, "fps": null | 25,
     "landmarks": JSON | null, "skeleton_bgr": false, "stick_width": null, "video": true}

Answer: {"paths": {"passes": DIR, "camera": DIR/camera.json}, "frames": N, "fps": F}.
Register it in magicdance_core.worker.protocol.OPS as ``"passes": op_passes``.
"""

from __future__ import annotations

from pathlib import Path


def op_passes(req: dict, progress) -> dict:
    from ..body.motion_file import load_motion
    from ..camera import load_landmarks_json
    from ..errors import BadInput
    from .api import render_motion_passes
    from .render import SkeletonOptions

    if not req.get("motion") or not req.get("out"):
        raise BadInput("passes needs 'motion' and 'out'")
    lm = load_landmarks_json(req["landmarks"]) if req.get("landmarks") else None
    res = render_motion_passes(
        load_motion(req["motion"]), req["out"], passes=req.get("passes"), size=int(req.get("size") or 512),
        width=req.get("width"), height=req.get("height"), fps=req.get("fps"), landmarks=lm,
        skeleton=SkeletonOptions(bool(req.get("skeleton_bgr", False)), req.get("stick_width")),
        video=bool(req.get("video", True)), progress=progress)
    out = Path(req["out"])
    return {"paths": {"passes": str(out), "camera": str(out / "camera.json")},
            "frames": res.frames, "fps": res.fps}
