"""Apply to Character, the Blender side: read the two armatures, write the character's keys.

The maths is ``magicdance_core.retarget`` (no bpy); this module only translates:

- :func:`read_rig` turns the character's armature into a :class:`~magicdance_core.retarget.solve.TargetRig`
  (bone names, parents, ``bone.matrix_local``, the object's world matrix);
- :func:`apply_take` writes the solved rotations and root motion as a new Action on the
  character, on its own NLA track (``<character>_<take>``; earlier applied takes stay on muted
  tracks, the dancer's SMPL take is not touched).  Only the mapped bones get keys: fingers,
  face and helper bones keep whatever they had.

Locked keys (as on the dancer, see takes.py): a key on the character's current MagicDance Action
whose type is not 'GENERATED' or whose value differs from what was written (``md_generated``) is
written back exactly, typed 'KEYFRAME', when a take is applied again; F-curves the animator added
on other channels (a finger, a prop) are carried over whole.

An Action the character already played that is not one of ours is kept on a muted NLA track
(``[Kept] <name>``), never deleted.
"""

from __future__ import annotations

import json

import bpy
import numpy as np

from magicdance_core.errors import BadInput
from magicdance_core.retarget import bone_names, solve

from . import takes

CHAR_TAKE_KEY = "md_char_take"      # on a character Action: the dancer take it was made from
MAP_PROP = "md_bone_map"            # on the character object: the mapping last used (JSON)
KEY_KEYFRAME = 0
KEPT_PREFIX = "[Kept] "


# ------------------------------------------------------------------ reading
def is_character(ob) -> bool:
    """An armature that is not the MagicDance dancer."""
    return ob is not None and ob.type == "ARMATURE" and not ob.get("magicdance_dancer")


def find_character(scene, prefer=None):
    """``prefer`` if it is a character armature, else the scene's only one (None if 0 or several)."""
    if is_character(prefer):
        return prefer
    found = [ob for ob in scene.objects if is_character(ob)]
    return found[0] if len(found) == 1 else None


def read_rig(ob) -> solve.TargetRig:
    """The character's rest armature as plain arrays (edit-mode changes are flushed first)."""
    if ob.mode == "EDIT":
        ob.update_from_editmode()
    bones = ob.data.bones
    names = [b.name for b in bones]
    index = {n: i for i, n in enumerate(names)}
    parents = [index[b.parent.name] if b.parent else -1 for b in bones]
    rest = np.empty(len(bones) * 16, np.float32)
    bones.foreach_get("matrix_local", rest)
    # foreach_get gives each 4x4 column-major
    rest = rest.reshape(-1, 4, 4).transpose(0, 2, 1).astype(np.float64)
    parents = _effective_parents(ob, names, parents, rest)
    return solve.TargetRig(names, parents, rest, np.array(ob.matrix_world, np.float64))


def _copies(ob, pb):
    """The bone whose world transform ``pb`` copies whole (a full-influence Copy Transforms in world
    space from the same armature), or None."""
    for c in pb.constraints:
        if (c.type == "COPY_TRANSFORMS" and not c.mute and c.enabled and c.influence >= 0.999
                and c.target == ob and c.subtarget in ob.pose.bones
                and c.owner_space == "WORLD" and c.target_space == "WORLD"):
            return c.subtarget
    return None


def _effective_parents(ob, names, parents, rest):
    """Parents as the bones actually move: a parent that copies another bone's transform (Rigify's
    ORG-shoulder follows the shoulder control) stands for that bone when both share one rest.

    The solver holds unmapped bones between a bone and its mapped ancestor at rest; a bone that
    follows a keyed control through a constraint is not at rest, the control it copies is."""
    index = {n: i for i, n in enumerate(names)}
    out = list(parents)
    for i, p in enumerate(parents):
        seen = set()
        while p >= 0 and p not in seen:
            seen.add(p)
            src = _copies(ob, ob.pose.bones[names[p]])
            if src is None or not np.allclose(rest[index[src]], rest[p], atol=1e-4):
                break
            p = index[src]
        out[i] = p if p != i else parents[i]
    return out


def dancer_rest(arm):
    """(rest joints (24,3) in the dancer's armature space = SMPL frame, its world matrix)."""
    from magicdance_core.body import skeleton

    rj = np.array([arm.data.bones[n].head_local for n in skeleton.JOINT_NAMES], np.float64)
    return rj, np.array(arm.matrix_world, np.float64)


def auto_mapping(ob):
    """(mapping, scheme, unmapped joints) guessed from the character's bone names."""
    rig = read_rig(ob)
    return bone_names.auto_map(rig.names, rig.depth())


# ------------------------------------------------------------------ the mapping on the object
def stored_mapping(ob):
    """The mapping the UI table holds (or the one last used), {} when there is none."""
    table = getattr(ob, "magicdance_bone_map", None)
    if table is not None and len(table):
        return {it.joint: it.bone for it in table if it.bone}
    try:
        return dict(json.loads(ob.get(MAP_PROP, "") or "{}"))
    except ValueError:
        return {}


def fill_table(ob, mapping) -> None:
    """Show ``mapping`` in the character's mapping table (one row per SMPL joint, in SMPL order)."""
    table = getattr(ob, "magicdance_bone_map", None)
    if table is None:
        return
    table.clear()
    for j in bone_names.RETARGET_JOINTS:
        it = table.add()
        it.joint = j
        it.bone = mapping.get(j, "")


# ------------------------------------------------------------------ writing
def _rotation_channels(pb):
    """(data path, components) of a pose bone's rotation in its own rotation mode."""
    if pb.rotation_mode == "QUATERNION":
        return "rotation_quaternion", 4
    if pb.rotation_mode == "AXIS_ANGLE":
        return "rotation_axis_angle", 4
    return "rotation_euler", 3


def _rotation_values(pb, quats: np.ndarray) -> np.ndarray:
    """(T, k) values of the pose bone's rotation channels for quaternions (T,4) wxyz."""
    from mathutils import Quaternion

    mode = pb.rotation_mode
    if mode == "QUATERNION":
        return quats
    out = np.empty((len(quats), 4 if mode == "AXIS_ANGLE" else 3))
    prev = None
    for t, q in enumerate(quats):
        qq = Quaternion(q)
        if mode == "AXIS_ANGLE":
            axis, angle = qq.to_axis_angle()
            out[t] = (angle, *axis)
        else:
            # compat: the Euler nearest the previous frame's, so the curve does not jump by 2 pi
            e = qq.to_euler(mode) if prev is None else qq.to_euler(mode, prev)
            out[t] = e
            prev = e
    return out


def _channels(ob, res: solve.Retargeted):
    """[(data_path, index, group)] and the (T, C) values for a solved take."""
    paths, cols = [], []
    for k, b in enumerate(res.bones):
        pb = ob.pose.bones[b]
        prop, n = _rotation_channels(pb)
        vals = _rotation_values(pb, res.quats[:, k])
        for i in range(n):
            paths.append((f'pose.bones["{b}"].{prop}', i, b))
            cols.append(vals[:, i])
        if b == res.root_bone:
            for i in range(3):
                paths.append((f'pose.bones["{b}"].location', i, b))
                cols.append(res.root_location[:, i])
    return paths, np.stack(cols, 1)


def _write_fcurves(action, ob, paths, values, frames, key_types):
    slot = takes._slot_for(action, ob)
    bag = takes._channelbag(action, slot)
    T = len(frames)
    co = np.empty((T, 2), np.float32)
    co[:, 0] = frames
    interp = np.full(T, takes.INTERP_LINEAR, np.int32)
    groups = {}
    for c, (path, index, gname) in enumerate(paths):
        if slot is None:
            fc = bag.fcurves.new(path, index=index, action_group=gname)
        else:
            fc = bag.fcurves.new(path, index=index)
            grp = groups.get(gname) or groups.setdefault(gname, bag.groups.new(gname))
            fc.group = grp
        kp = fc.keyframe_points
        kp.add(T)
        co[:, 1] = values[:, c]
        kp.foreach_set("co", co.ravel())
        kp.foreach_set("interpolation", interp)
        kp.foreach_set("type", np.ascontiguousarray(key_types[:, c], np.int32))
        fc.update()
    return slot, bag


def character_takes(ob):
    """[(track, action)] of the takes applied to the character, oldest first."""
    ad = ob.animation_data
    if ad is None:
        return []
    return [(tr, tr.strips[0].action) for tr in ad.nla_tracks
            if tr.strips and tr.strips[0].action is not None and tr.strips[0].action.get(CHAR_TAKE_KEY)]


def current_take(ob):
    """The character's MagicDance Action being played/edited (the active one, else the newest)."""
    ad = ob.animation_data
    if ad is not None and ad.action is not None and ad.action.get(CHAR_TAKE_KEY):
        return ad.action
    ts = character_takes(ob)
    return ts[-1][1] if ts else None


def _locked(action):
    """({(path, index): {frame: value}} locked keys, {(path, index): fcurve} the other F-curves)."""
    fcs = takes.take_fcurves(action)
    ours = [tuple(p) for p in json.loads(action.get("md_channels", "[]"))]
    s = int(action.get("md_frame_start", 0))
    gen = np.asarray(action.get("md_generated", []), np.float64)
    gen = gen.reshape(-1, len(ours)) if (gen.size and ours) else np.zeros((0, len(ours)))
    locks, others = {}, {}
    col = {k: c for c, k in enumerate(ours)}
    for key, fc in fcs.items():
        c = col.get(key)
        if c is None:
            others[key] = fc
            continue
        keys = takes.fcurve_locks(fc, gen[:, c], s)
        if keys:
            locks[key] = keys
    return locks, others


def _copy_fcurve(bag, slot, src):
    """A whole F-curve (keys, handles, interpolation, type) into ``bag``."""
    if slot is None:
        fc = bag.fcurves.new(src.data_path, index=src.array_index,
                             action_group=src.group.name if src.group else "")
    else:
        fc = bag.fcurves.new(src.data_path, index=src.array_index)
    n = len(src.keyframe_points)
    fc.keyframe_points.add(n)
    for attr, dtype, width in (("co", np.float32, 2), ("handle_left", np.float32, 2),
                               ("handle_right", np.float32, 2), ("interpolation", np.int32, 1),
                               ("type", np.int32, 1), ("handle_left_type", np.int32, 1),
                               ("handle_right_type", np.int32, 1)):
        buf = np.empty(n * width, dtype)
        src.keyframe_points.foreach_get(attr, buf)
        fc.keyframe_points.foreach_set(attr, buf)
    fc.extrapolation = src.extrapolation
    fc.update()
    return fc


def _keep_foreign_action(ob) -> None:
    """Move an Action the character plays that is not ours onto a muted NLA track."""
    ad = ob.animation_data
    if ad is None or ad.action is None or ad.action.get(CHAR_TAKE_KEY):
        return
    act = ad.action
    track = ad.nla_tracks.new()
    track.name = KEPT_PREFIX + act.name
    strip = track.strips.new(act.name, int(act.frame_range[0]), act)
    if hasattr(strip, "action_slot") and getattr(ad, "action_slot", None) is not None:
        strip.action_slot = ad.action_slot
    track.mute = True
    act.use_fake_user = True


def set_current_take(ob, action) -> None:
    """Play and edit ``action`` on the character; the other applied takes' tracks are muted."""
    for tr, act in character_takes(ob):
        tr.mute = act != action
    takes.assign_action(ob, action)


RIGIFY_FOLLOW = ("neck_follow", "head_follow")


def _rigify_fk_switches(ob, bones) -> list:
    """Rigify settings that make the keyed FK controls what the rig shows: ["bone/property"].

    - a limb whose FK controls get keys: its IK/FK switch (``IK_FK`` on the limb's ``*_parent``
      bone) set to FK, 1.0 -- on IK the FK keys would be there but not seen;
    - the neck and head follow the chest fully (``neck_follow`` / ``head_follow`` on the torso
      control, 1.0): by default they keep part of their world rotation, which is not the take's.
    """
    switched = []
    for b in bones:
        if "_fk" in b:
            pb = ob.pose.bones.get(b.replace("_fk", "_parent", 1))
            if pb is not None and "IK_FK" in pb.keys() and pb["IK_FK"] != 1.0:
                pb["IK_FK"] = 1.0
                switched.append(f"{pb.name}/IK_FK")
    if "neck" in bones or "head" in bones:
        for pb in ob.pose.bones:
            for prop in RIGIFY_FOLLOW:
                if prop in pb.keys() and pb[prop] != 1.0:
                    pb[prop] = 1.0
                    switched.append(f"{pb.name}/{prop}")
    return switched


def apply_take(scene, dancer, take, character, mapping=None, foot_plant: bool = True, name=None):
    """Put the dancer's ``take`` onto ``character``; returns (new Action, summary dict).

    ``mapping`` {SMPL joint: bone}; None = the character's table / last mapping, else the
    automatic one.  Raises BadInput (the scene unchanged) for a mapping that does not fit.
    """
    if not is_character(character):
        raise BadInput("choose a character armature (not the MagicDance dancer)")
    if take is None or not take.get(takes.TAKE_KEY):
        raise BadInput("the dancer has no active take to apply")
    rig = read_rig(character)
    if mapping is None:
        mapping = stored_mapping(character)
    auto, auto_scheme, _u = bone_names.auto_map(rig.names, rig.depth())
    mapping = mapping or auto
    scheme = auto_scheme if mapping == auto else "custom"   # the name of what was used, for the report
    mapping = bone_names.check_mapping(mapping, rig.names)
    unmapped = [j for j in bone_names.RETARGET_JOINTS if j not in mapping]
    motion = takes.take_to_motion(take)
    s, _e = takes.take_frame_range(take)
    rj, mw = dancer_rest(dancer)
    res = solve.retarget(motion, rj, mw, rig, mapping, foot_plant=foot_plant)   # all checks before any change

    paths, values = _channels(character, res)
    T = values.shape[0]
    frames = np.arange(T, dtype=np.float64) + s
    key_types = np.full(values.shape, takes.KEY_GENERATED, np.int32)
    prev = current_take(character)
    locks, others = _locked(prev) if prev is not None else ({}, {})
    col = {(p, i): c for c, (p, i, _g) in enumerate(paths)}
    kept = 0
    extra_keys = {}
    for key, keys in locks.items():
        c = col.get(key)
        for f, v in keys.items():
            fi = int(round(f - s))
            if c is not None and 0 <= fi < T and abs(f - round(f)) < 1e-4:
                values[fi, c] = v
                key_types[fi, c] = KEY_KEYFRAME
            else:   # outside the new take, or a channel the new mapping leaves out: kept as it is
                extra_keys.setdefault(key, {})[f] = v
            kept += 1
    generated = values.copy()
    generated[key_types != takes.KEY_GENERATED] = np.nan   # locked keys are never "as generated"

    _keep_foreign_action(character)
    action = bpy.data.actions.new(name or f"{character.name}_{take.name}")
    slot, bag = _write_fcurves(action, character, paths, values, frames, key_types)
    for key, fc in others.items():
        _copy_fcurve(bag, slot, fc)
    for (path, index), keys in extra_keys.items():
        fc = takes.take_fcurves(action).get((path, index))
        if fc is None:
            fc = bag.fcurves.new(path, index=index)
        for f, v in sorted(keys.items()):
            fc.keyframe_points.insert(f, v, options={"FAST"}).type = "KEYFRAME"
        fc.update()
    action[CHAR_TAKE_KEY] = take.name
    action["md_frame_start"] = int(s)
    action["md_channels"] = json.dumps([[p, i] for p, i, _g in paths])
    action["md_generated"] = generated.astype(np.float32).ravel()
    action["md_mapping"] = json.dumps(mapping)
    ad = character.animation_data or character.animation_data_create()
    track = ad.nla_tracks.new()
    track.name = action.name
    strip = track.strips.new(action.name, int(s), action)
    if slot is not None and hasattr(strip, "action_slot"):
        strip.action_slot = slot
    set_current_take(character, action)
    switched = _rigify_fk_switches(character, res.bones)
    character[MAP_PROP] = json.dumps(mapping)
    table = getattr(character, "magicdance_bone_map", None)
    if table is not None and not len(table):   # show what was used, ready to edit
        fill_table(character, mapping)
    summary = {"action": action.name, "bones": len(res.bones), "frames": int(T), "scheme": scheme,
               "unmapped": unmapped, "locked_kept": kept, "leg_scale": res.leg_scale,
               "planted_frames": int(res.planted.sum()), "fk_switched": switched}
    return action, summary


def summary_message(character, summary) -> str:
    """One report line: what was applied, and the SMPL joints without a bone."""
    msg = (f"{summary['action']}: {summary['bones']} bones keyed on {character.name} over "
           f"{summary['frames']} frames")
    if summary["locked_kept"]:
        msg += f", {summary['locked_kept']} locked keys kept"
    if summary["unmapped"]:
        msg += f"; not mapped (left as they are): {', '.join(summary['unmapped'])}"
    return msg
