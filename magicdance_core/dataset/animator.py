"""Training clips for the diffusion animator, made here (issue 18): a textured built-in body
dancing the choreographer's dances, rendered with its exact DensePose pass.

Layout (the TikTok layout MagicAnimate-style trainers read: frames and DensePose frames per clip)::

    OUT/index.json                       clips, size, frames, seed, split (train / val)
    OUT/clip_0000/frames/000000.png ...  the person (RGB)
    OUT/clip_0000/densepose/000000.png   its DensePose pass (MagicAnimate's viridis colours)
    OUT/clip_0000/reference.png          the same person at another moment of the dance
    OUT/clip_0000/reference_densepose.png
    OUT/clip_0000/meta.json              style, seed, camera, clothing
    OUT/clip_0000/background.png         the backdrop alone
    OUT/clip_0000/motion.npz             poses, trans (SMPL) of the frames, the reference's last
    OUT/clip_0000/camera.json            the clip's camera (camera.Camera.to_dict)

Rendering is the passes' own numpy rasterizer (:mod:`..passes.render`): one rasterization gives the
DensePose pass, the IUV pass and the normals, and the person's colours are looked up from IUV in a
procedural per-part texture (clothing colours, stripes / checks / dots / noise, skin, hair) and
shaded by the normal. The face is painted where the head's eyes and mouth project, so each clip's
person has an identity (skin tone, hair, eye colour, mouth) a face module can learn to keep.
No Blender, no downloads; the same seed makes the same clips.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import cv2
import numpy as np

from ..errors import BadInput
from ..fileio import atomic_write_text, temp_dir_name
from ..progress import ProgressFn, null_progress

FPS = 30
STYLE_METER = {"waltz": 3}

# part groups of the 24 DensePose parts (docs/passes.md)
TORSO = (1, 2)
HANDS = (3, 4)
FEET = (5, 6)
LEGS = tuple(range(7, 15))
UPPER_ARMS = (15, 16, 17, 18)
LOWER_ARMS = (19, 20, 21, 22)
HEAD = (23, 24)

SKIN_TONES = np.array([[255, 224, 196], [234, 192, 134], [198, 134, 66], [141, 85, 36], [95, 60, 35],
                       [241, 194, 125]], np.float64)
HAIR = np.array([[20, 15, 10], [70, 40, 20], [150, 100, 50], [220, 190, 120], [120, 30, 20], [200, 200, 200]],
                np.float64)
EYES = np.array([[40, 80, 160], [60, 40, 20], [30, 110, 60], [20, 20, 20]], np.float64)


def _fake_song(rng, seconds: float, meter: int):
    """What the choreographer reads of a song: beats at a random tempo (no audio needed)."""
    bpm = float(rng.uniform(90, 130))
    beats = np.arange(0.0, seconds + 1.0, 60.0 / bpm)
    return SimpleNamespace(duration_s=seconds, tempo_bpm=bpm, beats_s=beats, downbeats_s=beats[::meter],
                           meter=meter, onset_env=None, rms=None)


def person_look(rng) -> dict:
    """Random clothing and identity of one clip's person."""
    def colour():
        return [float(c) for c in rng.integers(20, 236, 3)]

    return dict(skin=SKIN_TONES[rng.integers(len(SKIN_TONES))].tolist(), hair=HAIR[rng.integers(len(HAIR))].tolist(),
                eyes=EYES[rng.integers(len(EYES))].tolist(), mouth=[float(rng.uniform(120, 200)), 40.0, 50.0],
                eye_size=float(rng.uniform(0.010, 0.018)), hair_line=float(rng.uniform(0.55, 0.75)),
                shirt=colour(), shirt2=colour(), trousers=colour(), trousers2=colour(), shoes=colour(),
                shirt_pattern=str(rng.choice(["solid", "stripes", "checks", "dots", "noise"])),
                trousers_pattern=str(rng.choice(["solid", "stripes", "checks", "noise"])),
                pattern_freq=float(rng.uniform(3, 9)), long_sleeves=bool(rng.random() < 0.6),
                shorts=bool(rng.random() < 0.3), noise_seed=int(rng.integers(2 ** 31)))


def _pattern(kind: str, u, v, freq: float, noise) -> np.ndarray:
    """1.0 where the second colour shows."""
    if kind == "stripes":
        return (np.floor(v * freq * 2) % 2).astype(np.float64)
    if kind == "checks":
        return ((np.floor(u * freq) + np.floor(v * freq * 2)) % 2).astype(np.float64)
    if kind == "dots":
        fu, fv = (u * freq) % 1 - 0.5, (v * freq * 2) % 1 - 0.5
        return (fu * fu + fv * fv < 0.08).astype(np.float64)
    if kind == "noise":
        iu = np.clip((u * 31).astype(int), 0, 31)
        iv = np.clip((v * 31).astype(int), 0, 31)
        return noise[iu, iv]
    return np.zeros_like(u)


def shade_person(iuv: np.ndarray, normal: np.ndarray, look: dict) -> tuple:
    """(RGB float image, mask) of the person from its IUV and normal passes."""
    part = iuv[..., 0].astype(np.int64)
    u = iuv[..., 1] / 65535.0
    v = iuv[..., 2] / 65535.0
    mask = part > 0
    img = np.zeros(part.shape + (3,), np.float64)
    noise = np.random.default_rng(look["noise_seed"]).random((32, 32)) > 0.5

    def paint(parts, c1, c2=None, kind="solid"):
        sel = np.isin(part, parts)
        if not sel.any():
            return
        if c2 is None or kind == "solid":
            img[sel] = c1
        else:
            p = _pattern(kind, u[sel], v[sel], look["pattern_freq"], noise)[:, None]
            img[sel] = np.asarray(c1) * (1 - p) + np.asarray(c2) * p

    paint(TORSO, look["shirt"], look["shirt2"], look["shirt_pattern"])
    paint(UPPER_ARMS, look["shirt"], look["shirt2"], look["shirt_pattern"])
    paint(LOWER_ARMS, look["shirt"] if look["long_sleeves"] else look["skin"],
          look["shirt2"] if look["long_sleeves"] else None, look["shirt_pattern"])
    paint(HANDS, look["skin"])
    paint(LEGS, look["trousers"], look["trousers2"], look["trousers_pattern"])
    if look["shorts"]:
        paint(tuple(range(11, 15)), look["skin"])
    paint(FEET, look["shoes"])
    paint(HEAD, look["skin"])              # hair, eyes and mouth: _paint_face
    nz = np.clip(normal[..., 2].astype(np.float64) / 255.0, 0, 1)     # (z+1)/2: 1 faces the camera
    light = 0.55 + 0.45 * np.clip(2 * nz - 1, 0, 1) ** 0.7
    return img, mask, light, part, u, v


def render_clip(body, renderer_cls, motion_slice, cam, look, size: int):
    """Frames (list of RGB uint8) and DensePose frames of ``motion_slice`` = (poses, trans)."""
    from ..body.builtin_mesh import skin
    from ..body.fk import forward_kinematics_matrices
    from ..body.rotations import axis_angle_to_matrix
    from ..body.skeleton import offsets_from_joints
    from ..passes.keypoints import head_frames, head_points

    poses, trans = motion_slice
    offsets = offsets_from_joints(body.rest_joints)
    joints, rots = forward_kinematics_matrices(axis_angle_to_matrix(poses), trans, offsets)
    V = skin(body, poses, trans, offsets)
    r = renderer_cls(body.faces, body.face_parts, body.uv, cam, rest_vertices=body.vertices)
    frames, dps = [], []
    for k in range(len(poses)):
        out = r.render(V[k], joints[k], rots[k], passes=("densepose", "iuv", "normal"))
        img, mask, light, part, u, v = shade_person(out["iuv"], out["normal"], look)
        _paint_face(img, part, v, cam, joints[k], rots[k], look, head_frames, head_points)
        frames.append((img * light[..., None], mask))
        dps.append(out["densepose"])
    return frames, dps


def _paint_face(img, part, v, cam, joints, rots, look, head_frames, head_points):
    """Eyes, mouth and hair on the head pixels, where the head's features project."""
    head = np.isin(part, HEAD)
    if not head.any():
        return
    hp = head_points(joints, rots)
    R = head_frames(joints, rots)
    to_cam = cam.position - hp["nose"]
    to_cam = to_cam / np.linalg.norm(to_cam)
    H, W = part.shape
    yy, xx = np.mgrid[0:H, 0:W]
    # hair: the head pixels whose V is on the head-top side (V runs along the head's axis; which end
    # is the top is read off the pixels nearest the projected head top)
    top = cam.project(hp["head_top"][None])[0]
    vs = v[head]
    ys, xs = yy[head], xx[head]
    d_top = (xs - top[0]) ** 2 + (ys - top[1]) ** 2
    near_top = d_top < np.percentile(d_top, 30) if len(d_top) > 3 else np.ones(len(d_top), bool)
    top_is_high_v = vs[near_top].mean() > vs.mean() if near_top.any() else True
    hl = look["hair_line"]
    hair = (vs > hl) if top_is_high_v else (vs < 1 - hl)
    facing = float(R[:, 2] @ to_cam)
    if facing < 0.1:                      # back of the head: mostly hair
        hair = hair | (vs > 0.35) if top_is_high_v else hair | (vs < 0.65)
    sel = np.zeros_like(head)
    sel[ys[hair], xs[hair]] = True
    img[sel] = look["hair"]
    if facing < 0.25:
        return
    f_px = cam.f
    for name in ("left_eye", "right_eye"):
        p = hp[name]
        c, z = cam.project(p[None], return_depth=True)
        rad = max(1.0, f_px * look["eye_size"] / max(float(z[0]), 1e-3))
        m = head & ((xx - c[0, 0]) ** 2 + (yy - c[0, 1]) ** 2 <= rad * rad)
        img[m] = look["eyes"]
    mouth = hp["nose"] + R @ np.array([0.0, -0.045, -0.005])
    c, z = cam.project(mouth[None], return_depth=True)
    rx = max(1.0, f_px * 0.022 / max(float(z[0]), 1e-3))
    ry = max(0.6, rx * 0.35)
    m = head & (((xx - c[0, 0]) / rx) ** 2 + ((yy - c[0, 1]) / ry) ** 2 <= 1)
    img[m] = look["mouth"]


def background(rng, size: int) -> np.ndarray:
    """A static backdrop: a vertical gradient (wall to floor) with a few flat shapes."""
    c1, c2 = rng.integers(30, 226, 3), rng.integers(30, 226, 3)
    t = np.linspace(0, 1, size)[:, None, None]
    bg = c1 * (1 - t) + c2 * t
    bg = np.repeat(bg, size, axis=1)
    floor = int(size * rng.uniform(0.6, 0.85))
    bg[floor:] = bg[floor:] * 0.7 + rng.integers(30, 226, 3) * 0.3
    for _ in range(int(rng.integers(0, 5))):
        x0, y0 = rng.integers(0, size, 2)
        w, h = rng.integers(size // 10, size // 3, 2)
        col = rng.integers(20, 236, 3)
        if rng.random() < 0.5:
            cv2.rectangle(bg, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)), [float(c) for c in col], -1)
        else:
            cv2.circle(bg, (int(x0), int(y0)), int(w // 2), [float(c) for c in col], -1)
    return bg


def composite(person_rgb: np.ndarray, mask: np.ndarray, bg: np.ndarray) -> np.ndarray:
    out = np.where(mask[..., None], person_rgb, bg)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def make_animator_dataset(out_dir, clips: int = 8, size: int = 256, frames: int = 24, seed: int = 0,
                          val_clips: Optional[int] = None, progress: Optional[ProgressFn] = None) -> Path:
    """Write ``clips`` clips of ``frames`` frames at ``size``² to ``out_dir``; returns index.json."""
    from ..body.builtin_mesh import build_builtin_body
    from ..camera import frame_motion
    from ..choreo.compose import choreograph
    from ..choreo.styles import STYLES
    from ..passes.png import write_png
    from ..passes.render import PassRenderer
    from ..body.fk import forward_kinematics_matrices
    from ..body.rotations import axis_angle_to_matrix
    from ..body.skeleton import offsets_from_joints

    prog = progress or null_progress
    clips, size, frames = int(clips), int(size), int(frames)
    if val_clips is None:
        val_clips = 1 if clips >= 4 else 0
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    body = build_builtin_body()
    offsets = offsets_from_joints(body.rest_joints)
    styles = sorted(STYLES)
    entries = []
    prog("dataset", 0.0, f"{clips} clips")
    for i in range(clips):
        rng = np.random.default_rng([int(seed), i])
        style = styles[int(rng.integers(len(styles)))]
        seconds = max(4.0, 2.0 * frames / FPS + 2.0)
        motion = choreograph(_fake_song(rng, seconds, STYLE_METER.get(style, 4)), style=style,
                             seed=int(rng.integers(2 ** 31)))
        poses, trans = np.asarray(motion.poses, np.float64), np.asarray(motion.trans, np.float64)
        T = len(poses)
        start = int(rng.integers(FPS // 2, max(FPS // 2 + 1, T - frames)))
        ref_i = int(rng.integers(0, T))
        while start - 2 < ref_i < start + frames + 2 and T > frames + 8:     # another moment than the clip's
            ref_i = int(rng.integers(0, T))
        idx = list(range(start, min(start + frames, T)))
        joints, _ = forward_kinematics_matrices(axis_angle_to_matrix(poses), trans, offsets)
        # camera distance: the framing's padding (a near full body to a small person in the room)
        pad = float(rng.uniform(0.03, 0.22))
        cam = frame_motion(joints[idx + [ref_i]], size, size, fov_deg=float(rng.uniform(25, 45)), pad=pad)
        look = person_look(rng)
        bg = background(rng, size)
        sel = idx + [ref_i]
        rendered, dps = render_clip(body, PassRenderer, (poses[sel], trans[sel]), cam, look, size)
        name = f"clip_{i:04d}"
        tmp = out / temp_dir_name(name)
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "frames").mkdir(parents=True)
        (tmp / "densepose").mkdir()
        for k in range(len(idx)):
            write_png(tmp / "frames" / f"{k:06d}.png", composite(*rendered[k], bg))
            write_png(tmp / "densepose" / f"{k:06d}.png", dps[k])
        write_png(tmp / "reference.png", composite(*rendered[-1], bg))
        write_png(tmp / "reference_densepose.png", dps[-1])
        write_png(tmp / "background.png", np.clip(bg + 0.5, 0, 255).astype(np.uint8))
        np.savez(tmp / "motion.npz", poses=poses[sel].astype(np.float32), trans=trans[sel].astype(np.float32),
                 fps=np.float32(FPS))
        (tmp / "camera.json").write_text(json.dumps(cam.to_dict()))
        meta = dict(style=style, seed=int(seed), index=i, start_frame=start, reference_frame=ref_i, fps=FPS,
                    camera=dict(pad=pad, f=float(cam.f), position=[float(c) for c in cam.position]), look=look)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        final = out / name
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        entries.append(dict(name=name, frames=len(idx), style=style,
                            split="val" if i >= clips - val_clips else "train"))
        prog("dataset", (i + 1) / clips, f"clip {i + 1}/{clips}")
    index = dict(kind="magicdance-animator-clips", layout="frames/ densepose/ reference.png per clip",
                 size=size, frames=frames, seed=int(seed), fps=FPS, clips=entries)
    path = out / "index.json"
    atomic_write_text(path, json.dumps(index, indent=1))
    return path


def check_args(clips, size, frames) -> None:
    from ..checks import check_number

    check_number(clips, "--clips", 1, 100000, integer=True)
    check_number(size, "--size", 64, 1024, integer=True)
    if int(size) % 8:
        raise BadInput(f"--size must be a multiple of 8 (the VAE's factor), got {size}")
    check_number(frames, "--frames", 1, 300, integer=True)


# -- the CPU animator's inputs, known exactly for a generated clip --------------------------------
# mediapipe Pose landmark -> SMPL joint (the person's own left/right in both)
_MP_FROM_SMPL = {11: 16, 12: 17, 13: 18, 14: 19, 15: 20, 16: 21, 23: 1, 24: 2, 25: 4, 26: 5, 27: 7, 28: 8}
_MP_FROM_HEAD = {0: "nose", 2: "left_eye", 5: "right_eye", 7: "left_ear", 8: "right_ear"}


def puppet_inputs(clip_dir):
    """(PhotoAnalysis of reference.png, DancerInput) from what the clip was rendered with -- the
    photo analysis and the dancer a job would estimate, here exact, so the CPU animator is compared
    with the diffusion animator on equal guidance (benchmarks/animator). The dancer's frame 0 is
    the reference pose and frames 1.. the clip's: a job's dance starts where the photo's person
    stands, and the puppet anchors the dance's first frame there."""
    import cv2

    from ..animate.base import DancerInput
    from ..body.builtin_mesh import build_builtin_body
    from ..body.fk import forward_kinematics_matrices
    from ..body.rotations import axis_angle_to_matrix
    from ..body.skeleton import offsets_from_joints
    from ..camera import Camera
    from ..passes.colors import part_ids_from_densepose
    from ..passes.keypoints import head_points
    from ..photo.analyze import PhotoAnalysis

    d = Path(clip_dir)

    def rgb(name):
        return cv2.cvtColor(cv2.imread(str(d / name)), cv2.COLOR_BGR2RGB)

    m = np.load(d / "motion.npz")
    cam = Camera.from_dict(json.loads((d / "camera.json").read_text()))
    body = build_builtin_body()
    joints, rots = forward_kinematics_matrices(axis_angle_to_matrix(m["poses"].astype(np.float64)),
                                               m["trans"].astype(np.float64), offsets_from_joints(body.rest_joints))
    uv, z = cam.project(joints.reshape(-1, 3), return_depth=True)
    uv, z = uv.reshape(len(joints), 24, 2), z.reshape(len(joints), 24)
    ref_j, ref_r = joints[-1], rots[-1]
    lm = np.zeros((33, 2))
    vis = np.zeros(33)
    for k, j in _MP_FROM_SMPL.items():
        lm[k], vis[k] = uv[-1, j], 1.0
    hp = head_points(ref_j, ref_r)
    for k, name in _MP_FROM_HEAD.items():
        lm[k], vis[k] = cam.project(hp[name][None])[0], 1.0
    ids = part_ids_from_densepose(rgb("reference_densepose.png"))
    image = rgb("reference.png")
    head = np.argwhere(np.isin(ids, (23, 24)))
    face_box = None
    if len(head):
        (y0, x0), (y1, x1) = head.min(0), head.max(0) + 1
        # the inner face, as mediapipe boxes it: the head box shrunk by the face module's factor
        from ..animate.diffusion.face import FACE_TO_HEAD

        cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) / 2 / FACE_TO_HEAD
        face_box = (cx - half, cy - half, cx + half, cy + half)
    photo = PhotoAnalysis(image=image, mask=(ids > 0).astype(np.float32), landmarks=lm, visibility=vis,
                          landmarks_z=np.zeros(33), face_box=face_box, background=rgb("background.png"))
    order = [len(joints) - 1] + list(range(len(joints) - 1))
    dancer = DancerInput(joints2d=uv[order], depth=z[order], joints3d=joints[order], focal_px=float(cam.f),
                         fps=float(m["fps"]))
    return photo, dancer


def puppet_frames(clip_dir, size: int, dancer=None) -> list:
    """The CPU animator's frames of the clip (its exact inputs, :func:`puppet_inputs`), in the
    clip's frame geometry; ``dancer``: another dancer (same convention) instead of the clip's."""
    import cv2

    from ..animate.base import AnimateOptions
    from ..animate.puppet import PuppetAnimator

    photo, own = puppet_inputs(clip_dir)
    a = PuppetAnimator()
    opt = AnimateOptions(size=int(size))
    rig = a.prepare(photo, opt)
    w, h = photo.size
    out = [cv2.warpAffine(f, rig.canvas_from_photo, (w, h), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)      # canvas -> the clip's frame
           for f in a.animate(rig, dancer if dancer is not None else own, opt)]
    return out[1:]                                              # frame 0 is the reference pose
