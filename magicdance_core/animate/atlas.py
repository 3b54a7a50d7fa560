"""The photo's appearance on the body surface: a DensePose-UV texture atlas (issue 13, item 1).

As in DensePose pose transfer (Neverova et al. 2018): every chart of the body's DensePose UV map
gets a square tile of an atlas. A chart is one body segment's tube within one DensePose part (the
built-in body's head part holds the neck and the skull, the torso parts the trunk and both
shoulders, each with U,V over all of [0,1]), so no two surface points share a texel. A texel is a
point of the body surface; where the body fitted to the photo shows that point to the camera (it
is the nearest surface there, faces the camera and lies on the person's mask) the texel takes the
photo's colour. The rest is filled, in this order, from the nearest seen texel
  1. at the left/right mirror image of the point (the other arm, the other half of the torso),
  2. at the front/back mirror image (a shirt's back is like its front; not for the head: a face
     on the back of the head would be worse than hair),
  3. for the head, in the hair above the eyes; for everything else, simply the nearest in 3D,
all found in the body's rest pose (metres, so seams between parts and tiles do not matter). When
the photo shows (almost) nothing of either hand (a half-body photo cuts them off), both hands are
the face's skin (its median, eyes to mouth): nearest in 3D would be the sleeve, and an arm ending
in a stump of cloth has no hand for a viewer or a pose detector to follow. Then
the tiles' uncovered border texels (between the UV triangles) take their nearest covered texel in
UV space, so bilinear lookups never read an empty texel.

The atlas is built once per photo (~0.1-0.3 s); a frame then only needs its IUV raster and one
``cv2.remap`` (magicdance_core.animate.surface).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..passes.raster import rasterize

COLS = 6                     # tiles per atlas row
HEAD_PARTS = (23, 24)
HAND_PARTS = (3, 4)
HAND_SEEN_SHARE = 0.05       # a hand with less of its surface seen than this counts as not shown
MIRROR_TOL_M = 0.02          # a mirrored point must find a seen texel this close
FACING_MIN = 0.2             # cos(angle) between the surface normal and the view ray, to count as seen
DEPTH_TOL_M = 0.025          # the texel must be this close to the nearest surface at its pixel


@dataclass
class Atlas:
    image: np.ndarray          # (rows*T, COLS*T, 3) uint8
    seen: np.ndarray           # (rows*T, COLS*T) bool: the photo's own colour
    covered: np.ndarray        # (rows*T, COLS*T) bool: on the surface (inside a UV triangle)
    tile: int
    vertex_xy: np.ndarray      # (V,2) float32 atlas pixel of each body vertex
    texel_part: np.ndarray     # (h,w) int: DensePose part of each covered texel (0 elsewhere)

    def seen_share(self, parts=None) -> float:
        """Share of the surface's texels that carry the photo's colour (of ``parts`` if given)."""
        cov = self.covered
        if parts is not None:
            cov = cov & np.isin(self.texel_part, list(parts))
        return float((self.seen & cov).sum() / max(int(cov.sum()), 1))


def charts(body) -> tuple:
    """(chart id per vertex, number of charts): one chart per (DensePose part, segment tube)."""
    key = body.vertex_parts.astype(np.int64) * 1000 + body.vertex_segments
    _, chart = np.unique(key, return_inverse=True)
    return chart.reshape(-1), int(chart.max()) + 1


def vertex_atlas_xy(body, tile: int) -> tuple:
    """Atlas pixel (x, y) of every vertex (its chart's tile, U to the right, V up) and the
    atlas size (width, height)."""
    chart, n = charts(body)
    ox, oy = (chart % COLS) * tile, (chart // COLS) * tile
    u, v = body.uv[:, 0], body.uv[:, 1]
    xy = np.stack([ox + u * (tile - 1), oy + (1.0 - v) * (tile - 1)], -1).astype(np.float32)
    return xy, (COLS * tile, ((n + COLS - 1) // COLS) * tile)


def _interp(vals, faces, fid, bary):
    """Per-texel interpolation of per-vertex values (V,k) over face ids (N,) and barycentrics (N,3)."""
    F = faces[fid]
    return np.einsum("nk,nkc->nc", bary, vals[F])


def build_atlas(fit, image: np.ndarray, mask: np.ndarray, tile: int = 128) -> Atlas:
    """The atlas of ``fit``'s body (a BodyFit) from the photo ``image`` (h,w,3) and its person
    ``mask`` (h,w) in [0,1], both at the fit's camera size."""
    from scipy.spatial import cKDTree

    from ..body.builtin_mesh import skin
    from ..body.fit import _offsets_of, render_photo_raster, visible_faces

    body = fit.body()
    cam = fit.camera
    faces_idx = visible_faces(body, fit.hidden_parts)
    faces = body.faces[faces_idx]
    AX, (W, H) = vertex_atlas_xy(body, tile)
    # 1. where each texel is on the surface: rasterize the mesh in UV space
    ru = rasterize(AX.astype(np.float64), np.ones(len(AX)), faces, H, W, cull_backfaces=False)
    covered = ru.face_id >= 0
    ty, tx = np.nonzero(covered)
    fid = ru.face_id[ty, tx]
    bary = ru.bary[ty, tx].astype(np.float64)
    rest = _interp(body.vertices, faces, fid, bary)                        # (N,3) rest pose
    # 2. the same points on the body in the photo's pose, seen by the photo's camera
    Vp = skin(body, fit.pose, fit.trans, _offsets_of(body))
    P = _interp(Vp, faces, fid, bary)
    xy, z = cam.project(P, return_depth=True)
    tri = Vp[faces[fid]]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    view = P - cam.position
    view /= np.maximum(np.linalg.norm(view, axis=1, keepdims=True), 1e-12)
    facing = -(n * view).sum(1)
    r, *_ = render_photo_raster(fit)
    h, w = r.face_id.shape
    px = np.clip(np.round(xy[:, 0]).astype(int), 0, w - 1)
    py = np.clip(np.round(xy[:, 1]).astype(int), 0, h - 1)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] <= w - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= h - 1)
    front = np.abs(z - r.depth[py, px]) < DEPTH_TOL_M
    on_person = np.asarray(mask)[py, px] > 0.5
    seen = inside & front & on_person & (facing > FACING_MIN)
    colour = np.zeros((len(tx), 3), np.float32)
    if seen.any():
        colour[seen] = sample_bilinear(image, xy[seen])
    # 3. unseen texels from seen ones (rest pose, metres)
    part = body.face_parts[faces_idx][fid]
    is_head = np.isin(part, HEAD_PARTS)
    have = seen.copy()
    if have.any():
        tree = cKDTree(rest[have])
        src = np.nonzero(have)[0]

        def fill(targets, queries, tol):
            if not targets.any():
                return
            d, k = tree.query(queries, distance_upper_bound=tol)
            ok = np.isfinite(d)
            t = np.nonzero(targets)[0][ok]
            colour[t] = colour[src[k[ok]]]
            have[t] = True

        todo = ~have
        fill(todo, rest[todo] * [-1.0, 1.0, 1.0], MIRROR_TOL_M)          # left/right mirror
        todo = ~have & ~is_head
        if todo.any():
            zc = _segment_axis_z(body, faces, fid[todo], bary[todo])
            q = rest[todo].copy()
            q[:, 2] = 2 * zc - q[:, 2]
            fill(todo, q, MIRROR_TOL_M * 1.5)                               # front/back mirror
        todo = ~have & is_head
        if todo.any():
            hair = seen & is_head & (rest[:, 1] > _eye_level(body) + 0.03)
            pool = np.nonzero(hair if hair.any() else seen & is_head)[0]
            if len(pool):
                _, k = cKDTree(rest[pool]).query(rest[todo])
                colour[np.nonzero(todo)[0]] = colour[pool[k]]
                have[todo] = True
        hands = [part == p for p in HAND_PARTS]
        if all(h.any() and seen[h].mean() < HAND_SEEN_SHARE for h in hands):
            skin = _face_skin(body, rest, colour, seen & is_head)
            if skin is not None:   # the few seen texels too: a hand of one colour, not a patchwork
                for h in hands:
                    colour[h] = skin
                    have[h] = True
        todo = ~have
        if todo.any():
            _, k = tree.query(rest[todo])
            colour[np.nonzero(todo)[0]] = colour[src[k]]
    else:
        colour[:] = 128.0
    atlas = np.zeros((H, W, 3), np.float32)
    atlas[ty, tx] = colour
    seen_img = np.zeros((H, W), bool)
    seen_img[ty, tx] = seen
    part_img = np.zeros((H, W), np.int16)
    part_img[ty, tx] = part
    atlas = _fill_uncovered(atlas, covered)
    return Atlas(image=np.clip(atlas + 0.5, 0, 255).astype(np.uint8), seen=seen_img, covered=covered,
                 tile=tile, vertex_xy=AX, texel_part=part_img)


def sample_bilinear(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear colours (N,3) float32 of ``image`` at points ``xy`` (N,2) (cv2.remap, whose maps
    must be under 32767 a side: the points go in rows of 1024)."""
    import cv2

    n = len(xy)
    rows = (n + 1023) // 1024
    m = np.full((rows * 1024, 2), -1.0, np.float32)
    m[:n] = xy
    m = m.reshape(rows, 1024, 2)
    out = cv2.remap(np.ascontiguousarray(image, np.float32), m[..., 0], m[..., 1], cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REFLECT)
    return out.reshape(-1, out.shape[-1] if out.ndim == 3 else 1)[:n]


def _segment_axis_z(body, faces, fid, bary) -> np.ndarray:
    """Rest z of the bone axis under each texel: the z of its most weighted joint (the T-pose's
    limbs and trunk all run in planes of constant z, so this is the tube's centre)."""
    wts = _interp(body.weights, faces, fid, bary)
    return body.rest_joints[np.argmax(wts, axis=1), 2]


def _face_skin(body, rest, colour, head_seen) -> "np.ndarray | None":
    """Median colour of the seen face between the eyebrows and the mouth, in front of the
    head's centre (cheeks, nose, temples: mostly skin; eyes and lips are too few to move a
    median); None if the photo shows too little of the face."""
    from ..body.skeleton import JOINT_INDEX

    eye = _eye_level(body)
    centre_z = body.rest_joints[JOINT_INDEX["head"], 2]
    face = head_seen & (rest[:, 1] < eye + 0.02) & (rest[:, 1] > eye - 0.07) & (rest[:, 2] > centre_z + 0.03)
    if face.sum() < 50:
        return None
    return np.median(colour[face], axis=0)


def _eye_level(body) -> float:
    from ..body.skeleton import JOINT_INDEX

    return float(body.rest_joints[JOINT_INDEX["head"], 1] + 0.09)


def _fill_uncovered(atlas: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Texels outside every UV triangle take their nearest covered texel's colour."""
    from scipy.ndimage import distance_transform_edt

    if covered.all() or not covered.any():
        return atlas
    _, (iy, ix) = distance_transform_edt(~covered, return_indices=True)
    return atlas[iy, ix]
