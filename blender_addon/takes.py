"""Takes: one Action per generated dance, each on its own NLA track.

A take's Action holds one F-curve per channel, written in bulk
(``keyframe_points.add`` + ``foreach_set``) through the layered action API of
Blender 4.4+ (an action slot for the armature object, a keyframe strip, a
channelbag), falling back to ``action.fcurves`` on 4.2/4.3.

Channels (in this order, see :func:`channel_paths`): the 24 bones' quaternions
(w,x,y,z, hemisphere-continuous over time), the pelvis bone's location (= the
motion's ``trans``, the rest head is at the armature origin and its rest
orientation is identity, so armature space = bone-local space), and the four
foot contacts as the object's ``["md_contacts"]`` custom property.

Keys written by the generator have keyframe type 'GENERATED'.  A key counts as
*locked* for Regenerate when its type is anything else (the animator inserted
it, or set its type to Keyframe/Extreme/...) or when its value differs from the
value the generator wrote (kept on the Action as ``md_generated``).

The active take is the armature's ``animation_data.action`` (what the Dope
Sheet and Graph Editor edit); its NLA track is unmuted, every other take's track
is muted.  Solo plays one take's track alone with the active action lifted.
"""

from __future__ import annotations

import json

import bpy
import numpy as np

from magicdance_core.body import skeleton
from magicdance_core.body.motion_file import Motion
from magicdance_core.body.rotations import axis_angle_to_quat, quat_make_continuous, quat_to_axis_angle
from magicdance_core.errors import BadInput

CONTACT_PROP = "md_contacts"
TAKE_KEY = "md_take"
KEY_GENERATED = 5  # index of 'GENERATED' in Keyframe.type's enum
INTERP_LINEAR = 1
NUM_CHANNELS = 24 * 4 + 3 + 4


def channel_paths():
    """[(data_path, index, group)] for every channel, in the order of the stored arrays."""
    out = []
    for name in skeleton.JOINT_NAMES:
        for i in range(4):
            out.append((f'pose.bones["{name}"].rotation_quaternion', i, name))
    for i in range(3):
        out.append(('pose.bones["pelvis"].location', i, "pelvis"))
    for i in range(4):
        out.append((f'["{CONTACT_PROP}"]', i, "Contacts"))
    return out


def motion_channels(motion: Motion, rest_pelvis=None) -> np.ndarray:
    """(T, NUM_CHANNELS) channel values of ``motion`` in the order of :func:`channel_paths`."""
    T = motion.num_frames
    q = axis_angle_to_quat(np.asarray(motion.poses, np.float64))     # (T,24,4) wxyz
    q = quat_make_continuous(q, axis=0)
    head = np.zeros(3) if rest_pelvis is None else np.asarray(rest_pelvis, np.float64)
    loc = np.asarray(motion.trans, np.float64) - head                 # bone-local (identity rest)
    contacts = np.asarray(motion.contacts, np.float64).reshape(T, 4)
    return np.concatenate([q.reshape(T, 96), loc, contacts], axis=1)


def channels_to_motion(values: np.ndarray, fps: float = 30.0, meta=None, rest_pelvis=None) -> Motion:
    values = np.asarray(values, np.float64)
    T = values.shape[0]
    q = values[:, :96].reshape(T, 24, 4)
    q = q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), 1e-12)
    head = np.zeros(3) if rest_pelvis is None else np.asarray(rest_pelvis, np.float64)
    return Motion(poses=quat_to_axis_angle(q), trans=values[:, 96:99] + head,
                  contacts=np.clip(values[:, 99:103], 0, 1), fps=fps, meta=dict(meta or {}))


# ------------------------------------------------------------------ fcurve containers
def _slot_for(action, arm):
    """The action slot for ``arm`` (Blender 4.4+), created when missing; None before 4.4."""
    if not hasattr(action, "slots"):
        return None
    for s in action.slots:
        if s.target_id_type == "OBJECT":
            return s
    return action.slots.new("OBJECT", arm.name)


def _channelbag(action, slot):
    """The F-curve container: a channelbag of the action's keyframe strip, or the action."""
    if slot is None:
        return action
    if not action.layers:
        action.layers.new("Layer")
    layer = action.layers[0]
    if not layer.strips:
        layer.strips.new(type="KEYFRAME")
    return layer.strips[0].channelbag(slot, ensure=True)


def take_fcurves(action):
    """{(data_path, index): fcurve} of a take action."""
    if hasattr(action, "layers") and action.layers:
        out = {}
        for layer in action.layers:
            for strip in layer.strips:
                for bag in strip.channelbags:
                    for fc in bag.fcurves:
                        out[(fc.data_path, fc.array_index)] = fc
        return out
    return {(fc.data_path, fc.array_index): fc for fc in getattr(action, "fcurves", [])}


def assign_action(arm, action) -> None:
    ad = arm.animation_data or arm.animation_data_create()
    ad.action = action
    if action is not None and hasattr(ad, "action_slot"):
        slot = _slot_for(action, arm)
        if ad.action_slot != slot:
            ad.action_slot = slot


# ------------------------------------------------------------------ writing
def _ensure_contact_prop(arm) -> None:
    if CONTACT_PROP not in arm.keys():
        arm[CONTACT_PROP] = [0.0, 0.0, 0.0, 0.0]
        ui = arm.id_properties_ui(CONTACT_PROP)
        ui.update(min=0.0, max=1.0, description="Foot contacts: left ankle, left toe, right ankle, right toe")


def write_action_values(action, arm, values: np.ndarray, frame_start: int, key_type=KEY_GENERATED,
                        frames=None):
    """Create F-curves on ``action`` holding ``values`` (T, NUM_CHANNELS), keyed in bulk."""
    slot = _slot_for(action, arm)
    bag = _channelbag(action, slot)
    T = values.shape[0]
    fr = np.arange(T, dtype=np.float64) + frame_start if frames is None else np.asarray(frames, np.float64)
    co = np.empty((T, 2), dtype=np.float32)
    co[:, 0] = fr
    types = np.full(T, KEY_GENERATED if not np.isscalar(key_type) else key_type, dtype=np.int32)
    key_types = None if np.isscalar(key_type) else np.asarray(key_type, np.int32)
    interp = np.full(T, INTERP_LINEAR, dtype=np.int32)
    groups = {}
    for c, (path, index, gname) in enumerate(channel_paths()):
        if slot is None:
            fc = bag.fcurves.new(path, index=index, action_group=gname)
        else:
            fc = bag.fcurves.new(path, index=index)
            grp = groups.get(gname)
            if grp is None:
                grp = groups[gname] = bag.groups.new(gname)
            fc.group = grp
        kp = fc.keyframe_points
        kp.add(T)
        co[:, 1] = values[:, c]
        kp.foreach_set("co", co.ravel())
        kp.foreach_set("interpolation", interp)   # keys every frame: linear = exact, no overshoot
        kp.foreach_set("type", types if key_types is None else np.ascontiguousarray(key_types[:, c]))
        fc.update()
    return slot


def new_take_name(arm, base: str = "Take") -> str:
    existing = {a.name for a in bpy.data.actions}
    i = 1 + len(list_takes(arm))
    while f"{arm.name}_{base}{i:02d}" in existing:
        i += 1
    return f"{arm.name}_{base}{i:02d}"


def write_take(armature, motion: Motion, name=None, frame_start=None, make_active: bool = True,
               values=None, key_types=None):
    """Write ``motion`` as a new take (Action on its own NLA track); returns the Action.

    ``values`` (T, NUM_CHANNELS) overrides the channels computed from ``motion``
    (Regenerate passes the merged channels), ``key_types`` (T, NUM_CHANNELS) the
    keyframe types (default all 'GENERATED').
    """
    arm = armature
    if arm is None or arm.type != "ARMATURE":
        raise BadInput("write_take needs the dancer armature")
    scene = bpy.context.scene
    if frame_start is None:
        frame_start = scene.frame_start
    _ensure_contact_prop(arm)
    values = motion_channels(motion) if values is None else np.asarray(values, np.float64)
    name = name or new_take_name(arm)
    action = bpy.data.actions.new(name)
    action.use_fake_user = False
    slot = write_action_values(action, arm, values, int(frame_start),
                               key_type=KEY_GENERATED if key_types is None else key_types)
    action[TAKE_KEY] = True
    action["md_frame_start"] = int(frame_start)
    action["md_fps"] = float(motion.fps)
    action["md_meta"] = json.dumps(motion.meta, sort_keys=True, default=str)
    # What the generator wrote, to tell hand-edited keys from generated ones.
    action["md_generated"] = values.astype(np.float32).ravel()
    ad = arm.animation_data or arm.animation_data_create()
    track = ad.nla_tracks.new()
    track.name = name
    strip = track.strips.new(name, int(frame_start), action)
    if slot is not None and hasattr(strip, "action_slot"):
        strip.action_slot = slot
    track.mute = True
    if make_active:
        set_active_take(arm, action)
    return action


# ------------------------------------------------------------------ take list
def list_takes(arm):
    """[(track, action)] of the armature's takes, oldest first."""
    ad = arm.animation_data
    if ad is None:
        return []
    out = []
    for tr in ad.nla_tracks:
        if tr.strips and tr.strips[0].action is not None and tr.strips[0].action.get(TAKE_KEY):
            out.append((tr, tr.strips[0].action))
    return out


def active_take(arm):
    ad = arm.animation_data
    if ad is None or ad.action is None or not ad.action.get(TAKE_KEY):
        return None
    return ad.action


def track_of(arm, action):
    for tr, act in list_takes(arm):
        if act == action:
            return tr
    return None


def set_active_take(arm, action) -> None:
    """Make ``action`` the played and edited take; mute every other take's track."""
    for tr, act in list_takes(arm):
        tr.is_solo = False
        tr.mute = act != action
    assign_action(arm, action)
    arm["md_solo"] = ""


def solo_take(arm, action) -> None:
    """Play ``action``'s track alone (lifting the active action); call again to stop."""
    if arm.get("md_solo"):
        prev = bpy.data.actions.get(arm["md_solo"])
        arm["md_solo"] = ""
        for tr, _ in list_takes(arm):
            tr.is_solo = False
        if prev is not None:
            set_active_take(arm, prev)
        return
    cur = active_take(arm)
    arm["md_solo"] = cur.name if cur is not None else ""
    for tr, act in list_takes(arm):
        tr.mute = act != action
        tr.is_solo = act == action
    assign_action(arm, None)


def duplicate_take(arm, action):
    new = action.copy()
    new.name = new_take_name(arm)
    ad = arm.animation_data
    track = ad.nla_tracks.new()
    track.name = new.name
    strip = track.strips.new(new.name, int(action.get("md_frame_start", action.frame_range[0])), new)
    slot = _slot_for(new, arm)
    if slot is not None and hasattr(strip, "action_slot"):
        strip.action_slot = slot
    track.mute = True
    return new


def delete_take(arm, action) -> None:
    tr = track_of(arm, action)
    was_active = active_take(arm) == action
    if tr is not None:
        arm.animation_data.nla_tracks.remove(tr)
    if was_active:
        assign_action(arm, None)
    bpy.data.actions.remove(action)
    takes = list_takes(arm)
    if was_active and takes:
        set_active_take(arm, takes[-1][1])


def rename_take(arm, action, name: str) -> None:
    action.name = name
    tr = track_of(arm, action)
    if tr is not None:
        tr.name = action.name
        tr.strips[0].name = action.name


# ------------------------------------------------------------------ reading back
def fcurve_values(fc, frames: np.ndarray) -> np.ndarray:
    """F-curve values at ``frames``: key values read in bulk where a key sits on the frame
    (a take has one per frame), ``evaluate`` only in between."""
    frames = np.asarray(frames, np.float64)
    n = len(fc.keyframe_points)
    out = np.empty(len(frames))
    todo = np.ones(len(frames), bool)
    if n:
        co = np.empty(n * 2, np.float32)
        fc.keyframe_points.foreach_get("co", co)
        kf = co[0::2].astype(np.float64)
        kv = co[1::2]
        i = np.clip(np.searchsorted(kf, frames), 0, n - 1)
        hit = np.abs(kf[i] - frames) < 1e-4
        out[hit] = kv[i[hit]]
        todo = ~hit
    for j in np.nonzero(todo)[0]:
        out[j] = fc.evaluate(float(frames[j]))
    return out


def read_channels(action, frames) -> np.ndarray:
    """(len(frames), NUM_CHANNELS) values of the action's F-curves at ``frames``."""
    fcs = take_fcurves(action)
    out = np.zeros((len(frames), NUM_CHANNELS))
    for c, (path, index, _) in enumerate(channel_paths()):
        fc = fcs.get((path, index))
        if fc is None:
            out[:, c] = 1.0 if (path.endswith("rotation_quaternion") and index == 0) else 0.0
            continue
        out[:, c] = fcurve_values(fc, frames)
    return out


def take_frame_range(action):
    s = int(action.get("md_frame_start", round(action.frame_range[0])))
    fr = action.frame_range
    return s, int(round(fr[1]))


def take_to_motion(action) -> Motion:
    """The take as a Motion (all frames from its start to its last key)."""
    s, e = take_frame_range(action)
    vals = read_channels(action, np.arange(s, e + 1))
    meta = json.loads(action.get("md_meta", "{}") or "{}")
    return channels_to_motion(vals, fps=float(action.get("md_fps", 30.0)), meta=meta)


def fcurve_locks(fc, generated, start: int) -> dict:
    """{frame: value} of the keys on ``fc`` that Regenerate must keep exactly.

    ``generated``: the column of values the generator wrote for this F-curve, from frame
    ``start`` on (NaN where nothing counts as generated). A key is locked when its type is not
    'GENERATED' (inserted by hand or explicitly marked), it lies off the generated frames, or
    its value is not what the generator wrote. Shared by the dancer's takes and the character's
    retargeted ones (retarget.py), so both keep the same keys."""
    n = len(fc.keyframe_points)
    if not n:
        return {}
    co = np.empty(n * 2, np.float32)
    fc.keyframe_points.foreach_get("co", co)
    co = co.reshape(n, 2)
    types = np.empty(n, np.int32)
    fc.keyframe_points.foreach_get("type", types)
    fi = np.rint(co[:, 0]).astype(int) - int(start)
    inside = (fi >= 0) & (fi < len(generated)) & (np.abs(co[:, 0] - np.rint(co[:, 0])) < 1e-4)
    genval = np.full(n, np.nan)
    genval[inside] = np.asarray(generated, np.float64)[fi[inside]]
    lock = (types != KEY_GENERATED) | ~inside | ~(np.abs(co[:, 1] - genval) <= 1e-5)
    return {float(f): float(v) for f, v in co[lock]}


def locked_keys(action):
    """{channel: {frame: value}} of the dancer take's keys that Regenerate must keep exactly
    (:func:`fcurve_locks` per channel)."""
    fcs = take_fcurves(action)
    gen = np.asarray(action.get("md_generated", []), dtype=np.float64)
    s = int(action.get("md_frame_start", 0))
    gen = gen.reshape(-1, NUM_CHANNELS) if gen.size else np.zeros((0, NUM_CHANNELS))
    out = {}
    for c, (path, index, _) in enumerate(channel_paths()):
        fc = fcs.get((path, index))
        if fc is None:
            continue
        keys = fcurve_locks(fc, gen[:, c], s)
        if keys:
            out[c] = keys
    return out


def flatten(arm):
    """Keep only the active take, as a plain Action (no take tracks); returns it."""
    act = active_take(arm)
    if act is None:
        raise BadInput("the dancer has no active take to flatten")
    ad = arm.animation_data
    for tr, a in list_takes(arm):
        ad.nla_tracks.remove(tr)
        if a != act and a.users == 0:
            bpy.data.actions.remove(a)
    del act[TAKE_KEY]
    act.name = f"{arm.name}_Flat"
    assign_action(arm, act)
    return act
