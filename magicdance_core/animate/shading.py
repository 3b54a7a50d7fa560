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
- **contact occlusion**: where a part lies in front of another (an arm over the chest), the part
  behind darkens in a soft band beside the front part's edge (screen-space ambient occlusion,
  after Bavoil & Sainz's horizon idea reduced to a min-depth filter), divided by the occlusion
  the same surface point had in the photo (whose pixels already hold that shadow).

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
OCC_NEAR_M = 0.02    # depth gap that starts to occlude (m)
OCC_RAMP_M = 0.08    # ... and fully occludes
OCC_RADIUS = 0.035   # band width, fraction of the square root of the body's pixel area


def smooth_groups(rest_vertices: np.ndarray) -> np.ndarray:
    """(V,) index of each vertex's group of coincident vertices (the mesh's parts are cut along
    their seams, each part with its own UVs): normals are averaged over a group so the shading is
    smooth across a seam."""
    key = np.round(np.asarray(rest_vertices, np.float64) * 2000.0).astype(np.int64)   # 0.5 mm
    _, inv = np.unique(key, axis=0, return_inverse=True)
    return inv.reshape(-1)


def vertex_normals(V: np.ndarray, faces: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(V,3) unit area-weighted vertex normals of triangles ``faces`` over ``V``, shared over
    ``groups``. Vertices of no triangle get (0, 0, 0)."""
    p = V[faces]
    fn = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])          # (F,3), length = 2 x area
    g = groups[faces].reshape(-1)
    n_groups = int(groups.max()) + 1
    acc = np.stack([np.bincount(g, np.repeat(fn[:, k], 3), minlength=n_groups) for k in range(3)], 1)
    n = acc[groups]
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


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
    """(h,w) float32 factor (1: unoccluded) from a depth raster and its coverage mask: a pixel
    darkens with how far behind the nearest surface within the band it lies."""
    import cv2

    area = float(covered.sum())
    out = np.ones(depth.shape, np.float32)
    if area < 16:
        return out
    r = max(1, int(round(OCC_RADIUS * np.sqrt(area))))
    d = np.where(covered, depth, 1e6).astype(np.float32)
    # a square window (OpenCV erodes with it in constant time per pixel; a disc cost 7 ms a
    # frame at 512 px), softened by the blur after it, which runs at half size
    nearest = cv2.erode(d, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * r + 1, 2 * r + 1)))
    gap = np.clip((d - nearest - OCC_NEAR_M) / OCC_RAMP_M, 0.0, 1.0) * covered
    h, w = gap.shape
    small = cv2.resize(gap, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), max(0.5, r / 4.0))
    gap = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    out -= OCC_STRENGTH * gap * covered
    return out
