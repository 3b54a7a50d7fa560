"""Animate Photo on the Blender side: the worker's ``animate`` request, and its result in the sequencer.

The work (photo analysis, the animator, the music mux) is the dance job in the worker
(``magicdance_core.worker.animate``): in-process under ``blender -b`` / Blender-as-a-module, in
the worker subprocess in the GUI.  The job dances the *active take* (written to a hand-over
motion file), so the video shows the animator's edits.

Nothing in the scene changes before :func:`apply_result`; :func:`discard` (cancel or error)
removes what this run made -- the hand-over file, the job folder when this run created it, any
temporary file a killed worker left -- so the scene and the files are as they were.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import bpy

from magicdance_core.errors import BadInput

from . import generation, music, passes

VIDEO_STRIP = "MagicDance Video"


def output_paths(scene) -> tuple[str, str]:
    """(video, job folder): beside the .blend in ``magicdance/``, or in the temp folder when unsaved."""
    base = bpy.path.abspath("//") if bpy.data.filepath else tempfile.gettempdir()
    out = os.path.join(base, "magicdance", f"{bpy.path.clean_name(scene.name)}_dance.mp4")
    return out, out[:-4] + ".job"


def animate_request(scene, photo: str, size: int = 512, landmarks: str = "", dancer=None,
                    animator=None) -> tuple[dict, dict]:
    """The worker request and the plan :func:`apply_result` / :func:`discard` need.

    ``animator``: the dance job's animator fields (animator_settings.animator_fields)."""
    from magicdance_core.body.motion_file import save_motion

    strip = music.music_strip(scene)
    if strip is None:
        raise BadInput("no music in the scene: import a song first")
    song = generation._music_path(scene)
    photo = bpy.path.abspath(photo) if photo else ""
    if not photo or not os.path.isfile(photo):
        raise BadInput(f"choose a photo of a person (not found: {photo})" if photo else "choose a photo of a person")
    motion = passes.scene_motion(scene, dancer)   # the active take, as the animator left it
    out, job = output_paths(scene)
    fd, take = tempfile.mkstemp(suffix=".npz", prefix="dance_take_", dir=generation._tmpdir())
    os.close(fd)
    save_motion(motion, take)
    plan = {"out": out, "job": job, "take": take, "music_strip": strip.name,
            "made": [p for p in (os.path.dirname(out), job) if not os.path.exists(p)]}
    req = {"op": "animate", "music": song, "photo": photo, "motion": take, "out": out, "job": job,
           "size": int(size), "landmarks": bpy.path.abspath(landmarks) if landmarks else None, **(animator or {})}
    return req, plan


def apply_result(scene, result: dict, plan: dict):
    """Put the video in the sequencer on the channel above the music (replacing our old strip)."""
    _remove(plan["take"])
    video = result["paths"]["video"]
    seq = scene.sequence_editor or scene.sequence_editor_create()
    strips = music._strips(seq)
    snd = strips.get(plan["music_strip"]) or music.music_strip(scene)
    if snd is None:
        raise BadInput("the music strip is gone from the sequencer")
    old = strips.get(VIDEO_STRIP)
    if old is not None:
        strips.remove(old)
    movie = strips.new_movie(VIDEO_STRIP, video, channel=snd.channel + 1, frame_start=int(snd.frame_start))
    movie.name = VIDEO_STRIP
    return movie


def discard(plan: dict) -> None:
    """After a cancel or an error: leave the files as they were before the run."""
    from magicdance_core.fileio import clean_stale_temps

    _remove(plan["take"])
    for folder in reversed(plan["made"]):      # created by this run: nothing of the user's inside
        shutil.rmtree(folder, ignore_errors=True)
    for folder in (plan["job"], os.path.dirname(plan["out"])):
        if os.path.isdir(folder):             # an older job: only what a killed worker left
            clean_stale_temps(folder, recursive=True)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
