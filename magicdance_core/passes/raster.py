"""A small z-buffer triangle rasterizer (numba) for the guidance passes.

Why not Blender or OpenGL: Workbench needs a GPU context that a headless CI box does
not have, Cycles/EEVEE are far slower than the 20 frames/s the DensePose-style pass
needs on 2 CPU cores, and no maintained CPU rasterizer on PyPI gives per-pixel
face ids and barycentrics without a GL context. The whole job is ~80 lines of
numba (already installed with librosa), so we write it: one rasterization per
frame yields the face id, perspective-correct barycentrics and depth of every
pixel, and every pass is a table lookup or an interpolation of those
(docs/passes.md has the measurements).

Sampling: one sample at each pixel centre (pixel i covers x in [i-0.5, i+0.5),
its centre at x = i, as in magicdance_core.camera), no anti-aliasing, so the
DensePose-style colours stay exact. A pixel centre exactly on a shared edge is
accepted by both triangles (no cracks); the depth test picks one.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _raster(xy, z, faces, height, width, cull, face_id, bary, zbuf):
    nf = faces.shape[0]
    for f in range(nf):
        i0 = faces[f, 0]
        i1 = faces[f, 1]
        i2 = faces[f, 2]
        z0 = z[i0]
        z1 = z[i1]
        z2 = z[i2]
        if z0 <= 1e-4 or z1 <= 1e-4 or z2 <= 1e-4:
            continue  # behind or at the camera: skip rather than project wrongly
        x0 = xy[i0, 0]
        y0 = xy[i0, 1]
        x1 = xy[i1, 0]
        y1 = xy[i1, 1]
        x2 = xy[i2, 0]
        y2 = xy[i2, 1]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if area == 0.0:
            continue
        # Faces are counter-clockwise seen from outside; with y down on screen the
        # front side has negative signed area.
        if cull and area > 0.0:
            continue
        xmin = max(int(np.ceil(min(x0, x1, x2))), 0)
        xmax = min(int(np.floor(max(x0, x1, x2))), width - 1)
        ymin = max(int(np.ceil(min(y0, y1, y2))), 0)
        ymax = min(int(np.floor(max(y0, y1, y2))), height - 1)
        if xmin > xmax or ymin > ymax:
            continue
        inv = 1.0 / area
        iz0 = 1.0 / z0
        iz1 = 1.0 / z1
        iz2 = 1.0 / z2
        sgn = 1.0 if area > 0 else -1.0
        for py in range(ymin, ymax + 1):
            for px in range(xmin, xmax + 1):
                # edge functions (barycentric numerators)
                w0 = (x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)
                w1 = (x0 - x2) * (py - y2) - (y0 - y2) * (px - x2)
                w2 = (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)
                w0 *= sgn
                w1 *= sgn
                w2 *= sgn
                if w0 < 0.0 or w1 < 0.0 or w2 < 0.0:
                    continue
                b0 = w0 * inv * sgn
                b1 = w1 * inv * sgn
                b2 = 1.0 - b0 - b1
                # depth is linear in 1/z across the screen (perspective)
                izp = b0 * iz0 + b1 * iz1 + b2 * iz2
                zp = 1.0 / izp
                if zp < zbuf[py, px]:
                    zbuf[py, px] = zp
                    face_id[py, px] = f
                    bary[py, px, 0] = b0 * iz0 * zp
                    bary[py, px, 1] = b1 * iz1 * zp
                    bary[py, px, 2] = b2 * iz2 * zp


class Raster:
    """Per-pixel face id (-1 = background), perspective-correct barycentrics, depth."""

    __slots__ = ("face_id", "bary", "depth")

    def __init__(self, face_id, bary, depth):
        self.face_id = face_id
        self.bary = bary
        self.depth = depth

    @property
    def mask(self) -> np.ndarray:
        return self.face_id >= 0


def rasterize(xy: np.ndarray, z: np.ndarray, faces: np.ndarray, height: int, width: int,
              cull_backfaces: bool = True) -> Raster:
    """Rasterize triangles given screen positions xy (V,2) in pixels and camera depth z (V,)."""
    face_id = np.full((height, width), -1, np.int32)
    bary = np.zeros((height, width, 3), np.float32)
    zbuf = np.full((height, width), np.inf, np.float64)
    _raster(np.ascontiguousarray(xy, np.float64), np.ascontiguousarray(z, np.float64),
            np.ascontiguousarray(faces, np.int32), int(height), int(width), bool(cull_backfaces),
            face_id, bary, zbuf)
    return Raster(face_id, bary, zbuf)


@njit(cache=True, nogil=True)
def _normals(verts, faces, weld, n_weld, out):
    acc = np.zeros((n_weld, 3))
    for f in range(faces.shape[0]):
        i0 = faces[f, 0]
        i1 = faces[f, 1]
        i2 = faces[f, 2]
        ax = verts[i1, 0] - verts[i0, 0]
        ay = verts[i1, 1] - verts[i0, 1]
        az = verts[i1, 2] - verts[i0, 2]
        bx = verts[i2, 0] - verts[i0, 0]
        by = verts[i2, 1] - verts[i0, 1]
        bz = verts[i2, 2] - verts[i0, 2]
        nx = ay * bz - az * by    # area-weighted face normal
        ny = az * bx - ax * bz
        nz = ax * by - ay * bx
        for i in (i0, i1, i2):
            w = weld[i]
            acc[w, 0] += nx
            acc[w, 1] += ny
            acc[w, 2] += nz
    for w in range(n_weld):
        n = np.sqrt(acc[w, 0] ** 2 + acc[w, 1] ** 2 + acc[w, 2] ** 2)
        if n > 1e-12:
            acc[w] /= n
    for v in range(verts.shape[0]):
        out[v] = acc[weld[v]]


def vertex_normals(verts: np.ndarray, faces: np.ndarray, weld: np.ndarray, n_weld: int) -> np.ndarray:
    """Smooth unit vertex normals (V,3); vertices with the same weld id share one normal."""
    out = np.zeros((len(verts), 3))
    _normals(np.ascontiguousarray(verts, np.float64), np.ascontiguousarray(faces, np.int32),
             np.ascontiguousarray(weld, np.int64), int(n_weld), out)
    return out


@njit(cache=True, nogil=True)
def _iuv(face_id, bary, faces, part_lut, uv, out):
    H, W = face_id.shape
    for y in range(H):
        for x in range(W):
            f = face_id[y, x]
            if f < 0:
                continue
            a = faces[f, 0]
            b = faces[f, 1]
            c = faces[f, 2]
            b0 = bary[y, x, 0]
            b1 = bary[y, x, 1]
            b2 = bary[y, x, 2]
            out[y, x, 0] = part_lut[f + 1]
            for k in range(2):
                v = (uv[a, k] * b0 + uv[b, k] * b1 + uv[c, k] * b2) * 65535.0 + 0.5
                out[y, x, k + 1] = min(max(int(np.floor(v)), 0), 65535)


def shade_iuv(r: Raster, faces, part_lut, uv) -> np.ndarray:
    """(H,W,3) uint16: part index, U and V scaled to 0..65535 (0 on the background)."""
    H, W = r.face_id.shape
    out = np.zeros((H, W, 3), np.uint16)
    _iuv(r.face_id, r.bary, np.ascontiguousarray(faces, np.int32), part_lut,
         np.ascontiguousarray(uv, np.float64), out)
    return out


@njit(cache=True, nogil=True)
def _normal_img(face_id, bary, faces, vn, out):
    H, W = face_id.shape
    for y in range(H):
        for x in range(W):
            f = face_id[y, x]
            if f < 0:
                continue
            a = faces[f, 0]
            b = faces[f, 1]
            c = faces[f, 2]
            b0 = bary[y, x, 0]
            b1 = bary[y, x, 1]
            b2 = bary[y, x, 2]
            nx = vn[a, 0] * b0 + vn[b, 0] * b1 + vn[c, 0] * b2
            ny = vn[a, 1] * b0 + vn[b, 1] * b1 + vn[c, 1] * b2
            nz = vn[a, 2] * b0 + vn[b, 2] * b1 + vn[c, 2] * b2
            n = np.sqrt(nx * nx + ny * ny + nz * nz)
            if n < 1e-12:
                n = 1.0
            out[y, x, 0] = min(max(int(np.floor((nx / n + 1.0) * 127.5 + 0.5)), 0), 255)
            out[y, x, 1] = min(max(int(np.floor((ny / n + 1.0) * 127.5 + 0.5)), 0), 255)
            out[y, x, 2] = min(max(int(np.floor((nz / n + 1.0) * 127.5 + 0.5)), 0), 255)


def shade_normals(r: Raster, faces, vn_cam) -> np.ndarray:
    """(H,W,3) uint8 normal image from per-vertex camera-space normals (x right, y up, z to viewer)."""
    H, W = r.face_id.shape
    out = np.zeros((H, W, 3), np.uint8)
    _normal_img(r.face_id, r.bary, np.ascontiguousarray(faces, np.int32),
                np.ascontiguousarray(vn_cam, np.float64), out)
    return out
