"""A quick look at a dance: a simple shaded body drawn with OpenCV, beats flashed, music muxed.

The body is one capsule per bone (filled, outlined, drawn far to near so limbs
in front cover limbs behind), shaded by depth; the person's left side is blue,
the right side orange, the trunk grey. The camera looks from the front
three-quarter view, slightly from above, and is fixed for the whole clip
(framed once over all frames, so the picture never jitters). The floor grid is
drawn once into a background image; each frame adds a soft shadow under the
body, the body, and a border that flashes on every music beat.

Drawn with OpenCV rather than Blender on purpose: a preview must be instant
(hundreds of frames per second on one core) and need nothing but the motion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

import cv2
import numpy as np

from ..body.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS
from ..errors import BadInput
from ..progress import ProgressFn, null_progress

# Colours (RGB). The flash colour is not used by the body or the floor, so a
# test (or a viewer) can find it.
LEFT_RGB = (60, 130, 235)
RIGHT_RGB = (245, 140, 40)
CENTRE_RGB = (200, 200, 195)
FLASH_RGB = (255, 235, 60)
BG_TOP = (28, 30, 40)
BG_BOTTOM = (55, 58, 70)
GRID_RGB = (95, 100, 115)
SHADOW_RGB = (20, 20, 26)

# Capsule radius (m) of the bone ending at each joint.
_RADIUS = {
    "left_hip": 0.085, "right_hip": 0.085, "spine1": 0.12, "left_knee": 0.07, "right_knee": 0.07,
    "spine2": 0.12, "left_ankle": 0.052, "right_ankle": 0.052, "spine3": 0.12, "left_foot": 0.04,
    "right_foot": 0.04, "neck": 0.06, "left_collar": 0.06, "right_collar": 0.06, "head": 0.055,
    "left_shoulder": 0.06, "right_shoulder": 0.06, "left_elbow": 0.045, "right_elbow": 0.045,
    "left_wrist": 0.037, "right_wrist": 0.037, "left_hand": 0.032, "right_hand": 0.032,
}
HEAD_RADIUS = 0.105
BONES = tuple((PARENTS[j], j) for j in range(1, NUM_JOINTS))
# Side of the bone ending at each joint: 1 left, 2 right, 0 trunk (hip and collar bones belong to the trunk).
_SIDE = np.array([0 if n.endswith(("_hip", "_collar")) else 1 if n.startswith("left_") else 2 if n.startswith("right_") else 0
                  for n in JOINT_NAMES])
FLASH_DECAY = (1.0, 0.6, 0.3)  # flash strength on the beat frame and the two after it


@dataclass
class PreviewCamera:
    """A fixed pinhole camera: world point -> pixel (x right, y down) and depth."""

    position: np.ndarray   # (3,)
    right: np.ndarray      # (3,) unit
    up: np.ndarray         # (3,) unit
    forward: np.ndarray    # (3,) unit
    focal_px: float
    cx: float
    cy: float
    size: int

    @classmethod
    def framing(cls, joints: np.ndarray, size: int = 512, yaw_deg: float = 30.0, pitch_deg: float = 12.0,
                fill: float = 0.86) -> "PreviewCamera":
        """Frame every joint of every frame (plus the body's thickness and the floor under it)."""
        j = np.asarray(joints, np.float64).reshape(-1, NUM_JOINTS, 3)
        pts = j.reshape(-1, 3)
        # Points the drawing reaches beyond the joints: head top, floor under every joint.
        floor = pts.copy()
        floor[:, 1] = 0.0
        head_top = j[:, JOINT_NAMES.index("head")] + np.array([0.0, 0.2, 0.0])
        cloud = np.concatenate([pts, floor, head_top])
        lo, hi = cloud.min(axis=0), cloud.max(axis=0)
        centre = (lo + hi) / 2
        extent = float(np.linalg.norm(hi - lo))
        yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
        direction = np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
        position = centre + direction * max(4.5, 2.2 * extent)
        forward = centre - position
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        cam = cls(position, right, up, forward, 1.0, 0.0, 0.0, size)
        # Fit the normalised image extents of the cloud (with a body-thickness margin) into the frame.
        x, y, z = cam._camera_coords(cloud)
        u, v = x / z, -y / z
        margin = 0.15 / z.min()
        u0, u1 = u.min() - margin, u.max() + margin
        v0, v1 = v.min() - margin, v.max() + margin
        f = fill * size / max(u1 - u0, v1 - v0)
        cam.focal_px = float(f)
        cam.cx = float(size / 2 - f * (u0 + u1) / 2)
        cam.cy = float(size / 2 - f * (v0 + v1) / 2)
        return cam

    def _camera_coords(self, p: np.ndarray):
        d = np.asarray(p, np.float64) - self.position
        return d @ self.right, d @ self.up, d @ self.forward

    def project(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(..., 3) world -> ((..., 2) pixels, (...) depth in metres along the view)."""
        x, y, z = self._camera_coords(p)
        zc = np.maximum(z, 1e-3)
        px = np.stack([self.cx + self.focal_px * x / zc, self.cy - self.focal_px * y / zc], axis=-1)
        return px, z


def _background(cam: PreviewCamera, joints: np.ndarray) -> np.ndarray:
    s = cam.size
    t = np.linspace(0.0, 1.0, s)[:, None, None]
    img = (np.array(BG_TOP)[None, None] * (1 - t) + np.array(BG_BOTTOM)[None, None] * t)
    img = np.repeat(img, s, axis=1).astype(np.uint8)
    # Floor grid (0.5 m) over the area the dance covers, plus a metre around it.
    xz = joints.reshape(-1, 3)[:, [0, 2]]
    (x0, z0), (x1, z1) = np.floor(xz.min(0) - 1.0), np.ceil(xz.max(0) + 1.0)
    step = 0.5
    lines = [((x, z0), (x, z1)) for x in np.arange(x0, x1 + 1e-9, step)]
    lines += [((x0, z), (x1, z)) for z in np.arange(z0, z1 + 1e-9, step)]
    for (ax, az), (bx, bz) in lines:
        seg = np.linspace([ax, 0.0, az], [bx, 0.0, bz], 24)
        px, depth = cam.project(seg)
        keep = depth > 0.3
        pts = np.round(px[keep] * 4).astype(np.int32)
        if len(pts) >= 2:
            cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, GRID_RGB, 1, cv2.LINE_AA, shift=2)
    return img


class PreviewRenderer:
    """Draws frames of one dance with one fixed camera."""

    def __init__(self, joints: np.ndarray, size: int = 512, yaw_deg: float = 30.0):
        j = np.asarray(joints, np.float64)
        if j.ndim != 3 or j.shape[1:] != (NUM_JOINTS, 3) or len(j) == 0:
            raise BadInput(f"joints must have shape (T,24,3), got {j.shape}")
        if size < 32 or size > 4096:
            raise BadInput(f"preview size must be 32..4096 pixels, got {size}")
        self.joints = j
        self.size = int(size)
        self.cam = PreviewCamera.framing(j, self.size, yaw_deg=yaw_deg)
        self.background = _background(self.cam, j)
        _, depth = self.cam.project(j)
        # One depth range for the whole clip, so the shading does not flicker.
        self.depth_lo, self.depth_hi = float(depth.min()) - 0.2, float(depth.max()) + 0.2
        self.radius = np.array([0.0] + [_RADIUS[n] for n in JOINT_NAMES[1:]])
        self.border = max(3, self.size // 40)

    def _shade(self, rgb, depth) -> tuple:
        t = (depth - self.depth_lo) / max(self.depth_hi - self.depth_lo, 1e-6)
        k = 1.0 - 0.45 * float(np.clip(t, 0, 1))  # nearer is brighter
        return tuple(int(c * k) for c in rgb)

    def frame(self, t: int, flash: float = 0.0) -> np.ndarray:
        """The picture (size, size, 3) uint8 RGB of frame ``t``; ``flash`` in [0, 1] lights the border."""
        img = self.background.copy()
        j = self.joints[min(max(t, 0), len(self.joints) - 1)]
        px, depth = self.cam.project(j)
        f = self.cam.focal_px
        # Shadow: a flat ellipse on the floor under the pelvis, smaller when the body is higher.
        pel = j[0]
        ground = np.array([[pel[0], 0.0, pel[2]], [pel[0] + 0.35, 0.0, pel[2]], [pel[0], 0.0, pel[2] + 0.25]])
        gpx, _ = self.cam.project(ground)
        scale = float(np.clip(1.1 - 0.4 * (pel[1] - 0.95), 0.5, 1.2))
        ax = max(1, int(np.linalg.norm(gpx[1] - gpx[0]) * scale))
        ay = max(1, int(np.linalg.norm(gpx[2] - gpx[0]) * scale))
        cv2.ellipse(img, tuple(int(v) for v in gpx[0]), (ax, ay), 0, 0, 360, SHADOW_RGB, -1, cv2.LINE_AA)

        # Items (depth, kind, data) drawn far to near.
        items = []
        for p, c in BONES:
            items.append(((depth[p] + depth[c]) / 2, 0, (p, c)))
        head = JOINT_NAMES.index("head")
        neck = JOINT_NAMES.index("neck")
        axis = j[head] - j[neck]
        centre = j[head] + axis / max(np.linalg.norm(axis), 1e-6) * 0.06
        hpx, hdepth = self.cam.project(centre[None])
        items.append((float(hdepth[0]), 1, (hpx[0], float(hdepth[0]))))
        items.sort(key=lambda it: -it[0])
        for d, kind, data in items:
            if kind == 0:
                p, c = data
                rgb = (LEFT_RGB, RIGHT_RGB, CENTRE_RGB)[(1, 2, 0).index(_SIDE[c])]
                r = self.radius[c] * f / max(d, 0.1)
                thick = max(2, int(round(2 * r)))
                a = tuple(np.round(px[p] * 4).astype(int))
                b = tuple(np.round(px[c] * 4).astype(int))
                cv2.line(img, a, b, (15, 15, 20), thick + 2, cv2.LINE_AA, shift=2)   # outline
                cv2.line(img, a, b, self._shade(rgb, d), thick, cv2.LINE_AA, shift=2)
            else:
                hp, hd = data
                r = max(2, int(round(HEAD_RADIUS * f / max(hd, 0.1))))
                ctr = tuple(int(v) for v in np.round(hp))
                cv2.circle(img, ctr, r + 1, (15, 15, 20), -1, cv2.LINE_AA)
                cv2.circle(img, ctr, r, self._shade(CENTRE_RGB, hd), -1, cv2.LINE_AA)
        if flash > 0:
            col = tuple(int(bg * (1 - flash) + fc * flash) for bg, fc in zip(BG_TOP, FLASH_RGB))
            b = self.border
            s = self.size
            img[:b], img[-b:], img[:, :b], img[:, -b:] = col, col, col, col
        return img


def beat_flash(n_frames: int, beats_s: Optional[Sequence[float]], fps: float) -> np.ndarray:
    """(n_frames,) flash strength: 1 on each beat's frame round(t*fps), fading over the next two."""
    out = np.zeros(n_frames)
    if beats_s is None:
        return out
    for b in np.asarray(beats_s, np.float64):
        f0 = int(round(b * fps))
        for k, v in enumerate(FLASH_DECAY):
            if 0 <= f0 + k < n_frames:
                out[f0 + k] = max(out[f0 + k], v)
    return out


def preview_frames(joints: np.ndarray, fps: float = 30.0, size: int = 512,
                   beats_s: Optional[Sequence[float]] = None, n_frames: Optional[int] = None,
                   progress: Optional[ProgressFn] = None) -> Iterator[np.ndarray]:
    """Yield ``n_frames`` (default: the motion's length) preview frames; past the motion's end the last pose holds."""
    progress = progress or null_progress
    r = PreviewRenderer(joints, size)
    n = len(r.joints) if n_frames is None else int(n_frames)
    flash = beat_flash(n, beats_s, fps)
    for t in range(n):
        if t % 30 == 0:
            progress("draw", t / max(n, 1), f"frame {t}/{n}")
        yield r.frame(t, float(flash[t]))
    progress("draw", 1.0, f"{n} frames")


def make_preview(motion, out_path, music=None, size: int = 512, progress: Optional[ProgressFn] = None) -> Path:
    """Write ``out_path`` (MP4): the dance of ``motion`` (a Motion or a .npz path), beats flashed, music muxed.

    With ``music`` the video lasts as long as the song (the last pose holds if
    the dance is shorter; a longer dance is cut), and every beat found by the
    music analysis flashes the border.
    """
    from ..body.motion_file import Motion, load_motion
    from .writer import decode_audio, write_video

    progress = progress or null_progress
    m = motion if isinstance(motion, Motion) else load_motion(motion)
    beats = None
    n = m.num_frames
    if music is not None:
        decode_audio(music)  # fail fast on a bad song, before the analysis
        from ..audio.analysis import analyze_music

        a = analyze_music(music, progress=progress)
        beats = np.asarray(a.beats_s, np.float64)
        n = max(1, int(round(a.duration_s * m.fps)))
    frames = preview_frames(m.joints, m.fps, size, beats, n, progress=progress)
    return write_video(frames, out_path, fps=m.fps, audio_path=music, progress=progress, n_frames=n)
