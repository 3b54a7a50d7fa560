"""What the person has beyond the body: hair, loose clothes, a held thing (issue 13, item 1).

The fitted body is a set of tubes; the person's mask is more than that. Every mask pixel outside
the body's silhouette belongs to the *shell*: a grid mesh over those pixels (a few pixels a cell),
textured with the photo's own pixels. Each grid vertex is tied to the nearest body surface point
in the photo (Photo Wake-Up's idea of attaching the cut-out to the body, here per vertex): it
takes that point's skinning weights, sits at its depth (a little behind it, so the body's own
parts pass in front) and is inverse-skinned into the rest pose. A frame then skins the shell with
the same joint transforms as the body, and both are rasterized together with one z-buffer.

The grid reaches a few pixels under the body's edge so no crack opens between the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BEHIND_M = 0.01        # the shell sits this far behind the body point it follows
OVERLAP_PX = 3         # the shell reaches under the body's edge (photo pixels)


@dataclass
class Shell:
    rest: np.ndarray       # (N,3) rest-pose positions of the grid vertices
    weights: np.ndarray    # (N,24) skinning weights
    photo_xy: np.ndarray   # (N,2) float32 where each vertex is in the photo (texture coordinates)
    faces: np.ndarray      # (M,3) int32 triangles over the vertices

    @property
    def empty(self) -> bool:
        return len(self.faces) == 0


def build_shell(fit, mask: np.ndarray, raster=None, max_cells: int = 20000) -> Shell:
    """The shell of ``fit`` (a BodyFit) over the person ``mask`` (h,w) at the fit's camera size."""
    import cv2
    from scipy.ndimage import distance_transform_edt

    from ..body.builtin_mesh import skin
    from ..body.fit import _offsets_of, render_photo_raster

    body = fit.body()
    cam = fit.camera
    if raster is None:
        raster, *_ = render_photo_raster(fit)
    on_body = raster.face_id >= 0
    person = np.asarray(mask) > 0.5
    h, w = person.shape
    inner = cv2.erode(on_body.astype(np.uint8), np.ones((2 * OVERLAP_PX + 1,) * 2, np.uint8)) > 0
    region = person & ~inner
    if not region.any() or not on_body.any():
        return Shell(np.zeros((0, 3)), np.zeros((0, 24)), np.zeros((0, 2), np.float32), np.zeros((0, 3), np.int32))
    ys = np.nonzero(person.any(1))[0]
    g = max(2, int(round((ys.max() - ys.min()) / 160)))
    # grid cells (corner at (i*g, j*g)) that contain a region pixel
    nx, ny = (w + g - 1) // g, (h + g - 1) // g
    pad = np.zeros((ny * g, nx * g), bool)
    pad[:h, :w] = region
    cells = pad.reshape(ny, g, nx, g).any(axis=(1, 3))
    while cells.sum() > max_cells:      # a huge photo of loose clothes: coarser cells
        g *= 2
        nx, ny = (w + g - 1) // g, (h + g - 1) // g
        pad = np.zeros((ny * g, nx * g), bool)
        pad[:h, :w] = region
        cells = pad.reshape(ny, g, nx, g).any(axis=(1, 3))
    cj, ci = np.nonzero(cells)
    # vertices: the cells' corners, shared
    corners = np.zeros((ny + 1, nx + 1), bool)
    for dj in (0, 1):
        for di in (0, 1):
            corners[cj + dj, ci + di] = True
    vid = -np.ones(corners.shape, np.int64)
    vj, vi = np.nonzero(corners)
    vid[vj, vi] = np.arange(len(vj))
    a, b = vid[cj, ci], vid[cj, ci + 1]
    c, d = vid[cj + 1, ci + 1], vid[cj + 1, ci]
    # two triangles per cell, counter-clockwise on screen as the body's front faces are
    faces = np.concatenate([np.stack([a, c, b], 1), np.stack([a, d, c], 1)]).astype(np.int32)
    vx = np.minimum(vi * g, w - 1).astype(np.float64)
    vy = np.minimum(vj * g, h - 1).astype(np.float64)
    # anchor: the nearest body pixel of each vertex, and the surface point there
    _, (iy, ix) = distance_transform_edt(~on_body, return_indices=True)
    ay, axx = iy[vy.astype(int), vx.astype(int)], ix[vy.astype(int), vx.astype(int)]
    fid = raster.face_id[ay, axx]
    bary = raster.bary[ay, axx].astype(np.float64)
    F = body.faces[fid]
    wts = np.einsum("nk,nkj->nj", bary, body.weights[F])
    wts = smooth_weights(wts, faces, on_body[vy.astype(int), vx.astype(int)])
    Vp = skin(body, fit.pose, fit.trans, _offsets_of(body))
    anchor = np.einsum("nk,nkc->nc", bary, Vp[F])
    za = cam.to_camera(anchor)[:, 2] + BEHIND_M
    # the vertex's own pixel back-projected at the anchor's depth
    pc = np.stack([(vx - cam.cx) / cam.f * za, (vy - cam.cy) / cam.f * za, za], 1)
    world = (pc - cam.t) @ cam.R
    rest = unskin(world, wts, fit, body)
    return Shell(rest=rest, weights=wts, photo_xy=np.stack([vx, vy], 1).astype(np.float32), faces=faces)


SMOOTH_STEPS = 4       # neighbour averagings of the shell's weights (a few cells' reach)


def smooth_weights(wts, faces, fixed, steps: int = SMOOTH_STEPS):
    """The nearest-surface weights averaged over the grid's neighbours, the vertices over the body
    kept. Where the nearest body point jumps from one part to another (between the legs of a side
    view, under an arm) neighbouring vertices would follow different bones and the cells between
    them shear into teeth; averaged, the cells there bend as one sheet."""
    from scipy.sparse import coo_matrix, diags

    n = len(wts)
    i = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2], np.arange(n)])
    j = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0], np.arange(n)])
    adj = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.float64)
    step = diags(1.0 / np.asarray(adj.sum(1)).ravel()) @ adj
    out = wts.copy()
    for _ in range(steps):
        out = np.where(fixed[:, None], wts, step @ out)
    return out


def unskin(world, wts, fit, body):
    """Rest positions that linear blend skinning with ``wts`` takes to ``world`` in the fit's pose."""
    from ..body.fk import forward_kinematics_matrices
    from ..body.fit import _offsets_of
    from ..body.rotations import axis_angle_to_matrix

    pos, rot = forward_kinematics_matrices(axis_angle_to_matrix(fit.pose), fit.trans, _offsets_of(body))
    t = pos - np.einsum("jab,jb->ja", rot, body.rest_joints)
    A = np.concatenate([rot, t[..., None]], axis=-1).reshape(24, 12)
    M = (wts @ A).reshape(-1, 3, 4)
    return np.linalg.solve(M[:, :, :3], (world - M[:, :, 3])[..., None])[..., 0]
