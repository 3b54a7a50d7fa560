"""Shading for the surface animator: the photo's appearance re-lit as the body turns.

The atlas holds the photo's colours as they were lit in the photo. Pasted unchanged onto a moving
body, an arm swung in front of a torso of the same cloth is the same flat colour as the torso
behind it: neither a viewer nor a pose detector can see where the arm is (the astronaut's orange
suit: elbows and wrists re-detected on their part of the pass in 13-30 % of checks). Two cues a
renderer gives for free, computed here per frame from the skinned mesh and its depth raster:

- **ratio shading**: a vertex's brightness is scaled by ``L(now) / L(photo)``, with
  ``L = ambient + (1 - ambient) * max(floor, n . view)`` (a light at the camera, as a flash or a
  frontal key light): a surface that faced the camera in the photo and turns away darkens, one that
  was seen at a grazing angle and now faces the camera brightens (to a cap).
- **contact occlusion**: where a part lies in front of another (an arm over the chest: a depth
  jump between neighbouring pixels), the part behind darkens in a soft band beside the front
  part's edge (a screen-space ambient occlusion reduced to depth jumps and a min-depth filter),
  divided, per vertex, by the occlusion the same surface point had where the photo shows it
  (its pixels already hold that shadow).

Both are ratios to the photo: in the photo's own pose the photo's pixels are shown as they are.
Why not Blender's lights: the surface animator shades in-process from its own raster
(surface.py: one raster and one lookup per frame); this is a few small array passes on top.
"""

from __future__ import annotations

import numpy as np

AMBIENT = 0.6        # share of light that does not depend on the surface's angle
RATIO_LO, RATIO_HI = 0.7, 1.2
FACING_FLOOR = 0.35  # facings below this count as this: a texel seen edge-on is not brightened without end
OCC_STRENGTH = 0.35  # darkening right beside a part in front
OCC_NEAR_M = 0.03    # depth jump between neighbouring pixels that starts to occlude (m): a surface
OCC_RAMP_M = 0.08    # sloping away changes by far less a pixel; fully occluded at NEAR + RAMP
OCC_FAR_M = (0.3, 0.5)   # a part this far in front casts less and less (a hand held out)
OCC_RADIUS = 0.035   # band width, fraction of the square root of the body's pixel area


def vertex_normals(V: np.ndarray, faces: np.ndarray, weld: np.ndarray) -> np.ndarray:
    """(V,3) smooth unit normals of triangles ``faces`` over ``V``, shared by the vertices of one
    ``weld`` id (``passes.render.weld_index``: the mesh's parts are cut along their UV seams), as
    the passes' normal map computes them."""
    from ..passes.raster import vertex_normals as welded_normals

    return welded_normals(V, faces, weld, int(weld.max()) + 1)


def photo_shading(fit, body, faces, raster, V, xy, z, shell_rest, seen_tol_m: float = 0.03):
    """What the shading compares each frame with, from the photo's fitted body: (weld ids, facing
    of each body vertex in the photo, the contact occlusion of the vertices the photo shows (1 for
    the others: hidden there, the photo holds no shadow of theirs), and for each shell vertex the
    body vertex whose light it takes: the nearest in the rest pose among those drawn)."""
    from scipy.spatial import cKDTree

    from ..passes.render import weld_index

    weld = weld_index(body.vertices)
    facing0 = facing(fit.camera, V, vertex_normals(V, faces, weld)).astype(np.float32)
    h, w = raster.depth.shape
    px = np.clip(np.round(xy).astype(np.int64), 0, [w - 1, h - 1])
    drawn = raster.face_id[px[:, 1], px[:, 0]] >= 0
    seen = drawn & (np.abs(raster.depth[px[:, 1], px[:, 0]] - z) < seen_tol_m)
    occ0 = np.where(seen, occlusion_at(contact_occlusion(raster.depth, raster.face_id >= 0), xy), 1.0)
    used = np.unique(faces)
    anchor = (used[cKDTree(body.vertices[used]).query(shell_rest)[1]] if len(shell_rest)
              else np.zeros(0, np.int64)).astype(np.int64)
    return weld, facing0, occ0.astype(np.float32), anchor


def facing(camera, V: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(V,) cosine between each normal and the direction to the camera, clipped to [0, 1]."""
    c = camera.to_camera(V)
    view = -c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    return np.clip(np.einsum("ij,ij->i", normals @ np.asarray(camera.R).T, view), 0.0, 1.0)


def ratio_shading(facing_now: np.ndarray, facing_photo: np.ndarray) -> np.ndarray:
    """(V,) brightness factor L(now) / L(photo) (module doc), within [RATIO_LO, RATIO_HI]; 1 where
    the facing is the photo's."""
    light = lambda f: AMBIENT + (1.0 - AMBIENT) * np.maximum(f, FACING_FLOOR)  # noqa: E731
    return np.clip(light(facing_now) / light(facing_photo), RATIO_LO, RATIO_HI).astype(np.float32)


def occlusion_at(occ: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(V,) the occlusion map ``occ`` (h,w) at pixels ``xy`` (V,2), nearest pixel; 1 outside."""
    h, w = occ.shape
    x, y = np.round(xy[:, 0]).astype(np.int64), np.round(xy[:, 1]).astype(np.int64)
    ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    out = np.ones(len(xy), np.float32)
    out[ok] = occ[y[ok], x[ok]]
    return out


def contact_occlusion(depth: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """(h,w) float32 factor (1: unoccluded) from a depth raster and its coverage mask. An edge is
    where a pixel's neighbour is nearer by a jump (another part in front: a surface sloping away,
    the rim of a limb, changes far less from one pixel to the next); the darkening spreads from
    such edges over the pixels within the band that lie behind the nearest surface there."""
    import cv2

    area = float(covered.sum())
    out = np.ones(depth.shape, np.float32)
    if area < 16:
        return out
    r = max(1, int(round(OCC_RADIUS * np.sqrt(area))))
    d = np.where(covered, depth, 1e6).astype(np.float32)
    jump = (d - cv2.erode(d, np.ones((3, 3), np.uint8))) * covered
    edge = np.clip((jump - OCC_NEAR_M) / OCC_RAMP_M, 0.0, 1.0)
    edge *= np.clip((OCC_FAR_M[1] - jump) / (OCC_FAR_M[1] - OCC_FAR_M[0]), 0.0, 1.0)
    # square windows (constant time per pixel in OpenCV; a disc cost 7 ms a frame at 512 px),
    # softened by the blur after, which runs at half size
    win = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * r + 1, 2 * r + 1))
    behind = (d - cv2.erode(d, win)) > OCC_NEAR_M
    gap = cv2.dilate(edge, win) * (behind & covered)
    h, w = gap.shape
    small = cv2.resize(gap.astype(np.float32), ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), max(0.5, r / 4.0))
    gap = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    out -= OCC_STRENGTH * gap * covered
    return out
