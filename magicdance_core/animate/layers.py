"""Photo layers that ride on the fitted body: the face, and what the person holds in front.

Some of the photo must reach the video pixel for pixel, not resampled through the body's texture
atlas: the face (a person is recognised by it) and an object held in front of the body (the
astronaut's helmet: as part of the body's texture it would be torn between the arms and the
torso). Each is a :class:`Layer`: the photo's own colours with a soft alpha, and a few anchor
points tied to the body (rest position + skinning weights, skinned with the body every frame).
Per frame the anchors' photo positions and their projected positions give a least-squares
similarity; the layer is warped by it as one rigid piece and composited over the rendered body.

- face: anchors are the photo's face-mesh points back-projected onto the fitted head and tied
  to the head joint alone (so the face turns with the head, not with the neck); the layer is
  the face mesh's hull (grown, feathered) under the person's soft alpha. It fades out while the
  head turns out of the photo's view direction (a flat face on a turned head would show it)
  and gives way to an arm or hand of the body that comes in front of it.
- held object (photo/occluder.py): its one anchor is the hand that holds it; it keeps its photo
  orientation and its offset from the hand, and is always in front. One the photo's edge cuts
  off (the astronaut's helmet) stays where the photo has it: moved, its cut would show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .shell import unskin

HEAD_PARTS = (23, 24)
FACE_FULL_DEG, FACE_NONE_DEG = 40.0, 60.0   # head turn (out of the image plane) vs the photo's: the dance carries its head its own way (measured: 24 deg apart on the astronaut with no head move at all), and the photo's face keeps up to 40 deg better than the atlas
FACE_GROW = 0.12                             # the face layer reaches this share of the face's size beyond its mesh
HAIR_GROW = 1.5                              # ... and above the eyes this many times the mesh's own reach (the hair)
MAX_ANCHORS = 300


@dataclass
class Layer:
    name: str
    rgb: np.ndarray            # (h,w,3) uint8 at the photo's size
    alpha: np.ndarray          # (h,w) float32 in [0,1]
    rest: np.ndarray           # (N,3) anchors in the body's rest pose
    weights: np.ndarray        # (N,24) their skinning weights
    photo_xy: np.ndarray       # (N,2) their pixels in the photo
    depth_photo: float = 0.0   # the layer's camera depth in the photo (m)


def similarity(src: np.ndarray, dst: np.ndarray) -> Optional[np.ndarray]:
    """Least-squares 2D similarity (2,3) taking src (N,2) to dst (N,2) (Umeyama, no reflection)."""
    if len(src) < 3:
        return None
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    var = (a ** 2).sum()
    if var < 1e-9:
        return None
    sxx = (a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1]).sum()
    sxy = (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum()
    c, s = sxx / var, sxy / var
    R = np.array([[c, -s], [s, c]])
    return np.concatenate([R, (md - R @ ms)[:, None]], 1)


def _backproject(cam, xy: np.ndarray, depth: np.ndarray) -> np.ndarray:
    pc = np.stack([(xy[:, 0] - cam.cx) / cam.f * depth, (xy[:, 1] - cam.cy) / cam.f * depth, depth], 1)
    return (pc - cam.t) @ cam.R


def face_layer(photo, fit, raster, rgb: np.ndarray, alpha: np.ndarray) -> Optional[Layer]:
    """The face layer of a PhotoAnalysis (None when the photo stage found no face)."""
    import cv2

    from ..body.skeleton import JOINT_INDEX

    pts = photo.face_landmarks
    if pts is None or len(pts) < 10 or not np.isfinite(pts).all():
        return None
    body = fit.body()
    h, w = alpha.shape
    pts = np.asarray(pts, np.float64)
    size = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1])))
    if size < 6:
        return None
    # 1. the layer: the head, rigid: the mesh's hull widened upward (forehead, hair) by HAIR_GROW
    # and downward (chin) by FACE_GROW, its edge feathered outward
    c = pts.mean(0)
    k = np.where(pts[:, 1:2] < c[1], HAIR_GROW, 1.0 + FACE_GROW)
    outline = c + (pts - c) * k
    grow = max(2, int(round(FACE_GROW * size)))
    hull = cv2.convexHull(np.round(outline).astype(np.int32))
    m = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(m, hull, 1)
    m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    # blurred by a sigma of grow/2.5: 1 on the mesh's hull, 0.5 at the grown edge, 0 beyond
    soft = cv2.GaussianBlur(m.astype(np.float32), (0, 0), grow / 2.5)
    a = np.clip(soft, 0, 1) * np.clip(alpha, 0, 1)
    if not (a > 0.5).any():
        return None
    # 2. anchors: the mesh points on the fitted head (its depth where the raster shows the head)
    px = np.clip(np.round(pts).astype(int), [0, 0], [w - 1, h - 1])
    fid = raster.face_id[px[:, 1], px[:, 0]]
    on_head = (fid >= 0) & np.isin(body.face_parts[np.maximum(fid, 0)], HEAD_PARTS)
    joints, _ = fit.joints()
    zj = float(fit.camera.to_camera(joints[JOINT_INDEX["head"]])[2])
    d = raster.depth[px[:, 1], px[:, 0]]
    ref = float(np.median(d[on_head])) if on_head.sum() >= 10 else zj - 0.08
    depth = np.where(on_head & np.isfinite(d), d, ref)
    sel = np.linspace(0, len(pts) - 1, min(len(pts), MAX_ANCHORS)).astype(int)
    world = _backproject(fit.camera, pts[sel], depth[sel])
    wts = np.zeros((len(sel), 24))
    wts[:, JOINT_INDEX["head"]] = 1.0
    rest = unskin(world, wts, fit, body)
    return Layer("face", rgb, a.astype(np.float32), rest, wts, pts[sel].astype(np.float32), float(np.median(depth)))


def held_layer(photo, fit, raster) -> Optional[Layer]:
    """The layer of what the person holds in front of the body (photo stage's occluder), or None.

    It is held, so it goes where the hand holding it goes: the fitted wrist nearest to it (on it,
    or within a third of its size); with no hand there, the joint that carries most of the body
    under it (the trunk, for something pressed against the chest)."""
    import cv2

    from ..body.skeleton import JOINT_INDEX

    occ = photo.occluder_layer()
    if occ is None:
        return None
    rgb, a = occ
    body = fit.body()
    region = a > 0.5
    under = region & (raster.face_id >= 0)
    if under.sum() < 10:
        return None
    # the joint it rides on
    joints, _ = fit.joints()
    h, w = region.shape
    dist = cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, 5)
    reach = np.sqrt(region.sum()) / 3.0
    best, joint = np.inf, None
    for name in ("left_wrist", "right_wrist"):
        x, y = fit.camera.project(joints[JOINT_INDEX[name]])
        d = float(dist[int(np.clip(round(y), 0, h - 1)), int(np.clip(round(x), 0, w - 1))]) \
            if 0 <= x < w and 0 <= y < h else np.inf
        if d <= reach and d < best:
            best, joint = d, JOINT_INDEX[name]
    if joint is None:
        fid = raster.face_id[under]
        bary = raster.bary[under].astype(np.float64)
        wts = np.einsum("nk,nkj->nj", bary, body.weights[body.faces[fid]])
        joint = int(np.argmax(wts.sum(0)))
    # one anchor, the joint itself: the thing keeps its offset from the hand, and its size but
    # for the hand's depth (anchors spread over it swung round with every turn of the wrist)
    wts = np.zeros((1, 24))
    wts[0, joint] = 1.0
    xy, z = fit.camera.project(joints[joint][None], return_depth=True)
    rest = body.rest_joints[joint][None].astype(np.float64)
    return Layer("held", np.ascontiguousarray(rgb), a.astype(np.float32), rest, wts,
                 xy.astype(np.float32), float(z[0]))


def face_weight(head_fwd_cam: np.ndarray, head_fwd_photo_cam: np.ndarray) -> float:
    """How much of the photo's face to show (1 .. 0) as the head turns away from its photo direction."""
    ang = math.degrees(math.acos(float(np.clip(head_fwd_cam @ head_fwd_photo_cam, -1, 1))))
    return float(np.clip((FACE_NONE_DEG - ang) / (FACE_NONE_DEG - FACE_FULL_DEG), 0.0, 1.0))


class LayerFrames:
    """A layer framed like the video, ready to be warped per frame (only its box: a face is small)."""

    def __init__(self, layer: Layer, placement):
        self.layer = layer
        A = placement.video_from_photo
        rgb = placement.warp(layer.rgb).astype(np.float32)
        alpha = placement.warp(layer.alpha)
        self.src = layer.photo_xy @ A[:, :2].T + A[:, 2]
        self.size = (placement.width, placement.height)
        self.scale = float(A[0, 0])           # video px per photo px, at the photo's depth
        # the layer's box in video px, and which sides of the video frame cut it (left, top, right, bottom)
        ys, xs = np.nonzero(alpha > 0.02)
        W, H = self.size
        if not len(xs):
            xs, ys = np.array([0, W - 1]), np.array([0, H - 1])
        self.cut = (xs.min() <= 1, ys.min() <= 1, xs.max() >= W - 2, ys.max() >= H - 2)
        self.x0, self.y0 = int(xs.min()), int(ys.min())
        self.rgb = np.ascontiguousarray(rgb[self.y0:ys.max() + 1, self.x0:xs.max() + 1])
        self.alpha = np.ascontiguousarray(alpha[self.y0:ys.max() + 1, self.x0:xs.max() + 1])

    def transform(self, anchors_xy: np.ndarray, anchors_z: np.ndarray) -> Optional[np.ndarray]:
        """(2,3) video px of the photo framing -> the frame's, from the anchors' pixels and depths."""
        if self.layer.name == "held" and any(self.cut):
            # the photo cuts it off (the helmet at the bottom edge): moved, it would show the cut
            # or slide out of the frame; it stays where the photo has it, in front of the dancer
            return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        if self.layer.name == "held":
            # a held thing keeps its photo orientation (a helmet swinging round with the wrist's
            # every turn looked wrong) and its size but for perspective: it goes where the hand goes
            s = self.scale * self.layer.depth_photo / max(float(anchors_z[0]), 1e-3)
            t = anchors_xy[0] - s * self.src[0]
            return np.array([[s, 0.0, t[0]], [0.0, s, t[1]]])
        return similarity(self.src, anchors_xy)

    def warp(self, anchors_xy: np.ndarray, anchors_z: np.ndarray):
        """(rgb (h,w,3) float32, alpha (h,w) float32, (x0, y0)): the layer moved onto the frame's
        anchor pixels (camera depths ``anchors_z``), as the frame's box at (x0, y0); or None."""
        import cv2

        S = self.transform(anchors_xy, anchors_z)
        if S is None:
            return None
        h, w = self.alpha.shape
        S = S @ np.array([[1.0, 0, self.x0], [0, 1.0, self.y0], [0, 0, 1.0]])   # from the crop's pixels
        corners = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]]) @ S[:, :2].T + S[:, 2]
        W, H = self.size
        x0, y0 = max(0, int(np.floor(corners[:, 0].min()))), max(0, int(np.floor(corners[:, 1].min())))
        x1, y1 = min(W, int(np.ceil(corners[:, 0].max())) + 1), min(H, int(np.ceil(corners[:, 1].max())) + 1)
        if x1 <= x0 or y1 <= y0:
            return None
        S[:, 2] -= (x0, y0)
        # bicubic (the face layer and the held object): the face is what a viewer looks at and
        # bilinear blurred it (face SSIM after alignment +0.003..+0.018 on 6 photos,
        # benchmarks/dance/RESULTS.md; the held layer was not measured); the frame is clipped at the end
        rgb = cv2.warpAffine(self.rgb, S, (x1 - x0, y1 - y0), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT)
        a = cv2.warpAffine(self.alpha, S, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return rgb, a, (x0, y0)


__all__ = ["Layer", "LayerFrames", "face_layer", "held_layer", "face_weight", "similarity", "unskin"]
