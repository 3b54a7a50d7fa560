"""``magicdance retarget CHARACTER MOTION -o OUT``: a dance onto the animator's own character, headless.

The Blender part is the ``retarget`` action of the add-on's headless entry point
(blender_addon/headless.py), run as a child process: magicdance_core never imports bpy.
"""

from __future__ import annotations

NAME = "retarget"
HELP = "put a dance (motion .npz) onto your own character armature (.blend, .fbx, .glb/.gltf)"
DESCRIPTION = (
    "Put a dance onto a character armature: bones mapped by name (Mixamo, Rigify, Unreal, CMU, "
    "MakeHuman, SMPL-X, or a best guess; --mapping for your own), rest-pose differences handled, "
    "root motion scaled by leg length, planted feet held.  The character gets its own Action on "
    "its own NLA track; a .blend output also keeps the dancer with the SMPL take.  Keys you locked "
    "on the character in an earlier output .blend are kept when you retarget onto it again."
)
CHARACTER_SUFFIXES = (".blend", ".fbx", ".glb", ".gltf")
OUTPUT_SUFFIXES = (".blend", ".fbx", ".glb")


def add_arguments(p) -> None:
    p.add_argument("character", help="the character: a .blend, .fbx, .glb or .gltf holding its armature")
    p.add_argument("motion", help="the dance: a motion .npz (magicdance motion / dance output)")
    p.add_argument("-o", "--out", required=True, help="output .blend (character, dancer and takes), .fbx or .glb (the character)")
    p.add_argument("--armature", default=None,
                   help="the character armature's object name (needed when the file holds several)")
    p.add_argument("--mapping", default=None,
                   help="bone mapping preset (JSON, as the add-on saves it; default: from the bone names)")
    p.add_argument("--save-mapping", default=None, help="also write the mapping used as a preset JSON")
    p.add_argument("--no-foot-plant", action="store_true", help="do not hold planted feet")


def check_args(args):
    """Every path and option before Blender starts (the entry point checks them again)."""
    from ..body.motion_file import load_motion
    from ..checks import check_distinct, check_input_file, check_output
    from ..errors import BadInput
    from ..retarget.bone_names import load_preset

    char = check_input_file(args.character, "CHARACTER", "character file")
    if char.suffix.lower() not in CHARACTER_SUFFIXES:
        raise BadInput(f"CHARACTER: {char.name} is not a {', '.join(CHARACTER_SUFFIXES)} file")
    mot = check_input_file(args.motion, "MOTION", "motion file")
    if mot.suffix.lower() != ".npz":
        raise BadInput(f"MOTION: {mot.name} is not a motion .npz")
    try:
        motion = load_motion(mot)
    except BadInput as e:
        raise BadInput(f"MOTION: {e}") from None
    if args.mapping is not None:
        check_input_file(args.mapping, "--mapping", "mapping preset")
        try:
            load_preset(args.mapping)
        except BadInput as e:
            raise BadInput(f"--mapping: {e}") from None
    inputs = {"CHARACTER": char, "MOTION": mot, "--mapping": args.mapping}
    check_output(args.out, "-o", suffixes=OUTPUT_SUFFIXES, inputs=inputs)
    if args.save_mapping is not None:
        check_output(args.save_mapping, "--save-mapping", suffixes=(".json",), inputs=inputs)
        check_distinct({"-o": args.out, "--save-mapping": args.save_mapping})
    if args.armature is not None and not str(args.armature).strip():
        raise BadInput("--armature: empty name")
    return motion


def run(args, progress) -> int:
    import sys

    from ..blender_process import run_action

    check_args(args)
    argv = [args.character, args.motion, "-o", args.out]
    for flag, v in (("--armature", args.armature), ("--mapping", args.mapping),
                    ("--save-mapping", args.save_mapping)):
        if v is not None:
            argv += [flag, v]
    argv += ["--no-foot-plant"] * bool(args.no_foot_plant)
    r = run_action("retarget", argv, progress)
    if r.get("unmapped"):
        print(f"warning: no bone for {', '.join(r['unmapped'])} (left as they are)", file=sys.stderr)
    print(f"{r['message']}", file=sys.stderr)
    print(r["paths"]["out"])
    return 0
