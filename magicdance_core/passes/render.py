"""Render every guidance pass of a frame from one rasterization of the posed body.

:class:`PassRenderer` holds the body topology (faces, DensePose part per face,
per-part UV per vertex) and a camera; :meth:`PassRenderer.render` takes one
frame's posed vertices (world, Y up) and joints and returns the requested images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from ..camera import Camera
from . import colors as C
from .keypoints import coco18_world, head_frames
from .openpose import draw_skeleton, openpose_json
from .raster import rasterize, shade_iuv, shade_normals, vertex_normals

IMAGE_PASSES = ("densepose", "iuv", "semantic", "depth", "normal", "mask", "skeleton")
ALL_PASSES = IMAGE_PASSES + ("keypoints",)
DEFAULT_PASSES = ALL_PASSES


def _make_lut(table):
    lut = np.zeros((1, 256, 3), np.uint8)
    lut[0, :len(table)] = table
    return lut


_DP_LUT = _make_lut(C.DENSEPOSE_COLORS)
_SEM_LUT = _make_lut(C.SEMANTIC_PART_COLORS)


def _lut3(part, lut):
    # OpenCV's LUT is ~10x faster than numpy fancy indexing for a 512x512x3 lookup.
    return cv2.LUT(cv2.merge([part, part, part]), lut)


@dataclass
class SkeletonOptions:
    swap_red_blue: bool = False
    stick_width: Optional[float] = None   # pixels; default 4/512 of the smaller side


def weld_index(vertices: np.ndarray, decimals: int = 6) -> np.ndarray:
    """Canonical id per vertex, equal for vertices at the same rest position (UV seams)."""
    _, inv = np.unique(np.round(vertices, decimals), axis=0, return_inverse=True)
    return inv.reshape(-1)


class PassRenderer:
    def __init__(self, faces, face_parts, uv, camera: Camera, rest_vertices=None,
                 skeleton: SkeletonOptions | None = None):
        self.faces = np.ascontiguousarray(faces, np.int32)
        fp = np.asarray(face_parts, np.int64)
        if fp.min() < 1 or fp.max() > C.NUM_PARTS:
            raise ValueError("face part ids must be 1..24")
        self.part_lut = np.concatenate([[0], fp]).astype(np.uint8)   # index face_id + 1
        self.uv = np.asarray(uv, np.float32)
        self.camera = camera
        self.skeleton = skeleton or SkeletonOptions()
        nv = int(self.faces.max()) + 1
        self.weld = (weld_index(rest_vertices) if rest_vertices is not None else np.arange(nv))
        self.n_weld = int(self.weld.max()) + 1

    # ---------------------------------------------------------------------------
    def vertex_normals(self, verts: np.ndarray) -> np.ndarray:
        """Smooth unit normals (V,3); seams share the normal of their welded position."""
        return vertex_normals(verts, self.faces, self.weld, self.n_weld)

    def keypoints(self, joints, global_rots=None):
        """COCO-18 pixels (18,2) and confidences (18,) (0 = not visible / off-image)."""
        cam = self.camera
        kw = coco18_world(joints, global_rots)
        kp, z = cam.project(kw, return_depth=True)
        conf = np.ones(18)
        # Face points are hidden when they turn away: nose/eyes with the face, an ear with its side.
        Rh = head_frames(joints, global_rots)
        to_cam = cam.position - kw[0]
        to_cam /= np.linalg.norm(to_cam)
        if Rh[:, 2] @ to_cam < -0.1:
            conf[[0, 14, 15]] = 0
        if Rh[:, 0] @ to_cam < -0.5:      # head's left axis away from camera: left ear hidden
            conf[17] = 0
        if -Rh[:, 0] @ to_cam < -0.5:
            conf[16] = 0
        inside = (z > 1e-4) & (kp[:, 0] >= 0) & (kp[:, 0] <= cam.width - 1) & (kp[:, 1] >= 0) & (kp[:, 1] <= cam.height - 1)
        conf[~inside] = 0
        return kp, conf

    def render(self, verts: np.ndarray, joints: np.ndarray, global_rots=None,
               passes=DEFAULT_PASSES) -> dict:
        """Images (uint8 RGB / gray, uint16 for IUV) and the keypoints dict of one frame."""
        cam = self.camera
        H, W = cam.height, cam.width
        out = {}
        need_raster = any(p in passes for p in ("densepose", "iuv", "semantic", "depth", "normal", "mask"))
        if need_raster:
            c = cam.to_camera(verts)
            z = c[:, 2]
            zs = np.where(np.abs(z) < 1e-9, 1e-9, z)
            xy = np.stack([cam.f * c[:, 0] / zs + cam.cx, cam.f * c[:, 1] / zs + cam.cy], -1)
            r = rasterize(xy, z, self.faces, H, W)
            part = self.part_lut[r.face_id + 1]
            mask = r.face_id >= 0
            if "densepose" in passes:
                out["densepose"] = _lut3(part, _DP_LUT)
            if "semantic" in passes:
                out["semantic"] = _lut3(part, _SEM_LUT)
            if "mask" in passes:
                out["mask"] = mask.astype(np.uint8) * 255
            if "depth" in passes:
                d = np.zeros((H, W), np.uint8)
                if mask.any():
                    zb = r.depth[mask]
                    lo, hi = zb.min(), zb.max()
                    # nearest 255, farthest body pixel 1, background 0
                    val = 255.0 - 254.0 * (zb - lo) / max(hi - lo, 1e-9)
                    d[mask] = np.clip(np.floor(val + 0.5), 1, 255).astype(np.uint8)
                out["depth"] = d
            if "normal" in passes:
                vn = self.vertex_normals(verts)
                # to camera axes x right, y up, z toward the viewer (OpenCV's y, z flipped)
                vn = vn @ (cam.R.T * np.array([1.0, -1.0, -1.0]))
                out["normal"] = shade_normals(r, self.faces, vn)
            if "iuv" in passes:
                out["iuv"] = shade_iuv(r, self.faces, self.part_lut, self.uv)
        if "skeleton" in passes or "keypoints" in passes:
            kp, conf = self.keypoints(joints, global_rots)
            if "skeleton" in passes:
                out["skeleton"] = draw_skeleton(kp, conf, H, W, stick_width=self.skeleton.stick_width,
                                                swap_red_blue=self.skeleton.swap_red_blue)
            if "keypoints" in passes:
                out["keypoints"] = openpose_json(kp, conf, W, H)
        return out


def iuv_preview(iuv16: np.ndarray) -> np.ndarray:
    """8-bit view of a 16-bit IUV image for the MP4: (I*255/24, U*255, V*255)."""
    out = np.empty(iuv16.shape, np.uint8)
    out[..., 0] = C.DENSEPOSE_VIRIDIS_INDEX[iuv16[..., 0]]
    out[..., 1:] = (iuv16[..., 1:] >> 8).astype(np.uint8)
    return out
