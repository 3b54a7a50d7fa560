"""The one Blender entry point for headless work, run as a child process by the core.

    python -m blender_addon.headless ACTION [ARGS...]      (python = the env that has bpy)

``magicdance scene``, ``magicdance passes SCENE.blend`` and the dance job's scene stage start it
through ``magicdance_core.blender_process.run_action``; it also runs by hand
(``python -m blender_addon.headless scene --help``).

Actions, one function each, registered with :func:`action`::

    @action("name", "one-line help", arguments=_name_args)   # _name_args(parser) adds the flags
    def name(args, progress) -> dict:                        # the result message's fields
        ...

stdout carries only JSON lines, the worker's messages (magicdance_core/worker/protocol.py):
``{"type": "progress", ...}``, then one ``{"type": "result", ...}`` or
``{"type": "error", "kind": "BadInput", "message": ...}``.  Blender's own prints are moved to
stderr at start.  Exit code 0 done, 2 a user mistake, 130 cancelled (SIGINT / Ctrl-C: how the parent cancels,
or the parent process is gone), 1 a bug.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import bpy

from magicdance_core.errors import BadInput, Cancelled, MagicDanceError
from magicdance_core.fileio import require_file

from . import dancer, generation, music, takes


@dataclass(frozen=True)
class Action:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Callable], dict]


ACTIONS: dict[str, Action] = {}


def action(name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None]):
    """Register ``fn(args, progress) -> dict`` as the action ``name``."""
    def register(fn):
        ACTIONS[name] = Action(name, help, arguments, fn)
        return fn
    return register


# ------------------------------------------------------------------ scene
def build_scene(song, out_blend, *, motion=None, style=None, seed: int = 0, steps: int = 0, photo=None,
                landmarks=None, foot_lock: bool = False, markers: bool = True, progress=None) -> Path:
    """Music, markers, the dancer, a first take and a camera, saved as ``out_blend``.

    ``motion``: a motion .npz to use as the take (the dance job's dance) instead of generating
    one.  The camera frames the whole dance, or is aligned to the person in ``photo`` / the
    ``landmarks`` JSON.  The .blend is written to a temporary name and renamed, so a failed or
    cancelled run leaves no file.
    """
    from magicdance_core.checks import check_output
    from magicdance_core.fileio import atomic_path

    out = Path(out_blend)
    check_output(out, "-o", suffixes=(".blend",), inputs={"SONG": song, "--motion": motion, "--photo": photo,
                                                          "--landmarks": landmarks})
    require_file(song, "music file")
    for what, p in (("motion file", motion), ("photo", photo), ("landmarks JSON", landmarks)):
        if p is not None:
            require_file(p, what)
    progress = progress or (lambda *a: None)
    loaded = None
    if motion is not None:
        from magicdance_core.body.motion_file import load_motion

        loaded = load_motion(motion)   # a bad file fails here, before Blender is touched
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.name = "MagicDance"
    progress("scene", 0.0, "music")
    music.import_music(scene, str(song), markers=markers, progress=progress)
    progress("scene", 0.5, "dancer")
    arm = dancer.add_dancer(scene)
    if loaded is not None:
        act = takes.write_take(arm, loaded, name="dance")
    else:
        req = generation.generate_request(scene, style=style, seed=seed, steps=steps)
        res = generation.run_inprocess(req, progress)
        act = generation.apply_generate(scene, arm, res, foot_lock=foot_lock)
    progress("scene", 0.8, "camera")
    _camera(scene, act, photo, landmarks, progress)
    progress("scene", 0.9, "saving")
    with atomic_path(out) as tmp:
        tmp.unlink()   # Blender keeps a ".blend1" backup of a file it saves over
        bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True, compress=False)
    progress("scene", 1.0, str(out))
    return out


def _camera(scene, act, photo, landmarks, progress):
    """A camera framing the whole dance, or aligned to the photo's person."""
    from magicdance_core.camera import align_to_photo, frame_motion, load_landmarks_json

    from .camera import apply_camera

    m = takes.take_to_motion(act)
    lm = None
    if landmarks is not None:
        lm = load_landmarks_json(landmarks)
    elif photo is not None:
        from magicdance_core.photo.analyze import analyze_photo

        lm = analyze_photo(photo, progress=progress).camera_landmarks()
        scene["md_photo"] = str(photo)
    cam = frame_motion(m.joints, 512, 512) if lm is None else align_to_photo(m.joints[0], lm).camera
    return apply_camera(scene, cam)


def _scene_args(p: argparse.ArgumentParser) -> None:
    # The user-facing flags are magicdance scene's (one list); --motion and --landmarks are the job's.
    from magicdance_core.commands.scene import add_arguments

    add_arguments(p)
    p.add_argument("--motion", default=None, help="use this motion .npz as the take instead of generating one")
    p.add_argument("--landmarks", default=None, help="align the camera to these landmarks (JSON)")


@action("scene", "build a scene .blend: music, beat markers, the dancer, a take, a camera", _scene_args)
def scene(args, progress) -> dict:
    out = build_scene(args.song, args.out, motion=args.motion, style=args.style, seed=args.seed,
                      steps=args.steps, photo=args.photo, landmarks=args.landmarks, foot_lock=args.foot_lock,
                      markers=not args.no_markers, progress=progress)
    sc = bpy.context.scene
    return {"paths": {"scene": str(out)}, "frames": sc.frame_end - sc.frame_start + 1}


# ------------------------------------------------------------------ passes
def _passes_args(p: argparse.ArgumentParser) -> None:
    from magicdance_core.commands.passes import add_arguments

    add_arguments(p)


@action("passes", "render the guidance passes of a scene .blend's dancer (the file is not modified)", _passes_args)
def passes(args, progress) -> dict:
    from magicdance_core.commands.passes import check_args, landmarks_of

    src = check_args(args)
    if src.suffix.lower() != ".blend":
        raise BadInput(f"{src}: the passes action reads a scene .blend")
    from .passes import render_blend_file

    res = render_blend_file(src, args.out, landmarks=landmarks_of(args, progress), progress=progress,
                            **_pass_options(args))
    return {"paths": {"passes": str(res.out_dir)}, "frames": int(res.frames), "passes": list(res.passes),
            "fps": float(res.fps), "seconds": float(res.seconds)}


def _pass_options(args) -> dict:
    from magicdance_core.passes.render import SkeletonOptions
    from magicdance_core.passes.sequence import parse_passes

    return dict(passes=parse_passes(args.passes), size=args.size, width=args.width, height=args.height,
                fps=args.fps, skeleton=SkeletonOptions(swap_red_blue=args.skeleton_bgr, stick_width=args.stick_width),
                video=not args.no_video)


# ------------------------------------------------------------------ retarget
def _retarget_args(p: argparse.ArgumentParser) -> None:
    from magicdance_core.commands.retarget import add_arguments

    add_arguments(p)


@action("retarget", "put a motion .npz onto a character armature (.blend/.fbx/.glb in, .blend/.fbx/.glb out)",
        _retarget_args)
def retarget(args, progress) -> dict:
    from magicdance_core.commands.retarget import check_args
    from magicdance_core.fileio import atomic_path
    from magicdance_core.retarget.bone_names import load_preset, save_preset

    from . import character_io
    from . import retarget as md_retarget

    motion = check_args(args)   # every path and option, before the character is opened
    mapping = load_preset(args.mapping) if args.mapping else None
    progress("retarget", 0.0, "character")
    character_io.load_character_file(args.character)
    scene = bpy.context.scene
    char = character_io.pick_character(scene, args.armature)
    if char.mode != "OBJECT":
        bpy.context.view_layer.objects.active = char
        bpy.ops.object.mode_set(mode="OBJECT")
    progress("retarget", 0.2, "dancer")
    arm = dancer.find_dancer(scene)
    new_scene = arm is None
    if new_scene:
        arm = dancer.add_dancer(scene)
    take = takes.write_take(arm, motion, name=Path(args.motion).stem)
    s, e = takes.take_frame_range(take)
    if new_scene or scene.frame_end < e:
        scene.render.fps, scene.render.fps_base = 30, 1.0
        scene.frame_start, scene.frame_end = s, e
    progress("retarget", 0.4, "solving")
    act, summary = md_retarget.apply_take(scene, arm, take, char, mapping=mapping,
                                          foot_plant=not args.no_foot_plant)
    progress("retarget", 0.7, "writing")
    out = Path(args.out)
    with atomic_path(out) as tmp:   # ".part.fbx": the exporters see the format's suffix
        tmp.unlink()
        if out.suffix.lower() == ".blend":
            bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True, compress=False)
        else:
            character_io.export_character(char, tmp, s, e)
    if args.save_mapping:
        save_preset(args.save_mapping, json.loads(act["md_mapping"]), scheme=summary["scheme"])
    progress("retarget", 1.0, str(out))
    return {"paths": {"out": str(out)}, "message": md_retarget.summary_message(char, summary), **summary}


# ------------------------------------------------------------------ running an action
class _Parser(argparse.ArgumentParser):
    def error(self, message):   # one line, exit 2, as magicdance's own commands
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m blender_addon.headless", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser, required=True)
    for a in ACTIONS.values():
        p = sub.add_parser(a.name, help=a.help, description=a.help)
        a.arguments(p)
    return parser


def _claim_stdout():
    """A private copy of stdout for the messages; fd 1 (Blender's C-level prints) goes to stderr."""
    sys.stdout.flush()
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", buffering=1)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from magicdance_core.progress import honour_sigint

    honour_sigint()   # the parent cancels with SIGINT (magicdance_core/blender_process.py)
    out = _claim_stdout()

    def send(msg: dict) -> None:
        from magicdance_core.worker.protocol import encode

        try:
            out.write(encode(msg))
            out.flush()
        except (BrokenPipeError, OSError):
            pass   # the parent is gone; the work still ends cleanly

    last = [0.0]
    parent = os.getppid()

    def progress(stage, fraction, message=""):
        if os.getppid() != parent:   # the process that started this one is gone (killed): stop
            raise Cancelled("the parent process is gone")
        now = time.monotonic()
        if fraction < 1.0 and now - last[0] < 0.05:
            return
        last[0] = now
        send({"type": "progress", "stage": str(stage), "fraction": float(fraction), "message": str(message)})

    try:
        result = ACTIONS[args.action].run(args, progress)
    except (KeyboardInterrupt, Cancelled):
        send({"type": "error", "kind": "Cancelled", "message": "cancelled"})
        return 130
    except MagicDanceError as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        send({"type": "error", "kind": type(e).__name__, "message": msg})
        print(f"error: {msg}", file=sys.stderr)
        return e.exit_code
    except Exception as e:   # a bug: its traceback to stderr, one line to the parent
        traceback.print_exc()
        send({"type": "error", "kind": "InternalError", "message": f"{type(e).__name__}: {e}"})
        return 1
    send({"type": "result", **result})
    return 0


if __name__ == "__main__":
    # Run as a script this file is ``__main__``; the registry that other modules extend is the
    # one in ``blender_addon.headless``, so run that module's main.
    from blender_addon.headless import main as _main

    sys.exit(_main())
