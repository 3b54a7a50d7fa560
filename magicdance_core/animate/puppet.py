"""The built-in puppet animator: the photo itself, cut out, rigged and deformed (CPU, no weights).

Why numpy/OpenCV and not Blender: a Blender scene per job costs seconds to build and Workbench
renders a textured mesh at ~10 frames/s here, while this renderer does 20-40 frames/s at 512²
inside the process; and what a user wants to fix (a limb grabbing the wrong pixels, a joint
that folds badly) is fixed here by the same inputs they already edit (the photo's mask and
landmarks JSON in the job folder), not by weight painting in a scene that is rebuilt per job.

How: each mask pixel gets a body part (nearest bone; the torso is the shoulder-hip quad); each
part is a layer (premultiplied RGBA) drawn back to front by the dancer's 3D depth, over the
inpainted background plate. A part moves with its bone's transform (limbs: rotation plus a
stretch along the bone for foreshortening; torso: the affine fit of shoulders and hips; head:
rigid similarity, so the face stays pixel for pixel), blended with the neighbouring part near
each joint (2D linear blend skinning with smooth weights). Instead of rasterising a triangle
mesh we invert the skinning per output pixel (a few Newton steps on a 4-px grid, upsampled),
then one cv2.remap per layer: no mesh cracks, and the whole thing is vectorised numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np

from ..body.skeleton import rest_joints
from ..errors import BadInput
from ..progress import ProgressFn, null_progress
from .base import AnimateOptions, Animator, DancerInput, register

STAGE = "animate"
# Puppet joints: 0 pelvis 1 l_hip 2 r_hip 3 l_knee 4 r_knee 5 l_ankle 6 r_ankle 7 neck (mid-shoulders)
# 8 l_shoulder 9 r_shoulder 10 l_elbow 11 r_elbow 12 l_wrist 13 r_wrist 14 head (mid-ears)
PARENT = (-1, 0, 0, 1, 2, 3, 4, 0, 7, 7, 8, 9, 10, 11, 7)
# Structural bones keep the photo's geometry and follow the dancer's rotation relative to rest;
# limbs take the dancer's absolute 2D direction (so the pose is the dance's, whatever the photo's).
RELATIVE = {1, 2, 7, 8, 9, 14}
MP_OF = [(23, 24), (23,), (24,), (25,), (26,), (27,), (28,), (11, 12), (11,), (12,), (13,), (14,),
         (15,), (16,), (7, 8)]
SMPL_OF = [(1, 2), (1,), (2,), (4,), (5,), (7,), (8,), (16, 17), (16,), (17,), (18,), (19,),
           (20,), (21,), (15,)]
PARTS = ("torso", "head", "l_upper_arm", "r_upper_arm", "l_forearm", "r_forearm",
         "l_thigh", "r_thigh", "l_shin", "r_shin")
BONE = {"l_upper_arm": (8, 10), "r_upper_arm": (9, 11), "l_forearm": (10, 12), "r_forearm": (11, 13),
        "l_thigh": (1, 3), "r_thigh": (2, 4), "l_shin": (3, 5), "r_shin": (4, 6)}
# joints between parts: (joint, parent part, child part, bone before, bone after)
CONNECTIONS = (
    (8, "torso", "l_upper_arm", (7, 8), (8, 10)), (9, "torso", "r_upper_arm", (7, 9), (9, 11)),
    (10, "l_upper_arm", "l_forearm", (8, 10), (10, 12)), (11, "r_upper_arm", "r_forearm", (9, 11), (11, 13)),
    (1, "torso", "l_thigh", (1, 3), (1, 3)), (2, "torso", "r_thigh", (2, 4), (2, 4)),
    (3, "l_thigh", "l_shin", (1, 3), (3, 5)), (4, "r_thigh", "r_shin", (2, 4), (4, 6)),
)
GRID = 4  # inverse skinning is solved every GRID pixels and upsampled (the field is smooth)


def _pick(points: np.ndarray, idx_lists) -> np.ndarray:
    return np.stack([points[..., list(ix), :].mean(axis=-2) for ix in idx_lists], axis=-2)


def _unit(v):
    return v / max(float(np.linalg.norm(v)), 1e-9)


@dataclass
class Layer:
    name: str
    rgba: np.ndarray          # (h,w,4) float32 premultiplied, crop of the canvas
    origin: tuple             # (x0, y0) of the crop in canvas pixels
    connections: list         # [(other part, joint pt, normal, r, R, role 'P'|'C')]


@dataclass
class PuppetRig:
    size: int
    canvas_from_photo: np.ndarray   # (2,3) affine photo px -> canvas px
    background: np.ndarray          # (size,size,3) float32
    joints: np.ndarray              # (15,2) puppet joints in canvas px
    layers: list
    half_body: bool
    face_box: Optional[tuple]       # canvas px

    @property
    def canvas_scale(self) -> float:
        return float(self.canvas_from_photo[0, 0])


def canvas_transform(photo, size: int) -> np.ndarray:
    """Photo px -> square canvas px: the photo letterboxed, with room for outstretched arms."""
    w, h = photo.size
    lm, vis = photo.landmarks, photo.visibility
    pts = lm[vis >= 0.5] if (vis >= 0.5).sum() >= 4 else lm
    body_h = float(pts[:, 1].max() - pts[:, 1].min())
    side = max(w, h, 1.3 * body_h)
    s = size / side
    cx, cy = w / 2.0, h / 2.0
    if side > max(w, h):  # centre on the person when the photo is tight around them
        cx = float(np.clip(pts[:, 0].mean(), 0, w))
    return np.array([[s, 0, size / 2 - s * cx], [0, s, size / 2 - s * cy]], dtype=np.float64)


def _apply(A: np.ndarray, p: np.ndarray) -> np.ndarray:
    return p @ A[:, :2].T + A[:, 2]


def _seg_dist(X: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((X - a) @ ab) / max(float(ab @ ab), 1e-9), 0.0, 1.0)
    return np.linalg.norm(X - (a + t[:, None] * ab), axis=1)


def build_rig(photo, size: int = 512) -> PuppetRig:
    """Cut the person out of a PhotoAnalysis and split it into part layers on a size² canvas."""
    import cv2

    C = canvas_transform(photo, size)
    bg = cv2.warpAffine(photo.background if photo.background is not None else photo.image, C, (size, size),
                        flags=cv2.INTER_AREA if C[0, 0] < 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    img = cv2.warpAffine(photo.image, C, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(photo.mask.astype(np.float32), C, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    J = _apply(C, _pick(photo.landmarks, MP_OF))
    if not np.all(np.isfinite(J)):
        raise BadInput("photo landmarks are not finite")
    region = cv2.dilate((mask > 0.02).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    ys, xs = np.nonzero(region)
    if len(xs) < 50:
        raise BadInput("the person's mask is empty after framing: cannot build the puppet")
    X = np.stack([xs, ys], axis=1).astype(np.float64)
    D = np.full((len(PARTS), len(X)), np.inf)
    # torso: distance to the shoulder-hip quad (0 inside)
    quad = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(quad, np.round(J[[8, 9, 2, 1]]).astype(np.int32), 1)
    dq = cv2.distanceTransform((1 - quad).astype(np.uint8), cv2.DIST_L2, 3)
    D[0] = dq[ys, xs]
    neck, head = J[7], J[14]
    D[1] = _seg_dist(X, neck + 0.35 * (head - neck), head + 0.9 * (head - neck))
    for k, name in enumerate(PARTS[2:], start=2):
        a, b = BONE[name]
        D[k] = _seg_dist(X, J[a], J[b])
    if photo.half_body:  # hidden legs must not grab the hips' pixels
        D[6:] = np.inf
    label = np.full((size, size), -1, np.int16)
    label[ys, xs] = np.argmin(D, axis=0)

    layers = []
    soft = mask.clip(0, 1)
    for k, name in enumerate(PARTS):
        part = (label == k).astype(np.uint8)
        if part.sum() < 10:
            continue
        part = cv2.dilate(part, np.ones((5, 5), np.uint8))      # overlap the neighbours a little
        # hard inside the body (overlapping neighbours are both opaque there, so no background
        # shows through a seam); soft only at the person's own edge, from the mask
        a = part.astype(np.float32) * soft
        x, y, w, h = cv2.boundingRect(part)
        x0, y0, x1, y1 = max(0, x - 2), max(0, y - 2), min(size, x + w + 2), min(size, y + h + 2)
        al = a[y0:y1, x0:x1, None]
        rgba = np.concatenate([img[y0:y1, x0:x1].astype(np.float32) * al, al], axis=2)
        layers.append(Layer(name, np.ascontiguousarray(rgba), (x0, y0), []))
    by = {L.name: L for L in layers}
    for j, P, Cn, before, after in CONNECTIONS:
        n = _unit(_unit(J[before[1]] - J[before[0]]) + _unit(J[after[1]] - J[after[0]]))
        L1 = np.linalg.norm(J[before[1]] - J[before[0]])
        L2 = np.linalg.norm(J[after[1]] - J[after[0]])
        L = max(min(L1, L2), 4.0)
        r, R = 0.3 * L, 0.8 * L
        if P in by:
            by[P].connections.append((Cn, J[j].copy(), n, r, R, "P"))
        if Cn in by:
            by[Cn].connections.append((P, J[j].copy(), n, r, R, "C"))
    for name in ("l_thigh", "r_thigh"):  # thighs hang from the lower torso block
        if name in by:
            by[name].connections = [(("pelvis_block" if o == "torso" else o),) + tuple(c[1:])
                                    for c in by[name].connections for o in [c[0]]]
    if "torso" in by:  # upper block above the spine's middle, lower block below it
        spine = max(float(np.linalg.norm(J[0] - J[7])), 4.0)
        by["torso"].connections.append(("pelvis_block", 0.5 * (J[0] + J[7]), _unit(J[0] - J[7]),
                                        0.3 * spine, 1e9, "P"))
    if "torso" in by:  # the neck follows the head a little (the head itself stays rigid)
        nj = neck + 0.35 * (head - neck)
        L = max(float(np.linalg.norm(head - neck)), 4.0)
        by["torso"].connections.append(("head", nj, _unit(head - neck), 0.3 * L, 0.8 * L, "P"))
    fb = None
    if photo.face_box is not None:
        p0 = _apply(C, np.array(photo.face_box[:2], float))
        p1 = _apply(C, np.array(photo.face_box[2:], float))
        fb = (float(p0[0]), float(p0[1]), float(p1[0]), float(p1[1]))
    return PuppetRig(size, C, bg.astype(np.float32), J, layers, bool(photo.half_body), fb)


# --------------------------------------------------------------------------------------
ZOOM_RANGE = (0.8, 1.25)  # a photo enlarged or shrunk further than this stops looking like a photo


def dancer_zoom(dancer: DancerInput) -> np.ndarray:
    """Per-frame size change from the dancer's distance to the camera (frame 0 = 1), bounded."""
    s = 1.0 / np.maximum(_pick(dancer.depth[..., None], SMPL_OF)[:, 0, 0], 1e-3)
    return np.clip(s / s[0], *ZOOM_RANGE)


def retarget(rig: PuppetRig, dancer: DancerInput) -> tuple[np.ndarray, np.ndarray]:
    """Target puppet joints (T,15,2) in canvas px and part depths; the photo's proportions,
    the dancer's bone directions and foreshortening, the dancer's travel."""
    C = rig.canvas_from_photo
    s_c = rig.canvas_scale
    d2 = _apply(C, _pick(dancer.joints2d, SMPL_OF))                   # (T,15,2)
    depth = _pick(dancer.depth[..., None], SMPL_OF)[..., 0]            # (T,15)
    d3 = _pick(dancer.joints3d, SMPL_OF)                               # (T,15,3)
    s_t = dancer.focal_px * s_c / np.maximum(depth[:, 0], 1e-3)        # canvas px per metre at the pelvis
    # the dancer's travel, at the photo's scale (depth changes only through the bounded zoom)
    travel = (d2[:, 0] - d2[0, 0]) * (s_t[0] / s_t)[:, None]
    zoom = dancer_zoom(dancer)
    rest3 = _pick(rest_joints()[None], SMPL_OF)[0]
    rest2 = np.stack([rest3[:, 0], -rest3[:, 1]], axis=1)              # frontal view, px per metre = 1
    P = rig.joints
    T = len(d2)
    out = np.zeros((T, 15, 2))
    out[:, 0] = P[0] + travel
    cplx = lambda v: v[..., 0] + 1j * v[..., 1]  # noqa: E731
    for j in range(1, 15):
        p = PARENT[j]
        dd = cplx(d2[:, j] - d2[:, p])
        lp = cplx(P[j] - P[p])
        if j in RELATIVE:
            rr = cplx(rest2[j] - rest2[p])
            rot = (dd / np.maximum(np.abs(dd), 1e-9)) / (rr / max(abs(rr), 1e-9))
            ratio = np.abs(dd) / (abs(rr) * s_t)
            z = lp * rot * ratio * zoom
        else:
            full = np.linalg.norm(d3[:, j] - d3[:, p], axis=1) * s_t
            ratio = np.clip(np.abs(dd) / np.maximum(full, 1e-9), 0.0, 1.0)
            z = (dd / np.maximum(np.abs(dd), 1e-9)) * abs(lp) * ratio * zoom
        out[:, j] = out[:, p] + np.stack([z.real, z.imag], axis=1)
    part_depth = {"torso": depth[:, [0, 7, 8, 9]].mean(1), "head": depth[:, 14]}
    for name, (a, b) in BONE.items():
        part_depth[name] = 0.5 * (depth[:, a] + depth[:, b])
    return out, part_depth


def _limb_affine(a, b, a2, b2, width_scale):
    u, u2 = b - a, b2 - a2
    l, l2 = max(np.linalg.norm(u), 1e-6), np.linalg.norm(u2)
    c, s = u / l, (u2 / l2 if l2 > 1e-6 else u / l)
    R1 = np.array([[c[0], -c[1]], [c[1], c[0]]])
    R2 = np.array([[s[0], -s[1]], [s[1], s[0]]])
    A = R2 @ np.diag([max(l2, 1e-3) / l, width_scale]) @ R1.T
    return np.concatenate([A, (a2 - A @ a)[:, None]], axis=1)


def _frame_affine(o, a, b, e, o2, a2, b2, e2):
    """Affine with o->o2, (b-a)->(b2-a2), (e-o)->(e2-o2): exact on a, b when o is their midpoint."""
    S = np.stack([b - a, e - o], axis=1)
    D = np.stack([b2 - a2, e2 - o2], axis=1)
    if abs(np.linalg.det(S)) < 1e-6:
        A = np.eye(2)
    else:
        A = D @ np.linalg.inv(S)
    return np.concatenate([A, (o2 - A @ o)[:, None]], axis=1)


def part_transforms(rig: PuppetRig, target: np.ndarray, zoom: float) -> dict:
    """(2,3) affine per part mapping canvas rest -> this frame."""
    P = rig.joints
    out = {}
    # torso: two blocks that map the spine's ends exactly and each its own pair of joints
    # exactly (upper: shoulders, lower: hips); the torso layer blends them along the spine
    out["torso"] = _frame_affine(P[7], P[8], P[9], P[0], target[7], target[8], target[9], target[0])
    out["pelvis_block"] = _frame_affine(P[0], P[1], P[2], P[7], target[0], target[1], target[2], target[7])
    # head: rigid rotation about the neck plus the dancer's zoom (pixel-exact when zoom = 1)
    v0, v1 = P[14] - P[7], target[14] - target[7]
    ang = np.arctan2(v1[1], v1[0]) - np.arctan2(v0[1], v0[0])
    c, s = np.cos(ang) * zoom, np.sin(ang) * zoom
    A = np.array([[c, -s], [s, c]])
    out["head"] = np.concatenate([A, (target[7] - A @ P[7])[:, None]], axis=1)
    for name, (a, b) in BONE.items():
        out[name] = _limb_affine(P[a], P[b], target[a], target[b], zoom)
    return out


def _weights(layer: Layer, X: np.ndarray):
    """Part names and weights (N,k) of the skinning at canvas points X (N,2) of this layer."""
    names = [layer.name]
    ws = []
    for other, J, n, r, R, role in layer.connections:
        dx, dy = X[:, 0] - J[0], X[:, 1] - J[1]
        beta = np.clip((dx * n[0] + dy * n[1]) / r, -1.0, 1.0) * 0.5 + 0.5  # 0 parent side, 1 child's
        g = np.clip(1.0 - np.sqrt(dx * dx + dy * dy) / R, 0.0, 1.0)
        a = (beta if role == "P" else 1.0 - beta) * g
        names.append(other)
        ws.append(a)
    if not ws:
        return names, np.ones((len(X), 1))
    W = np.stack(ws, axis=1)
    own = np.clip(1.0 - W.sum(axis=1, keepdims=True), 0.0, 1.0)
    W = np.concatenate([own, W], axis=1)
    return names, W / np.maximum(W.sum(axis=1, keepdims=True), 1e-9)


def _render_layer(layer: Layer, T: dict, size: int, canvas: np.ndarray) -> None:
    import cv2

    h, w = layer.rgba.shape[:2]
    x0, y0 = layer.origin
    corners = np.array([[x0, y0], [x0 + w, y0], [x0, y0 + h], [x0 + w, y0 + h]], float)
    names_all = [layer.name] + [c[0] for c in layer.connections]
    pts = np.concatenate([_apply(T[n], corners) for n in names_all if n in T])
    bx0, by0 = np.floor(pts.min(0)).astype(int) - 2
    bx1, by1 = np.ceil(pts.max(0)).astype(int) + 2
    bx0, by0, bx1, by1 = max(bx0, 0), max(by0, 0), min(bx1, size), min(by1, size)
    if bx1 - bx0 < 2 or by1 - by0 < 2:
        return
    # nodes at pixel centres of GRID-blocks: cv2.resize by exactly GRID then interpolates
    # them back onto every pixel with no offset (OpenCV's half-pixel convention)
    c = (GRID - 1) / 2.0
    gx = bx0 + c + GRID * np.arange(-(-(bx1 - bx0) // GRID) + 1, dtype=np.float64)
    gy = by0 + c + GRID * np.arange(-(-(by1 - by0) // GRID) + 1, dtype=np.float64)
    Y = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    A0 = T[layer.name]
    X = (Y - A0[:, 2]) @ np.linalg.inv(A0[:, :2]).T                   # start from the own-bone inverse
    As = np.stack([T.get(n, A0) for n in names_all])                 # (k,2,3)
    if len(names_all) > 1:
        Am = As[:, :, :2].reshape(len(names_all), 4)
        At = As[:, :, 2]
        for _ in range(3):                                           # Newton on y = sum w_b(x) (A_b x + t_b)
            _, W = _weights(layer, X)
            M = W @ Am                                               # (N,4): blended 2x2, row-major
            r = Y - (W @ At)
            r[:, 0] -= M[:, 0] * X[:, 0] + M[:, 1] * X[:, 1]
            r[:, 1] -= M[:, 2] * X[:, 0] + M[:, 3] * X[:, 1]
            det = M[:, 0] * M[:, 3] - M[:, 1] * M[:, 2]
            det = np.where(np.abs(det) < 1e-6, 1e-6, det)
            X[:, 0] += (M[:, 3] * r[:, 0] - M[:, 1] * r[:, 1]) / det
            X[:, 1] += (-M[:, 2] * r[:, 0] + M[:, 0] * r[:, 1]) / det
    grid = X.reshape(len(gy), len(gx), 2).astype(np.float32)
    full = cv2.resize(grid, (len(gx) * GRID, len(gy) * GRID), interpolation=cv2.INTER_LINEAR)
    full = full[: by1 - by0, : bx1 - bx0]
    mx = full[..., 0] - x0
    my = full[..., 1] - y0
    src = cv2.remap(layer.rgba, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    roi = canvas[by0:by1, bx0:bx1]
    a = src[..., 3]
    inside = a > 1e-3
    if not inside.any():
        return
    ys, xs = np.nonzero(inside)   # composite only where the layer has coverage
    y0c, y1c, x0c, x1c = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    roi = roi[y0c:y1c, x0c:x1c]
    src = src[y0c:y1c, x0c:x1c]
    roi *= 1.0 - src[..., 3:4]
    roi += src[..., :3]


def render_frame(rig: PuppetRig, target: np.ndarray, depths: dict, zoom: float = 1.0) -> np.ndarray:
    T = part_transforms(rig, target, zoom)
    canvas = rig.background.copy()
    order = sorted(rig.layers, key=lambda L: -float(depths.get(L.name, 0.0)))  # far first
    for L in order:
        _render_layer(L, T, rig.size, canvas)
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


@register("puppet")
class PuppetAnimator(Animator):
    name = "puppet"

    def prepare(self, photo, options: AnimateOptions) -> PuppetRig:
        return build_rig(photo, options.size)

    def targets(self, rig: PuppetRig, dancer: DancerInput):
        return retarget(rig, dancer)

    def animate(self, rig: PuppetRig, dancer: DancerInput, options: AnimateOptions,
                progress: Optional[ProgressFn] = None) -> Iterator[np.ndarray]:
        import cv2

        prog = progress or null_progress
        tg, depth = retarget(rig, dancer)
        zoom = dancer_zoom(dancer)
        n = len(tg)
        # the job's framing (animate.placement): the canvas (photo letterboxed with room for the
        # arms) cut to the video's frame, which lies inside the photo
        M = None
        if dancer.placement is not None:
            C = np.vstack([rig.canvas_from_photo, [0, 0, 1.0]])
            M = dancer.placement.video_from_photo @ np.linalg.inv(C)
            size_v = (dancer.placement.width, dancer.placement.height)
        for t in range(n):
            if t % 10 == 0:
                prog(STAGE, t / n, f"frame {t}/{n}")
            frame = render_frame(rig, tg[t], {k: v[t] for k, v in depth.items()}, float(zoom[t]))
            if M is not None:
                frame = cv2.warpAffine(frame, M, size_v, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            yield frame
        prog(STAGE, 1.0, f"{n} frames")
