"""BVH export and import for the SMPL skeleton.

Written files: Y up, the body facing +Z (SMPL's frame), centimetres by default
(``units="m"`` writes metres), 24 joints with the SMPL-X add-on's names in SMPL
order, an End Site at each leaf (head, hands, feet). The root carries
``Xposition Yposition Zposition`` (the pelvis position) and every joint three
rotation channels in one order, ``Zrotation Xrotation Yrotation`` by default
(``XYZ`` on request). Rotation channels compose in the listed order about the
joint's local axes: for ZXY, ``R = Rz(a) @ Rx(b) @ Ry(c)``. Rest orientations are
identity, so the BVH local rotation *is* the SMPL local rotation.

Blender's own importer (``bpy.ops.import_anim.bvh``) loads these files; with
``global_scale=0.01`` for centimetres and its default axes (forward -Z, up Y) the
pose-bone heads equal our joints after Blender's Y-up -> Z-up turn (tested).

Euler conversion uses scipy's Rotation (well kept, handles gimbal lock).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Optional

import numpy as np
from scipy.spatial.transform import Rotation

from .. import FPS
from ..errors import BadInput
from ..fileio import PathLike, atomic_path, require_file
from .fk import forward_kinematics
from .motion_file import MAX_FPS, MIN_FPS, Motion
from .resample import resample_motion_arrays
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle
from .skeleton import CHILDREN, JOINT_NAMES, NUM_JOINTS, PARENTS, REST_OFFSETS

_UNIT_SCALE = {"cm": 100.0, "m": 1.0}
_END_LENGTH = 0.08  # metres: End Site length along the leaf bone


def _end_site(j: int, offsets: np.ndarray) -> np.ndarray:
    if JOINT_NAMES[j] == "head":
        return np.array([0.0, 0.1, 0.0])
    d = offsets[j]
    n = np.linalg.norm(d)
    return d / n * _END_LENGTH if n > 1e-9 else np.array([0.0, _END_LENGTH, 0.0])


def motion_to_bvh_text(motion: Motion, *, units: str = "cm", order: str = "ZXY", offsets=None) -> str:
    if units not in _UNIT_SCALE:
        raise BadInput(f"BVH units must be 'cm' or 'm', got {units!r}")
    order = order.upper()
    if sorted(order) != ["X", "Y", "Z"]:
        raise BadInput(f"BVH rotation order must be a permutation of XYZ, got {order!r}")
    s = _UNIT_SCALE[units]
    off = REST_OFFSETS if offsets is None else np.asarray(offsets, dtype=np.float64)
    rot_channels = " ".join(f"{a}rotation" for a in order)
    lines = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        pad = "  " * depth
        kind = "ROOT" if PARENTS[j] < 0 else "JOINT"
        lines.append(f"{pad}{kind} {JOINT_NAMES[j]}")
        lines.append(f"{pad}{{")
        o = np.zeros(3) if PARENTS[j] < 0 else off[j] * s
        lines.append(f"{pad}  OFFSET {o[0]:.6f} {o[1]:.6f} {o[2]:.6f}")
        if PARENTS[j] < 0:
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition {rot_channels}")
        else:
            lines.append(f"{pad}  CHANNELS 3 {rot_channels}")
        if CHILDREN[j]:
            for c in CHILDREN[j]:
                emit(c, depth + 1)
        else:
            e = _end_site(j, off) * s
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {e[0]:.6f} {e[1]:.6f} {e[2]:.6f}", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    emit(0, 0)
    T = motion.num_frames
    # BVH writes joints depth-first; that is the column order of each frame line.
    dfs = []

    def walk(j):
        dfs.append(j)
        for c in CHILDREN[j]:
            walk(c)
    walk(0)
    mats = axis_angle_to_matrix(motion.poses.astype(np.float64))  # (T,24,3,3)
    with warnings.catch_warnings():
        # At gimbal lock scipy sets the third angle to 0 and warns; the rotation is still exact.
        warnings.simplefilter("ignore", UserWarning)
        eul = Rotation.from_matrix(mats.reshape(-1, 3, 3)).as_euler(order, degrees=True).reshape(T, NUM_JOINTS, 3)
    eul = np.unwrap(eul, axis=0, period=360.0)  # smooth curves for the importer's interpolation
    lines += ["MOTION", f"Frames: {T}", f"Frame Time: {1.0 / float(motion.fps):.8f}"]
    trans = motion.trans.astype(np.float64) * s
    for t in range(T):
        vals = list(trans[t])
        for j in dfs:
            vals.extend(eul[t, j])
        lines.append(" ".join(f"{v:.6f}" for v in vals))
    return "\n".join(lines) + "\n"


def write_bvh(motion: Motion, path: PathLike, *, units: str = "cm", order: str = "ZXY", offsets=None) -> Path:
    """Write ``motion`` as BVH (atomically)."""
    text = motion_to_bvh_text(motion, units=units, order=order, offsets=offsets)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- import
_TOKEN = re.compile(r"\S+")


class _Joint:
    def __init__(self, name, parent):
        self.name, self.parent = name, parent
        self.offset = np.zeros(3)
        self.channels: list[str] = []


def _parse(text: str, what: str):
    toks = _TOKEN.findall(text)
    i = 0

    def need(k=1):
        if i + k > len(toks):
            raise BadInput(f"{what} ends too early (truncated BVH)")

    if not toks or toks[0].upper() != "HIERARCHY":
        raise BadInput(f"{what} is not a BVH file (no HIERARCHY)")
    i = 1
    joints: list[_Joint] = []
    stack: list[int] = []   # open blocks: joint index, or -1 for an End Site
    pending: Optional[int] = None  # the block the next '{' opens
    try:
        while True:
            need()
            tok = toks[i]
            up = tok.upper()
            current = stack[-1] if stack else None
            if up in ("ROOT", "JOINT"):
                need(2)
                if up == "JOINT" and not stack:
                    raise BadInput(f"{what}: JOINT outside any ROOT")
                joints.append(_Joint(toks[i + 1], current if stack else None))
                pending = len(joints) - 1
                i += 2
            elif up == "END":
                need(2)
                pending = -1
                i += 2
            elif tok == "{":
                if pending is None:
                    raise BadInput(f"{what}: unexpected '{{'")
                stack.append(pending)
                pending = None
                i += 1
            elif tok == "}":
                if not stack:
                    raise BadInput(f"{what}: unbalanced '}}'")
                stack.pop()
                i += 1
            elif up == "OFFSET":
                need(4)
                if current is not None and current >= 0:
                    joints[current].offset = np.array([float(x) for x in toks[i + 1:i + 4]])
                i += 4
            elif up == "CHANNELS":
                need(2)
                n = int(toks[i + 1])
                need(2 + n)
                if current is not None and current >= 0:
                    joints[current].channels = toks[i + 2:i + 2 + n]
                i += 2 + n
            elif up == "MOTION":
                if stack or not joints:
                    raise BadInput(f"{what}: the hierarchy is incomplete")
                i += 1
                break
            else:
                raise BadInput(f"{what}: unexpected token {tok!r} in the hierarchy")
        need(5)
        if toks[i].rstrip(":").upper() != "FRAMES" or toks[i + 2].upper() != "FRAME" or toks[i + 3].rstrip(":").upper() != "TIME":
            raise BadInput(f"{what}: expected 'Frames:' and 'Frame Time:' after MOTION")
        n_frames = int(toks[i + 1])
        frame_time = float(toks[i + 4])
        i += 5
        values = np.array([float(x) for x in toks[i:]], dtype=np.float64)
    except ValueError as e:
        raise BadInput(f"{what}: a number could not be read ({e})") from None
    n_ch = sum(len(j.channels) for j in joints)
    if n_frames < 1:
        raise BadInput(f"{what} has no frames")
    if values.size != n_frames * n_ch:
        raise BadInput(f"{what}: expected {n_frames} frames of {n_ch} numbers, found {values.size} numbers")
    if not np.all(np.isfinite(values)) or not (np.isfinite(frame_time) and frame_time > 0):
        raise BadInput(f"{what} contains NaN/infinite numbers or a bad frame time")
    return joints, values.reshape(n_frames, n_ch), frame_time


def read_bvh(path: PathLike, *, units: Optional[str] = None, fps: Optional[float] = FPS) -> Motion:
    """Read a BVH with the 24 SMPL joint names (as :func:`write_bvh` writes) into a Motion.

    ``units``: "cm" or "m"; by default guessed from the leg length (a 0.9 m leg
    is 90 in centimetres). The file's own offsets drive FK for ``joints``.
    The motion is resampled to ``fps`` (30) unless ``fps`` is None.
    """
    p = require_file(path, "BVH file")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"BVH file {p} is not text") from None
    what = f"BVH file {p}"
    joints, data, frame_time = _parse(text, what)
    names = [j.name for j in joints]
    missing = [n for n in JOINT_NAMES if n not in names]
    if missing:
        raise BadInput(f"{what} lacks SMPL joints: {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
    idx = {n: k for k, n in enumerate(names)}
    for j, n in enumerate(JOINT_NAMES):
        par = joints[idx[n]].parent
        want = PARENTS[j]
        got = None if par is None else joints[par].name
        if (want < 0 and got is not None) or (want >= 0 and got != JOINT_NAMES[want]):
            raise BadInput(f"{what}: joint {n} has parent {got}, SMPL expects {JOINT_NAMES[want] if want >= 0 else 'none'}")
    offsets = np.array([joints[idx[n]].offset for n in JOINT_NAMES])
    if units is None:
        leg = sum(np.linalg.norm(offsets[k]) for k in (1, 4, 7))
        units = "cm" if leg > 10.0 else "m"
    scale = 1.0 / _UNIT_SCALE[units]
    offsets = offsets * scale
    offsets[0] = 0.0
    T = len(data)
    starts = np.cumsum([0] + [len(j.channels) for j in joints])
    poses = np.zeros((T, NUM_JOINTS, 3))
    trans = np.zeros((T, 3))
    for j, n in enumerate(JOINT_NAMES):
        k = idx[n]
        ch = [c.upper() for c in joints[k].channels]
        cols = data[:, starts[k]:starts[k + 1]]
        rot = [(c[0], cols[:, m]) for m, c in enumerate(ch) if c.endswith("ROTATION")]
        if len(rot) != 3:
            raise BadInput(f"{what}: joint {n} needs three rotation channels, has {len(rot)}")
        order = "".join(a for a, _ in rot)
        ang = np.stack([v for _, v in rot], -1)
        mats = Rotation.from_euler(order, ang, degrees=True).as_matrix()
        poses[:, j] = matrix_to_axis_angle(mats)
        if j == 0:
            pos = {c[0]: cols[:, m] for m, c in enumerate(ch) if c.endswith("POSITION")}
            if sorted(pos) != ["X", "Y", "Z"]:
                raise BadInput(f"{what}: the root needs X/Y/Z position channels")
            trans = np.stack([pos["X"], pos["Y"], pos["Z"]], -1) * scale + joints[k].offset * scale
    src_fps = 1.0 / frame_time
    if not MIN_FPS <= src_fps <= MAX_FPS:
        raise BadInput(f"{what}: Frame Time {frame_time:g} s is {src_fps:g} fps; "
                       f"between {MIN_FPS:g} and {MAX_FPS:g} fps can be read")
    if fps is not None and abs(src_fps - fps) > 1e-3:
        poses, trans, _ = resample_motion_arrays(poses, trans, src_fps, fps)
        out_fps = float(fps)
    else:
        out_fps = float(fps) if fps is not None else src_fps
    j_world = forward_kinematics(poses, trans, offsets)
    from .ground import estimate_contacts
    return Motion(poses=poses, trans=trans, joints=j_world, contacts=estimate_contacts(j_world, out_fps),
                  fps=out_fps, meta={"source": "bvh", "source_file": p.name, "bvh_units": units})
