"""The worker's ``animate`` request: the dance job (jobs/pipeline.run_dance) on a given dance.

The add-on's Animate Photo sends the scene's song, the photo and the active take (as a motion
file: the animator's edits, not a new dance); the job analyses the photo, animates it and muxes
the music into ``out``.  Request::

    {"op": "animate", "music": PATH, "photo": PATH, "motion": NPZ, "out": MP4, "job": DIR_OR_NULL,
     "size": N, "landmarks": JSON_OR_NULL, "animator": "puppet"|"diffusion", "animator_weights": DIR,
     "animator_steps": N, "animator_guidance": G, "face_weights": PATH, "passes": "densepose"}

The animator fields are blender_addon/animator_settings.animator_fields(scene), DanceOptions' keys.

Result: ``{"paths": {"video": MP4, "job": DIR}, "warnings": [...], "seconds": {stage: s}}``.
Cancelling (SIGINT from the add-on) reaches run_dance as KeyboardInterrupt: the job folder is
marked "cancelled" and every temporary file is removed; the video only ever appears by rename.
"""

from __future__ import annotations


def op_animate(req: dict, progress) -> dict:
    from ..jobs.pipeline import DanceOptions, run_dance
    from .protocol import _field, _number, _path

    music, photo, motion, out = (_path(req, k) for k in ("music", "photo", "motion", "out"))
    job = _path(req, "job", required=False)
    animator = _field(req, "animator", str, default="puppet")
    opt = DanceOptions(
        size=_number(req, "size", 512, lo=64, hi=4096, integer=True),
        animator=animator,
        animator_weights=_path(req, "animator_weights", required=False),
        animator_steps=_number(req, "animator_steps", None, lo=1, hi=1000, integer=True),
        animator_guidance=_number(req, "animator_guidance", None, lo=0, hi=100),
        face_weights=_path(req, "face_weights", required=False),
        landmarks=_path(req, "landmarks", required=False),
        # The scene is the one in Blender already; only the diffusion animator reads a pass.
        scene=False,
        passes=_field(req, "passes", str, default="densepose" if animator == "diffusion" else ""),
    )
    res = run_dance(music, photo, out, opt, job_dir=job, progress=progress, motion_file=motion)
    return {"paths": {"video": str(res.video), "job": str(res.job)}, "warnings": list(res.warnings),
            "seconds": dict(res.seconds)}
