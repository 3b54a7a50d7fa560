"""The surface animator: the photo's appearance carried on the fitted 3D body (default CPU animator).

Driven by the same thing as the diffusion animator: the body fitted to the photo
(magicdance_core.body.fit), posed by the dance and seen by the video's camera. Each frame:
  1. skin the body and its shell (:mod:`.shell`: hair and clothes beyond the body) with the dance,
  2. rasterize them with the passes' rasterizer (magicdance_core.passes.raster) and the same faces
     and camera as the job's DensePose pass, so the person is where the pass says (but for the
     head and the hair beside it, which move with the face layer of step 5 as one piece),
  3. look every pixel up in one texture: the body's DensePose-UV atlas (:mod:`.atlas`) for the
     body, the photo's person colours (photo/matte.py: no old background at the edge) for the
     shell, whose alpha channel is the photo's soft matte (so the edge shows no dark fringe),
     re-lit as the body turns (:mod:`.shading`: ratios to the photo's own light),
  4. composite over the background plate (the photo with the person removed) in the job's framing
     (:mod:`.placement`): other people and objects stay where they are,
  5. the photo layers (:mod:`.layers`), rigid on the body: the photo's own face pixels, moved
     by the head's similarity while the head faces the camera near enough as in the photo, and
     what the person holds in front (the astronaut's helmet), always in front.
Why numpy/OpenCV/numba and not Blender: one raster + one remap per frame runs 30-50 frames/s at
512² on 2 cores in-process, where a textured Workbench render needs a GPU context and a scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np
from numba import njit

from ..errors import BadInput
from ..progress import ProgressFn, null_progress
from .base import AnimateOptions, Animator, DancerInput, register

STAGE = "animate"
HEAD_PARTS = (23, 24)
CHUNK = 32


@njit(cache=True, nogil=True)
def _sample(tex, faces, tc, vw, f, b0, b1, b2, rgba):
    """Bilinear texture colour and alpha (0..1, x the vertices' weights ``vw``) at barycentrics
    (b0, b1, b2) of face ``f``, into ``rgba``; outside the texture it is transparent black."""
    a = faces[f, 0]
    b = faces[f, 1]
    c = faces[f, 2]
    u = tc[a, 0] * b0 + tc[b, 0] * b1 + tc[c, 0] * b2
    v = tc[a, 1] * b0 + tc[b, 1] * b1 + tc[c, 1] * b2
    w = vw[a] * b0 + vw[b] * b1 + vw[c] * b2
    th, tw = tex.shape[0], tex.shape[1]
    x0 = int(np.floor(u))
    y0 = int(np.floor(v))
    fx = u - x0
    fy = v - y0
    for k in range(4):
        rgba[k] = 0.0
    for dy in range(2):
        yy = y0 + dy
        if yy < 0 or yy >= th:
            continue
        wy = fy if dy else 1.0 - fy
        for dx in range(2):
            xx = x0 + dx
            if xx < 0 or xx >= tw:
                continue
            wgt = wy * (fx if dx else 1.0 - fx)
            for k in range(4):
                rgba[k] += wgt * tex[yy, xx, k]
    rgba[3] *= w / 255.0


@njit(cache=True, nogil=True)
def _scale_rgb(c, lit):
    """c[:3] *= lit, one factor for all three channels (capped so none passes 255: clipping each
    channel alone would shift the hue of a saturated colour)."""
    m = max(c[0], c[1], c[2])
    if m * lit > 255.0:
        lit = 255.0 / m
    for k in range(3):
        c[k] *= lit


@njit(cache=True, nogil=True)
def _shade(bg, tex, tc, vw, fb, bb, db, soft_b, faces_b, fs, bs, ds, soft_s, faces_s, vs, occ, out):
    """The body (raster fb/bb/db) and the shell (fs/bs/ds) over the plate ``bg``, in depth order
    per pixel: where the shell's soft edge or fade lies over a body part further back (the near
    leg's trousers over the far leg), that body shows through it, not the plate. ``soft_*``: the
    rasters' one-pixel soft silhouette edges. Colours are scaled by the vertices' shading ``vs``
    (interpolated), the body's also by the pixel's occlusion ``occ``. Written to ``out`` (h,w,3) float32."""
    H, W = fb.shape
    cb = np.zeros(4)
    cs = np.zeros(4)
    for y in range(H):
        for x in range(W):
            o0 = bg[y, x, 0]
            o1 = bg[y, x, 1]
            o2 = bg[y, x, 2]
            hb = fb[y, x] >= 0
            hs = fs[y, x] >= 0
            if hb:
                f = fb[y, x]
                b0 = bb[y, x, 0]
                b1 = bb[y, x, 1]
                b2 = bb[y, x, 2]
                _sample(tex, faces_b, tc, vw, f, b0, b1, b2, cb)
                lit = (vs[faces_b[f, 0]] * b0 + vs[faces_b[f, 1]] * b1 + vs[faces_b[f, 2]] * b2) * occ[y, x]
                _scale_rgb(cb, lit)
                cb[3] *= soft_b[y, x]
            if hs:
                f = fs[y, x]
                b0 = bs[y, x, 0]
                b1 = bs[y, x, 1]
                b2 = bs[y, x, 2]
                _sample(tex, faces_s, tc, vw, f, b0, b1, b2, cs)
                _scale_rgb(cs, vs[faces_s[f, 0]] * b0 + vs[faces_s[f, 1]] * b1 + vs[faces_s[f, 2]] * b2)
                cs[3] *= soft_s[y, x]
            shell_first = not (hb and hs and ds[y, x] < db[y, x])
            for layer in range(2):
                if (layer == 0) == shell_first:
                    if not hs:
                        continue
                    c = cs
                else:
                    if not hb:
                        continue
                    c = cb
                al = c[3]
                o0 += (c[0] - o0) * al
                o1 += (c[1] - o1) * al
                o2 += (c[2] - o2) * al
            out[y, x, 0] = o0
            out[y, x, 1] = o1
            out[y, x, 2] = o2


@dataclass
class SurfaceRig:
    fit: object                 # body.fit.BodyFit
    texture: np.ndarray         # (h,w,4) uint8: the atlas (opaque), and the person's colours + soft alpha below it
    vertices: np.ndarray        # (V+N+K,3) rest positions: body, shell, then the layers' anchors
    weights: np.ndarray         # (V+N+K,24)
    rest_joints: np.ndarray     # (24,3)
    faces: np.ndarray           # (F,3): the passes' visible body faces, then the shell's
    n_body_faces: int
    face_part_lut: np.ndarray   # (F+1,) uint8 DensePose part of face id + 1 (0: background, shell)
    texcoords: np.ndarray       # (V+N,2) float32 pixel in ``texture``
    background: np.ndarray      # (h,w,3) uint8 plate at the fit's camera size
    layers: list                # [(layers.Layer, first anchor's vertex index)]: face, held object
    head_rot0: np.ndarray       # (3,3) the head's global rotation in the photo
    atlas_seen: float           # share of the body's surface the photo shows
    shell_vertices: int = 0
    # shading (shading.py): the body's weld ids (one normal per UV seam point), how squarely each body vertex
    # faced the camera in the photo, and the body vertex each shell vertex follows
    normal_groups: Optional[np.ndarray] = None
    facing_photo: Optional[np.ndarray] = None
    occlusion_photo: Optional[np.ndarray] = None   # (V,) contact occlusion of each body vertex the photo shows (else 1)
    shell_anchor: Optional[np.ndarray] = None
    # each body and shell vertex's share on the head joint and its photo pixel: the head's
    # surface and the hair move with the face layer
    head_share: Optional[np.ndarray] = None
    photo_xy: Optional[np.ndarray] = None

    def layer(self, name: str):
        return next((ly for ly, _ in self.layers if ly.name == name), None)


def build_surface_rig(photo, fit, tile: int = 128) -> SurfaceRig:
    """Atlas, shell, layers and texture of a PhotoAnalysis and its BodyFit."""
    from ..body.fit import render_photo_raster, visible_faces
    from ..body.skeleton import JOINT_INDEX
    from .atlas import build_atlas
    from .layers import face_layer, held_layer
    from .shading import photo_shading
    from .shell import build_shell

    W, H = photo.size
    if (fit.camera.width, fit.camera.height) != (W, H):
        raise BadInput(f"the body fit is for a {fit.camera.width}x{fit.camera.height} photo, "
                       f"the analysis is {W}x{H}: re-run the photo stage")
    body = fit.body()
    # the person's colours without the old background at the edge, under the soft alpha
    # (photo/matte.py): composited that way, the edge shows no dark fringe
    rgb = np.ascontiguousarray(photo.person_rgb())
    alpha = np.clip(np.asarray(photo.person_alpha(), np.float32), 0, 1)
    mask = np.asarray(photo.mask, np.float32)
    occ = photo.occluder_layer()
    if occ is not None:
        mask = mask * (1.0 - occ[1])   # the held object is not the body's texture: it is a layer
    atlas = build_atlas(fit, rgb, mask, tile)
    raster, Vp, xy, z = render_photo_raster(fit)
    # the shell reaches as far as the soft alpha does (its faint edge rides along, alpha and all)
    shell = build_shell(fit, ((alpha > 0.02) | (mask > 0.5)).astype(np.float32), raster)
    fi = visible_faces(body, fit.hidden_parts)
    ah, aw = atlas.image.shape[:2]
    gap = 4                                  # rows between atlas and photo: no bilinear bleeding
    tex = np.zeros((ah + gap + H, max(aw, W), 4), np.uint8)
    tex[:ah, :aw, :3] = atlas.image
    tex[:ah, :aw, 3] = 255
    tex[ah + gap:, :W, :3] = rgb
    tex[ah + gap:, :W, 3] = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
    tc = np.concatenate([atlas.vertex_xy, shell.photo_xy + np.float32([0, ah + gap])]).astype(np.float32)
    faces = np.concatenate([body.faces[fi], shell.faces + len(body.vertices)]).astype(np.int32)
    verts = [body.vertices, shell.rest]
    wts = [body.weights, shell.weights]
    layers, n = [], len(body.vertices) + len(shell.rest)
    for ly in (face_layer(photo, fit, raster, rgb, alpha), held_layer(photo, fit, raster)):
        if ly is not None:
            layers.append((ly, n))
            verts.append(ly.rest)
            wts.append(ly.weights)
            n += len(ly.rest)
    _, rots = fit.joints()
    weld, facing0, occ0, anchor = photo_shading(fit, body, body.faces[fi], raster, Vp, xy, z, shell.rest)
    return SurfaceRig(fit=fit, texture=tex, vertices=np.concatenate(verts), weights=np.concatenate(wts),
                      rest_joints=body.rest_joints, faces=faces, n_body_faces=len(fi),
                      face_part_lut=np.concatenate([[0], body.face_parts[fi], np.zeros(len(shell.faces))]).astype(np.uint8),
                      texcoords=tc, background=photo.background if photo.background is not None else photo.image,
                      layers=layers, head_rot0=rots[JOINT_INDEX["head"]], atlas_seen=atlas.seen_share(),
                      shell_vertices=len(shell.rest), normal_groups=weld, facing_photo=facing0,
                      occlusion_photo=occ0,
                      shell_anchor=anchor,
                      head_share=np.concatenate([body.weights, shell.weights])[:, JOINT_INDEX["head"]].astype(np.float32),
                      photo_xy=np.concatenate([xy, shell.photo_xy]).astype(np.float64))


# A shell triangle stretched (its longest edge, vs the photo) beyond TORN is torn: dropped, it shows
# the plate, as the real gap would. Between FADE and TORN it fades out, per vertex, so a torn strip
# ends in a soft edge rather than in a row of triangular holes (the sawtooth along a side view's legs).
FADE_STRETCH = 1.7
TORN_STRETCH = 2.5


def _edge_lengths(xy, faces) -> np.ndarray:
    """Longest edge (pixels) of each triangle."""
    p = xy[faces]
    return np.max(np.linalg.norm(p - np.roll(p, 1, axis=1), axis=2), axis=1)


def _shell_fade(rig, xy, shell_len, vw) -> np.ndarray:
    """The frame's faces, and each vertex's opacity in ``vw`` (1 on the body). A shell cell between
    two body parts that move apart (the gap under a pointing arm) would otherwise become a long
    wedge of the photo's pixels. A shell vertex takes the stretch of its most stretched triangle;
    triangles whose three vertices are fully faded are dropped (they would hide the body behind)."""
    shell = rig.faces[rig.n_body_faces:]
    vw.fill(1.0)
    if not len(shell):
        return rig.faces
    stretch = _edge_lengths(xy, shell) / np.maximum(shell_len, 1.0)
    if stretch.max() <= FADE_STRETCH:
        return rig.faces
    worst = np.zeros(len(vw), np.float32)
    np.maximum.at(worst, shell, stretch[:, None].astype(np.float32))
    fade = np.clip((TORN_STRETCH - worst) / (TORN_STRETCH - FADE_STRETCH), 0.0, 1.0)
    n_body = len(rig.texcoords) - rig.shell_vertices
    vw[n_body:] = fade[n_body:]
    keep = vw[shell].max(axis=1) > 0
    return rig.faces if keep.all() else np.concatenate([rig.faces[:rig.n_body_faces], shell[keep]])


def _drop_islands(body_id: np.ndarray, shell_id: np.ndarray) -> None:
    """Shell pixels in a piece that touches no body pixel are dropped (``shell_id`` set to -1): a
    lock of hair or a fingertip the shell tore off as the body moved would float on its own."""
    import cv2

    shell = shell_id >= 0
    if not shell.any():
        return
    body = body_id >= 0
    n, lab = cv2.connectedComponents((body | shell).astype(np.uint8), connectivity=8)
    if n <= 2:
        return
    attached = np.zeros(n, bool)
    attached[np.unique(lab[body])] = True
    attached[0] = True
    shell_id[~attached[lab]] = -1


class _Skin:
    """Body + shell vertices for builtin_mesh.skin (it reads vertices, weights, rest_joints)."""

    def __init__(self, rig: SurfaceRig):
        self.vertices, self.weights, self.rest_joints = rig.vertices, rig.weights, rig.rest_joints


def render_frames(rig: SurfaceRig, dancer: DancerInput, progress: Optional[ProgressFn] = None,
                  face: bool = True, shade: bool = True) -> Iterator[np.ndarray]:
    """RGB uint8 frames of the video's size (dancer.camera / dancer.placement). ``face``: the
    photo's face layer; ``shade``: re-lit as the body turns (shading.py; off: the photo's colours
    as they are, flat)."""
    import cv2

    from ..body.builtin_mesh import skin
    from ..body.fk import forward_kinematics_matrices
    from ..body.rotations import axis_angle_to_matrix
    from ..body.skeleton import JOINT_INDEX, offsets_from_joints
    from ..passes.raster import rasterize
    from .layers import LayerFrames, face_weight
    from .shading import contact_occlusion, facing, ratio_shading, vertex_normals

    if dancer.poses is None or dancer.camera is None or dancer.placement is None:
        raise BadInput("the surface animator needs the dance on the fitted body (animate.dancer.dancer_from_fit)")
    prog = progress or null_progress
    cam, pl = dancer.camera, dancer.placement
    W, H = cam.width, cam.height
    A = pl.video_from_photo
    bg = pl.warp(rig.background).astype(np.float32)
    layers = [(LayerFrames(ly, pl), i0, len(ly.rest)) for ly, i0 in rig.layers if face or ly.name != "face"]
    sk = _Skin(rig)
    offsets = offsets_from_joints(rig.rest_joints)
    poses, trans = dancer.poses, dancer.trans
    T = len(poses)
    _, rots = forward_kinematics_matrices(axis_angle_to_matrix(poses), trans, offsets)
    head0 = cam.R @ rig.head_rot0[:, 2]
    limb_lut = ~np.isin(rig.face_part_lut, (0, 1, 2) + HEAD_PARTS)   # arms, hands, legs: may pass in front of the face
    tex = rig.texture
    vw = np.ones(len(rig.texcoords), np.float32)
    out = np.empty((H, W, 3), np.float32)
    kernel = np.ones((3, 3), np.float32) / 9.0
    shell_len = _edge_lengths(rig.texcoords, rig.faces[rig.n_body_faces:]) * float(A[0, 0])
    nb = rig.n_body_faces
    n_body = len(rig.texcoords) - rig.shell_vertices
    vs = np.ones(len(rig.vertices), np.float32)
    flat = np.ones((H, W), np.float32)
    face_lf = next(((lf, i0, n) for lf, i0, n in layers if lf.layer.name == "face"), None)
    head = None
    if face_lf is not None and rig.head_share is not None:
        on = np.nonzero(rig.head_share > 0)[0]
        head = (on, rig.head_share[on, None], rig.photo_xy[on] @ A[:, :2].T + A[:, 2])

    def soft_edge(r):
        fg = (r.face_id >= 0).astype(np.float32)
        return cv2.filter2D(fg, -1, kernel) * fg

    for a in range(0, T, CHUNK):
        V = skin(sk, poses[a:a + CHUNK], trans[a:a + CHUNK], offsets)
        for k in range(len(V)):
            t = a + k
            if t % 15 == 0:
                prog(STAGE, t / T, f"frame {t}/{T}")
            xy, z = cam.project(V[k], return_depth=True)
            wf = face_weight(cam.R @ rots[t, JOINT_INDEX["head"]][:, 2], head0) if face_lf is not None else 0.0
            moved = None
            if head is not None and wf > 0:
                # the head's surface and the hair beside it move with the face layer, as one piece
                # (by the share each vertex has on the head joint): skinned in 3D, a sheet of hair
                # beside a narrow fitted head stayed put while the face (in front of the neck's
                # axis) swung with every turn of the head, and the hair and the cheek showed twice
                lf, i0, n = face_lf
                S = lf.transform(xy[i0:i0 + n], z[i0:i0 + n])
                if S is not None:
                    on, share, p0 = head
                    b = share * wf
                    xy[on] = (1.0 - b) * xy[on] + b * (p0 @ S[:, :2].T + S[:, 2])
                    moved = (on, b[:, 0])
            faces = _shell_fade(rig, xy, shell_len, vw)
            # 2.-4. body and shell rasterized apart, then looked up in the texture (the texture's
            # alpha is the photo's soft matte on the shell, opaque on the body) and composited over
            # the plate in depth order (_shade)
            r = rasterize(xy, z, faces[:nb], H, W)
            rs = rasterize(xy, z, faces[nb:], H, W)
            _drop_islands(r.face_id, rs.face_id)
            # re-lit as the body turns; the shell as the body point it follows (shading.py)
            if shade:
                Vb = V[k][:n_body]
                ratio = ratio_shading(facing(cam, Vb, vertex_normals(Vb, faces[:nb], rig.normal_groups)),
                                      rig.facing_photo)
                vs[n_body:n_body + rig.shell_vertices] = ratio[rig.shell_anchor]
                # the photo's own contact shadows are in its pixels (lifted by at most 1.25x where a
                # part has moved off: the real shadow was likely fainter than the one assumed)
                vs[:n_body] = ratio / np.maximum(rig.occlusion_photo, 0.8)
                if moved is not None:   # the head moved as one flat piece with the face layer: lit as the photo
                    vs[moved[0]] += (1.0 - vs[moved[0]]) * moved[1]
                occ = contact_occlusion(r.depth, r.face_id >= 0)
            else:
                occ = flat
            _shade(bg, tex, rig.texcoords, vw, r.face_id, r.bary, r.depth, soft_edge(r), faces[:nb],
                   rs.face_id, rs.bary, rs.depth, soft_edge(rs), np.ascontiguousarray(faces[nb:]), vs, occ, out)
            # 5. the layers, rigid on the body: the photo's own face while the head faces the camera
            # as it did in the photo (behind a hand or arm that comes in front), then the held object
            for lf, i0, n in layers:
                wl = 1.0
                if lf.layer.name == "face":
                    wl = wf
                    if wl <= 0:
                        continue
                got = lf.warp(xy[i0:i0 + n], z[i0:i0 + n])
                if got is None:
                    continue
                lrgb, la, (x0, y0) = got
                box = np.s_[y0:y0 + la.shape[0], x0:x0 + la.shape[1]]
                if lf.layer.name == "face":
                    zf = float(np.median(z[i0:i0 + n]))
                    limb = limb_lut[r.face_id[box] + 1] & (r.depth[box] < zf)
                    la = la * wl * ~limb
                sub = out[box]
                sub += (lrgb - sub) * la[..., None]
            yield np.clip(out + 0.5, 0, 255).astype(np.uint8)
    prog(STAGE, 1.0, f"{T} frames")


@register("surface")
class SurfaceAnimator(Animator):
    """The default CPU animator (no weights)."""

    name = "surface"

    def prepare(self, photo, options: AnimateOptions) -> SurfaceRig:
        fit = options.extra.get("fit")
        if fit is None:
            from ..body.fit import fit_body

            fit = fit_body(photo)
        return build_surface_rig(photo, fit)

    def animate(self, rig: SurfaceRig, dancer: DancerInput, options: AnimateOptions,
                progress: Optional[ProgressFn] = None) -> Iterator[np.ndarray]:
        return render_frames(rig, dancer, progress)


__all__ = ["SurfaceAnimator", "SurfaceRig", "build_surface_rig", "render_frames"]
