"""Which bone of a character plays which SMPL joint.

A mapping is ``{smpl_joint_name: target_bone_name}`` over :data:`RETARGET_JOINTS`: the SMPL
joints except ``left_hand``/``right_hand`` (those rotate the fingers as a block, and the
character's fingers are left alone).  :func:`auto_map` tries the known naming schemes, keeps the
one that matches most bones, and fills what is still missing with a fuzzy match on the name
(side + body-part keywords).  Presets are JSON files (:func:`save_preset` / :func:`load_preset`).

Rigify: the scheme drives the generated rig's FK *control* bones (``torso``, ``thigh_fk.L``,
``upper_arm_fk.L``...), not the ``DEF-`` bones.  The DEF and ORG bones follow the controls
through constraints, so keys on them are overwritten on every evaluation; keys on the controls
keep the rig usable (the animator edits the result with the same controls, and the FK/IK switch
is set to FK on the limbs that get keys).
"""

from __future__ import annotations

import json
import os
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ..body.skeleton import JOINT_NAMES
from ..errors import BadInput

PRESET_FORMAT = "magicdance-retarget-mapping"
PRESET_VERSION = 1

# The SMPL joints a character gets keys for (hand *ends* excluded: fingers untouched).
RETARGET_JOINTS = tuple(n for n in JOINT_NAMES if n not in ("left_hand", "right_hand"))

_SIDED = {  # SMPL side-less stem -> (left name, right name) in SMPL
    "hip": ("left_hip", "right_hip"), "knee": ("left_knee", "right_knee"),
    "ankle": ("left_ankle", "right_ankle"), "foot": ("left_foot", "right_foot"),
    "collar": ("left_collar", "right_collar"), "shoulder": ("left_shoulder", "right_shoulder"),
    "elbow": ("left_elbow", "right_elbow"), "wrist": ("left_wrist", "right_wrist"),
}


def _sided(center: Dict[str, str], stems: Dict[str, str], left: str, right: str) -> Dict[str, str]:
    """A scheme from its centre bones and its sided stems written with ``{s}`` for the side."""
    out = dict(center)
    for stem, pattern in stems.items():
        ln, rn = _SIDED[stem]
        out[ln] = pattern.format(s=left)
        out[rn] = pattern.format(s=right)
    return out


# Each scheme: SMPL joint -> bone name.  Several spellings of one scheme are separate entries.
SCHEMES: Dict[str, Dict[str, str]] = {
    "smplx": {n: n for n in RETARGET_JOINTS},
    "mixamo": _sided(
        {"pelvis": "Hips", "spine1": "Spine", "spine2": "Spine1", "spine3": "Spine2", "neck": "Neck",
         "head": "Head"},
        {"hip": "{s}UpLeg", "knee": "{s}Leg", "ankle": "{s}Foot", "foot": "{s}ToeBase",
         "collar": "{s}Shoulder", "shoulder": "{s}Arm", "elbow": "{s}ForeArm", "wrist": "{s}Hand"},
        "Left", "Right"),
    # CMU mocap skeleton (as MakeHuman/MPFB's "cmu_mb" rig names it): LowerBack/Spine/Spine1.
    "cmu": _sided(
        {"pelvis": "Hips", "spine1": "LowerBack", "spine2": "Spine", "spine3": "Spine1", "neck": "Neck",
         "head": "Head"},
        {"hip": "{s}UpLeg", "knee": "{s}Leg", "ankle": "{s}Foot", "foot": "{s}ToeBase",
         "collar": "{s}Shoulder", "shoulder": "{s}Arm", "elbow": "{s}ForeArm", "wrist": "{s}Hand"},
        "Left", "Right"),
    # UE5 mannequin: five spine bones; the chest is spine_05.
    "unreal5": _sided(
        {"pelvis": "pelvis", "spine1": "spine_01", "spine2": "spine_03", "spine3": "spine_05",
         "neck": "neck_01", "head": "head"},
        {"hip": "thigh_{s}", "knee": "calf_{s}", "ankle": "foot_{s}", "foot": "ball_{s}",
         "collar": "clavicle_{s}", "shoulder": "upperarm_{s}", "elbow": "lowerarm_{s}", "wrist": "hand_{s}"},
        "l", "r"),
    "unreal": _sided(
        {"pelvis": "pelvis", "spine1": "spine_01", "spine2": "spine_02", "spine3": "spine_03",
         "neck": "neck_01", "head": "head"},
        {"hip": "thigh_{s}", "knee": "calf_{s}", "ankle": "foot_{s}", "foot": "ball_{s}",
         "collar": "clavicle_{s}", "shoulder": "upperarm_{s}", "elbow": "lowerarm_{s}", "wrist": "hand_{s}"},
        "l", "r"),
    # MakeHuman's default skeleton (spine05 lowest ... spine01 under the neck).
    "makehuman": _sided(
        {"pelvis": "root", "spine1": "spine05", "spine2": "spine03", "spine3": "spine01", "neck": "neck01",
         "head": "head"},
        {"hip": "upperleg01.{s}", "knee": "lowerleg01.{s}", "ankle": "foot.{s}", "foot": "toe1-1.{s}",
         "collar": "clavicle.{s}", "shoulder": "upperarm01.{s}", "elbow": "lowerarm01.{s}", "wrist": "wrist.{s}"},
        "L", "R"),
    # Rigify's generated rig: FK controls (see the module docstring).
    "rigify": _sided(
        {"pelvis": "torso", "spine1": "spine_fk.001", "spine2": "spine_fk.002", "spine3": "spine_fk.003",
         "neck": "neck", "head": "head"},
        {"hip": "thigh_fk.{s}", "knee": "shin_fk.{s}", "ankle": "foot_fk.{s}", "foot": "toe_fk.{s}",
         "collar": "shoulder.{s}", "shoulder": "upper_arm_fk.{s}", "elbow": "forearm_fk.{s}",
         "wrist": "hand_fk.{s}"},
        "L", "R"),
}


def _strip_prefix(name: str) -> str:
    """``mixamorig:Hips`` / ``mixamorig1:Hips`` / ``Armature|Hips`` -> ``Hips``."""
    return re.split(r"[:|]", name)[-1]


def match_scheme(bone_names: Iterable[str], scheme: str) -> Dict[str, str]:
    """The part of ``scheme`` present in ``bone_names`` (namespace prefixes ignored)."""
    names = list(bone_names)
    by_bare: Dict[str, str] = {}
    for n in names:
        by_bare.setdefault(_strip_prefix(n), n)
    exact = set(names)
    out = {}
    for joint, bone in SCHEMES[scheme].items():
        if bone in exact:
            out[joint] = bone
        elif bone in by_bare:
            out[joint] = by_bare[bone]
    return out


# ------------------------------------------------------------------ fuzzy fallback
_SKIP = re.compile(r"finger|thumb|index|middle|ring|pinky|palm|metacarpal|twist|roll|ik|pole|target|"
                   r"tweak|mch|org|def|end|nub|helper|socket|prop|breast|eye|jaw|tongue|toe\d?_?[2-9]|"
                   r"toe[1-5]-[2-9]|\btip\b", re.I)
_KEYWORDS: Dict[str, Tuple[str, ...]] = {  # stem -> keywords, most specific first
    "hip": ("upleg", "upperleg", "thigh", "hip"),
    "knee": ("lowerleg", "calf", "shin", "knee", "leg"),
    "ankle": ("ankle", "foot"),
    "foot": ("toebase", "toe", "ball"),
    "collar": ("clavicle", "collar", "shoulder"),
    "shoulder": ("upperarm", "uparm", "arm", "shoulder"),
    "elbow": ("forearm", "lowerarm", "elbow"),
    "wrist": ("wrist", "hand"),
}
_CENTER: Dict[str, Tuple[str, ...]] = {"pelvis": ("pelvis", "hips", "hip", "root"), "neck": ("neck",),
                                       "head": ("head",)}


def _tokens(name: str) -> Tuple[Optional[str], str]:
    """(side 'L'/'R'/None, the name lower-cased with the side marker and separators removed)."""
    bare = _strip_prefix(name)
    side = None
    m = re.search(r"(^|[\s_.\-])([LR])($|[\s_.\-])", bare) or re.search(r"[_.\-]([lr])$", bare)
    if m:
        side = m.group(m.lastindex if m.lastindex == 1 else 2).upper()
        bare = bare[:m.start()] + " " + bare[m.end():]
    else:
        lm = re.search(r"left", bare, re.I)
        rm = re.search(r"right", bare, re.I)
        if lm and not rm:
            side, bare = "L", bare[:lm.start()] + bare[lm.end():]
        elif rm and not lm:
            side, bare = "R", bare[:rm.start()] + bare[rm.end():]
    flat = re.sub(r"[\s_.\-]+", "", bare).lower()
    flat = re.sub(r"^bip\d*", "", flat)
    return side, flat


def fuzzy_map(bone_names: Sequence[str], depth: Optional[Dict[str, int]] = None,
              taken: Iterable[str] = ()) -> Dict[str, str]:
    """A best-effort mapping from bone names alone (side + body-part keywords).

    ``depth`` (bone -> depth in its hierarchy) orders spine bones and breaks ties (the bone
    nearest the root wins); ``taken`` bones are never used again.
    """
    depth = depth or {}
    used = set(taken)
    cands = []
    for n in bone_names:
        side, flat = _tokens(n)
        if _SKIP.search(flat) and not flat.startswith(("toebase",)):
            continue
        cands.append((n, side, flat))
    out: Dict[str, str] = {}

    def pick(pred):
        best = None
        for n, side, flat in cands:
            if n in used or not pred(side, flat):
                continue
            key = (depth.get(n, 0), len(flat), n)
            if best is None or key < best[0]:
                best = (key, n)
        return None if best is None else best[1]

    # Sided limbs, stems in an order where a taken bone cannot be claimed twice ("ForeArm" goes
    # to the elbow before the shoulder looks for "arm"); keywords most specific first; the bare
    # words "leg" and "arm" only as the whole name.
    for stem in ("foot", "hip", "knee", "ankle", "collar", "elbow", "wrist", "shoulder"):
        for side_i, sd in enumerate(("L", "R")):
            joint = _SIDED[stem][side_i]
            for kw in _KEYWORDS[stem]:
                if kw in ("leg", "arm"):
                    hit = pick(lambda s, f, kw=kw: s == sd and f == kw)
                else:
                    hit = pick(lambda s, f, kw=kw: s == sd and kw in f)
                if hit:
                    out[joint] = hit
                    used.add(hit)
                    break
    for joint, kws in _CENTER.items():
        for kw in kws:
            hit = pick(lambda s, f, kw=kw: s is None and kw in f)
            if hit:
                out[joint] = hit
                used.add(hit)
                break
    # Spine: the side-less spine/chest bones, root to neck, spread over spine1..spine3.
    spine = sorted((n for n, s, f in cands if s is None and n not in used
                    and re.search(r"spine|chest|back|torso|abdomen", f)), key=lambda n: (depth.get(n, 0), n))
    if spine:
        picks = [spine[0]] if len(spine) == 1 else [spine[0], spine[len(spine) // 2], spine[-1]]
        for joint, bone in zip(("spine1", "spine2", "spine3"), dict.fromkeys(picks)):
            out[joint] = bone
    return out


def auto_map(bone_names: Sequence[str], depth: Optional[Dict[str, int]] = None):
    """(mapping, scheme name, unmapped SMPL joints) for a character with these bones.

    The scheme matching most joints wins (ties: the order of :data:`SCHEMES`, so a UE5
    mannequin with spine_05 is ``unreal5``); joints it leaves
    out are filled by :func:`fuzzy_map` when any bone fits.
    """
    names = list(bone_names)
    best_name, best = "fuzzy", {}
    for scheme in SCHEMES:
        m = match_scheme(names, scheme)
        if len(m) > len(best):
            best_name, best = scheme, m
    if len(best) < 6:   # too few names of any scheme: the names alone decide
        best_name, best = "fuzzy", {}
    mapping = dict(best)
    if len(mapping) < len(RETARGET_JOINTS):
        extra = fuzzy_map(names, depth, taken=mapping.values())
        for j, b in extra.items():
            mapping.setdefault(j, b)
    mapping = {j: mapping[j] for j in RETARGET_JOINTS if j in mapping}
    unmapped = [j for j in RETARGET_JOINTS if j not in mapping]
    return mapping, best_name, unmapped


def check_mapping(mapping: Dict[str, str], bone_names: Iterable[str]) -> Dict[str, str]:
    """``mapping`` with empty entries dropped; BadInput naming unknown joints or bones."""
    names = set(bone_names)
    out = {}
    bad_j = [j for j in mapping if j not in RETARGET_JOINTS]
    if bad_j:
        raise BadInput(f"not an SMPL joint in the mapping: {', '.join(sorted(bad_j))} "
                       f"(one of: {', '.join(RETARGET_JOINTS)})")
    missing = sorted({b for b in mapping.values() if b and b not in names})
    if missing:
        raise BadInput(f"the character has no bone {', '.join(missing)} (named in the mapping)")
    seen: Dict[str, str] = {}
    for j in RETARGET_JOINTS:
        b = mapping.get(j)
        if not b:
            continue
        if b in seen:
            raise BadInput(f"bone {b} is mapped twice ({seen[b]} and {j})")
        seen[b] = j
        out[j] = b
    if "pelvis" not in out:
        raise BadInput("the mapping needs a bone for the pelvis (the root of the dance)")
    return out


# ------------------------------------------------------------------ presets
def save_preset(path, mapping: Dict[str, str], scheme: str = "custom") -> None:
    """Write ``mapping`` as a preset JSON (temp file + rename: no half-written preset)."""
    from ..fileio import atomic_write_text

    bones = {j: mapping[j] for j in RETARGET_JOINTS if mapping.get(j)}
    text = json.dumps({"format": PRESET_FORMAT, "version": PRESET_VERSION, "scheme": scheme,
                       "bones": bones}, indent=2) + "\n"
    atomic_write_text(path, text)


def load_preset(path) -> Dict[str, str]:
    """The mapping in a preset JSON; BadInput (one line) when it is not one."""
    if not os.path.isfile(path):
        raise BadInput(f"mapping file not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadInput(f"mapping file {path} is not JSON: {e}") from None
    if not isinstance(d, dict) or d.get("format") != PRESET_FORMAT or not isinstance(d.get("bones"), dict):
        raise BadInput(f"{path} is not a MagicDance bone mapping (expected \"format\": \"{PRESET_FORMAT}\" "
                       f"and a \"bones\" object)")
    if int(d.get("version", 0)) > PRESET_VERSION:
        raise BadInput(f"{path} is a mapping of a newer MagicDance (version {d['version']})")
    bones = d["bones"]
    bad = [j for j in bones if j not in RETARGET_JOINTS]
    if bad:
        raise BadInput(f"{path}: not an SMPL joint: {', '.join(sorted(bad))}")
    if not all(isinstance(v, str) for v in bones.values()):
        raise BadInput(f"{path}: every bone name must be a string")
    return {j: bones[j] for j in RETARGET_JOINTS if bones.get(j)}
