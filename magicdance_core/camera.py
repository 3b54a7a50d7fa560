"""Pinhole camera for the guidance passes: projection, full-body framing, photo alignment.

Conventions
-----------
* World: SMPL's frame (Y up, metres, floor y = 0, the body faces +Z, its left is +X).
* Camera coordinates are OpenCV's: x right, y down, z forward (into the scene);
  ``R`` (3,3) and ``t`` (3,) map world to camera: ``X_cam = R @ X_world + t``.
* Pixels: x right, y down, the centre of pixel column ``i`` at x = i (OpenCV's drawing
  convention); square pixels (one focal length ``f``), so nothing is ever stretched:
  a non-square image shows more of the scene on its longer side (padding).
* One camera serves a whole clip: it is fixed (no per-frame extrinsics, no jitter).

Photo alignment (:func:`align_to_photo`) places a level camera in front of the
dancer's frame-0 pose so that its projection lands on the photo's person: the hip
centre exactly (the shoulder centre for half-body photos), the overall scale from
a weighted fit of shoulder width, torso length, head size and body height, kept
within 4 % of the photo's shoulder width (unless the shoulders are clearly
foreshortened, a person turned sideways: then torso and height set the scale). The residual head offset and scale are
reported (the built-in animator keeps the photo's face rigid and moves it with the
head, as MagicDance aligns the head). Landmarks are mediapipe Pose's 33, in pixels.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .errors import BadInput
from .body.skeleton import JOINT_INDEX

J = JOINT_INDEX
UP = np.array([0.0, 1.0, 0.0])

# mediapipe Pose landmark indices used here (the person's own left/right).
MP = dict(nose=0, left_eye=2, right_eye=5, left_ear=7, right_ear=8, left_shoulder=11,
          right_shoulder=12, left_hip=23, right_hip=24, left_knee=25, right_knee=26,
          left_ankle=27, right_ankle=28, left_heel=29, right_heel=30)
VISIBLE = 0.5
# Photo shoulders narrower than this fraction of what the torso/height imply: turned sideways.
TURNED_RATIO = 0.7

# Body margin around each joint (metres) for framing: the skin and clothes around
# the skeleton, the head around its joint (raised: the joint sits low in the head),
# the fingers beyond the hand joint, the sole below the ankle.
_RADII = np.full(24, 0.12)
_RADII[[J["left_hand"], J["right_hand"]]] = 0.12
_RADII[[J["left_wrist"], J["right_wrist"], J["left_elbow"], J["right_elbow"]]] = 0.08
_RADII[[J["left_ankle"], J["right_ankle"], J["left_foot"], J["right_foot"]]] = 0.10
_RADII[J["head"]] = 0.15
_HEAD_RAISE = 0.08


@dataclass
class Camera:
    width: int
    height: int
    f: float                      # focal length in pixels (square pixels)
    cx: float
    cy: float
    R: np.ndarray                 # (3,3) world -> camera (OpenCV axes)
    t: np.ndarray                 # (3,)
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.R = np.asarray(self.R, dtype=np.float64).reshape(3, 3)
        self.t = np.asarray(self.t, dtype=np.float64).reshape(3)
        self.width, self.height = int(self.width), int(self.height)
        self.f, self.cx, self.cy = float(self.f), float(self.cx), float(self.cy)

    # -- geometry ---------------------------------------------------------------
    @property
    def K(self) -> np.ndarray:
        return np.array([[self.f, 0, self.cx], [0, self.f, self.cy], [0, 0, 1.0]])

    @property
    def position(self) -> np.ndarray:
        return -self.R.T @ self.t

    @property
    def right(self) -> np.ndarray:
        return self.R[0].copy()

    @property
    def up(self) -> np.ndarray:
        return -self.R[1]

    @property
    def forward(self) -> np.ndarray:
        """Viewing direction (world)."""
        return self.R[2].copy()

    @property
    def fov_x_deg(self) -> float:
        return math.degrees(2 * math.atan(self.width / 2 / self.f))

    @property
    def fov_y_deg(self) -> float:
        return math.degrees(2 * math.atan(self.height / 2 / self.f))

    def to_camera(self, points) -> np.ndarray:
        """World points (...,3) -> OpenCV camera coordinates (...,3)."""
        p = np.asarray(points, dtype=np.float64)
        return p @ self.R.T + self.t

    def project(self, points, return_depth: bool = False):
        """World points (...,3) -> pixels (...,2) (x right, y down); optionally depth (...)."""
        c = self.to_camera(points)
        z = c[..., 2]
        zs = np.where(np.abs(z) < 1e-9, 1e-9, z)
        uv = np.stack([self.f * c[..., 0] / zs + self.cx, self.f * c[..., 1] / zs + self.cy], axis=-1)
        return (uv, z) if return_depth else uv

    # -- image-space transforms --------------------------------------------------
    def letterbox(self, width: int, height: int) -> "Camera":
        """The same view fitted into a ``width`` x ``height`` image, padded, never stretched.

        Use :func:`letterbox_transform` to place the photo the same way.
        """
        s, ox, oy = letterbox_transform(self.width, self.height, width, height)
        return Camera(width, height, self.f * s, self.cx * s + ox, self.cy * s + oy, self.R, self.t,
                      dict(self.meta))

    # -- serialisation --------------------------------------------------------------
    def to_dict(self) -> dict:
        return dict(width=self.width, height=self.height, f=self.f, cx=self.cx, cy=self.cy,
                    R=self.R.tolist(), t=self.t.tolist(), position=self.position.tolist(),
                    fov_x_deg=self.fov_x_deg, fov_y_deg=self.fov_y_deg, meta=self.meta)

    @classmethod
    def from_dict(cls, d: dict) -> "Camera":
        return cls(d["width"], d["height"], d["f"], d["cx"], d["cy"], d["R"], d["t"], d.get("meta", {}))

    def save(self, path) -> None:
        from .fileio import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path) -> "Camera":
        return cls.from_dict(json.loads(Path(path).read_text()))


# ---------------------------------------------------------------------------------
# Intrinsics and extrinsics helpers
# ---------------------------------------------------------------------------------
def focal_from_fov(fov_deg: float, width: int, height: int, axis: str = "larger") -> float:
    """Focal length in pixels for a field of view across the larger/smaller/x/y side."""
    side = {"larger": max(width, height), "smaller": min(width, height), "x": width, "y": height}[axis]
    return side / 2 / math.tan(math.radians(fov_deg) / 2)


def focal_from_mm(focal_mm: float, sensor_mm: float, width: int, height: int) -> float:
    """Focal length in pixels from a lens and sensor width in mm (Blender's sensor fit AUTO:
    the sensor spans the larger image side)."""
    return focal_mm / sensor_mm * max(width, height)


def look_rotation(view_dir, up=UP) -> np.ndarray:
    """World->camera rotation (OpenCV axes) for a camera looking along ``view_dir``."""
    d = np.asarray(view_dir, dtype=np.float64)
    d = d / np.linalg.norm(d)
    r = np.cross(d, up)
    if np.linalg.norm(r) < 1e-8:
        raise BadInput("camera view direction is parallel to the up axis")
    r /= np.linalg.norm(r)
    u = np.cross(r, d)
    return np.stack([r, -u, d])


def make_camera(width, height, f, position, view_dir, meta=None) -> Camera:
    R = look_rotation(view_dir)
    return Camera(width, height, f, (width - 1) / 2, (height - 1) / 2, R, -R @ np.asarray(position, float),
                  meta or {})


def letterbox_transform(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[float, float, float]:
    """Scale and offset (s, ox, oy) that fit a src image centred into dst, padding the rest.

    A pixel (x, y) of the source lands at (x*s + ox, y*s + oy) of the destination
    (pixel centres at integers, so the centres of both images coincide).
    """
    s = min(dst_w / src_w, dst_h / src_h)
    return s, (dst_w - 1) / 2 - (src_w - 1) / 2 * s, (dst_h - 1) / 2 - (src_h - 1) / 2 * s


# ---------------------------------------------------------------------------------
# Full-body framing over a whole clip
# ---------------------------------------------------------------------------------
def facing(joints0: np.ndarray) -> np.ndarray:
    from .passes.keypoints import facing as _facing

    return _facing(joints0)


def _front_view_dir(joints0) -> np.ndarray:
    """Horizontal direction looking at the front of a pose; +Z's front when it has none
    (a body lying or with hips and shoulders vertical)."""
    f = facing(joints0)
    if not np.all(np.isfinite(f)) or np.linalg.norm(f) < 0.5:
        return np.array([0.0, 0.0, -1.0])
    return -f


def _body_spheres(joints: np.ndarray):
    joints = np.asarray(joints, dtype=np.float64).reshape(-1, 24, 3)
    centres = joints.copy()
    centres[:, J["head"], 1] += _HEAD_RAISE
    radii = np.broadcast_to(_RADII, joints.shape[:2])
    return centres.reshape(-1, 3), radii.reshape(-1)


def _check_joints(joints, what="joints"):
    a = np.asarray(joints, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[1:] != (24, 3) or a.shape[0] == 0:
        raise BadInput(f"{what} must be (T,24,3), got {np.shape(joints)}")
    if not np.all(np.isfinite(a)):
        raise BadInput(f"{what} contain NaN or infinite values")
    return a


def frame_motion(joints, width: int = 512, height: int = 512, *, fov_deg: float = 30.0,
                 pad: float = 0.04, view_dir=None, iterations: int = 4) -> Camera:
    """A fixed, level camera that keeps the whole body in view on every frame.

    joints: (T,24,3) world joints of the whole clip. The camera looks at the dancer's
    frame-0 front (``view_dir`` = -facing(frame 0) unless given) with ``fov_deg``
    across the image's smaller side; its distance and lateral/vertical offset are
    chosen so that the body (joints plus a body margin: head, hands, feet, skin) of
    every frame lies inside the image with ``pad`` x min(width, height) pixels to spare,
    centred. Any aspect ratio: square pixels, the extra side is padding.
    """
    joints = _check_joints(joints)
    if width < 8 or height < 8:
        raise BadInput(f"image size {width}x{height} is too small")
    d = _front_view_dir(joints[0]) if view_dir is None else np.asarray(view_dir, float)
    d = d - UP * (d @ UP)
    if np.linalg.norm(d) < 1e-6:
        raise BadInput("the camera view direction must not be vertical")
    R = look_rotation(d)
    r, u, d = R[0], -R[1], R[2]
    f = focal_from_fov(fov_deg, width, height, axis="smaller")
    P, rad = _body_spheres(joints)
    c = P.mean(axis=0)
    xs, ys, zs = (P - c) @ r, (P - c) @ u, (P - c) @ d
    mpx = pad * min(width, height)
    hx, hy = (width - 1) / 2 - mpx, (height - 1) / 2 - mpx
    ox = oy = 0.0
    for _ in range(iterations):
        # minimal distance D with every sphere inside: f*(|x-ox|+r)/(D+z-r) <= hx
        D = max(np.max(f * (np.abs(xs - ox) + rad) / hx - zs + rad),
                np.max(f * (np.abs(ys - oy) + rad) / hy - zs + rad))
        Z = D + zs
        # centre the projected extent (shift by the mid-point, converted at mean depth)
        lo_x, hi_x = np.min((xs - ox - rad) / (Z - rad)), np.max((xs - ox + rad) / (Z - rad))
        lo_y, hi_y = np.min((ys - oy - rad) / (Z - rad)), np.max((ys - oy + rad) / (Z - rad))
        ox += (lo_x + hi_x) / 2 * D
        oy += (lo_y + hi_y) / 2 * D
    D = max(np.max(f * (np.abs(xs - ox) + rad) / hx - zs + rad),
            np.max(f * (np.abs(ys - oy) + rad) / hy - zs + rad))
    pos = c + ox * r + oy * u - D * d
    return make_camera(width, height, f, pos, d, dict(kind="framing", fov_deg=fov_deg, pad=pad,
                                                       frames=int(joints.shape[0])))


# ---------------------------------------------------------------------------------
# Alignment to a reference photo
# ---------------------------------------------------------------------------------
@dataclass
class Landmarks:
    """mediapipe Pose's 33 landmarks of a photo: points (33,2) in pixels, visibility (33,)."""
    points: np.ndarray
    visibility: np.ndarray
    width: int
    height: int

    def vis(self, name: str) -> bool:
        return bool(self.visibility[MP[name]] >= VISIBLE)

    def p(self, name: str) -> np.ndarray:
        return self.points[MP[name]]

    def mid(self, a: str, b: str) -> np.ndarray:
        return 0.5 * (self.p(a) + self.p(b))


def make_landmarks(points, width: int, height: int, visibility=None) -> Landmarks:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] != 33 or pts.shape[1] not in (2, 3, 4):
        raise BadInput(f"landmarks must be 33 rows of [x, y(, visibility)], got shape {pts.shape}")
    if visibility is None:
        visibility = pts[:, 2] if pts.shape[1] == 3 else (pts[:, 3] if pts.shape[1] == 4 else np.ones(33))
    vis = np.asarray(visibility, dtype=np.float64).reshape(33)
    if not (np.all(np.isfinite(pts[:, :2])) and np.all(np.isfinite(vis))):
        raise BadInput("landmarks contain NaN or infinite values")
    if int(width) < 8 or int(height) < 8:
        raise BadInput(f"photo size {width}x{height} is too small")
    return Landmarks(pts[:, :2].copy(), vis, int(width), int(height))


def load_landmarks_json(path) -> Landmarks:
    """Read the landmarks JSON format (docs/passes.md)::

        {"image_size": [W, H],
         "landmarks": [[x_px, y_px, visibility], ... 33 rows in mediapipe Pose order]}

    ``"width"``/``"height"`` keys may replace ``image_size``; rows may be objects
    ``{"x":..,"y":..,"visibility":..}``; ``"normalized": true`` means x, y in [0,1].
    """
    from .fileio import require_file

    p = require_file(path, "landmarks JSON")
    try:
        d = json.loads(p.read_text())
        if "image_size" in d:
            w, h = d["image_size"]
        else:
            w, h = d["width"], d["height"]
        rows = d["landmarks"]
        if rows and isinstance(rows[0], dict):
            rows = [[r["x"], r["y"], r.get("visibility", 1.0)] for r in rows]
        pts = np.asarray(rows, dtype=np.float64)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: not a landmarks JSON ({type(e).__name__}: {e})") from None
    if pts.ndim == 2 and pts.shape[1] >= 2 and d.get("normalized", False):
        pts[:, 0] *= w
        pts[:, 1] *= h
    return make_landmarks(pts, w, h)


def save_landmarks_json(lm: Landmarks, path) -> None:
    from .fileio import atomic_write_text

    rows = [[float(x), float(y), float(v)] for (x, y), v in zip(lm.points, lm.visibility)]
    atomic_write_text(path, json.dumps(dict(image_size=[lm.width, lm.height], landmarks=rows)))


@dataclass
class Alignment:
    camera: Camera
    anchor: str                   # "hips" or "shoulders" (half-body photo)
    half_body: bool
    scale_terms: dict             # measure -> photo / dancer ratio before the fit
    hip_error_px: float           # |projected anchor - photo anchor| after the fit
    shoulder_width_ratio: float   # projected / photo (1 = exact); nan if shoulders hidden
    head_offset_px: tuple         # projected nose - photo nose (x, y); nan if hidden
    head_size_ratio: float        # projected / photo ear-to-ear (or eye) distance
    notes: list = field(default_factory=list)   # what did not fit, in words

    def to_dict(self) -> dict:
        return dict(camera=self.camera.to_dict(), anchor=self.anchor, half_body=self.half_body,
                    scale_terms=self.scale_terms, hip_error_px=self.hip_error_px,
                    shoulder_width_ratio=self.shoulder_width_ratio,
                    head_offset_px=list(self.head_offset_px), head_size_ratio=self.head_size_ratio,
                    notes=list(self.notes))


def _dancer_points(joints0, rots0):
    from .passes.keypoints import head_points

    hp = head_points(joints0, rots0)
    j = joints0
    return dict(
        hips=0.5 * (j[J["left_hip"]] + j[J["right_hip"]]),
        shoulders=0.5 * (j[J["left_shoulder"]] + j[J["right_shoulder"]]),
        left_shoulder=j[J["left_shoulder"]], right_shoulder=j[J["right_shoulder"]],
        ankles=0.5 * (j[J["left_ankle"]] + j[J["right_ankle"]]),
        nose=hp["nose"], left_ear=hp["left_ear"], right_ear=hp["right_ear"],
        left_eye=hp["left_eye"], right_eye=hp["right_eye"],
    )


def align_to_photo(joints0, landmarks: Landmarks, *, global_rots0=None, focal_px: Optional[float] = None,
                   shoulder_tolerance: float = 0.04, iterations: int = 6) -> Alignment:
    """Camera (at the photo's size) whose view of the frame-0 pose overlays the photo's person.

    joints0: (24,3) frame-0 world joints; global_rots0: optional (24,3,3) global joint
    rotations (head orientation for the face points; estimated from joints otherwise).
    focal_px: the photo's focal length in pixels (default: max side, ~53 degrees, a
    phone's portrait framing). Raises BadInput when the photo shows no shoulders.
    """
    joints0 = _check_joints(joints0, "frame-0 joints")[0]
    lm = landmarks
    W, H = lm.width, lm.height
    if not (lm.vis("left_shoulder") and lm.vis("right_shoulder")):
        raise BadInput("the photo's person shows no shoulders: cannot align the camera "
                       "(a full-body or half-body photo facing the camera is needed)")
    hips_vis = lm.vis("left_hip") and lm.vis("right_hip")
    legs_vis = hips_vis and lm.vis("left_ankle") and lm.vis("right_ankle")
    anchor = "hips" if hips_vis else "shoulders"
    f = float(focal_px) if focal_px else float(max(W, H))
    dp = _dancer_points(joints0, global_rots0)
    target_px = lm.mid("left_hip", "right_hip") if hips_vis else lm.mid("left_shoulder", "right_shoulder")
    anchor_w = dp[anchor]

    # Photo measures (pixels) and their dancer counterparts.
    photo = {"shoulder_width": np.linalg.norm(lm.p("left_shoulder") - lm.p("right_shoulder"))}
    weights = {"shoulder_width": 2.0}
    sh_c = lm.mid("left_shoulder", "right_shoulder")
    if hips_vis:
        photo["torso"] = np.linalg.norm(sh_c - lm.mid("left_hip", "right_hip"))
        weights["torso"] = 2.0
    if lm.vis("nose"):
        photo["neck_to_nose"] = np.linalg.norm(lm.p("nose") - sh_c)
        weights["neck_to_nose"] = 1.0
    head_pair = None
    if lm.vis("left_ear") and lm.vis("right_ear"):
        head_pair = ("left_ear", "right_ear")
    elif lm.vis("left_eye") and lm.vis("right_eye"):
        head_pair = ("left_eye", "right_eye")
    if head_pair:
        photo["head_size"] = np.linalg.norm(lm.p(head_pair[0]) - lm.p(head_pair[1]))
        weights["head_size"] = 0.5
    if legs_vis and lm.vis("nose"):
        photo["height"] = np.linalg.norm(lm.p("nose") - lm.mid("left_ankle", "right_ankle"))
        weights["height"] = 1.5
    photo = {k: v for k, v in photo.items() if v > 1.0}
    if "shoulder_width" not in photo:
        raise BadInput("the photo's shoulders are at the same point: cannot align the camera")

    def measures(cam):
        pp = {k: cam.project(v) for k, v in dp.items()}
        out = {"shoulder_width": np.linalg.norm(pp["left_shoulder"] - pp["right_shoulder"]),
               "torso": np.linalg.norm(pp["shoulders"] - pp["hips"]),
               "neck_to_nose": np.linalg.norm(pp["nose"] - pp["shoulders"]),
               "height": np.linalg.norm(pp["nose"] - pp["ankles"])}
        if head_pair:
            out["head_size"] = np.linalg.norm(pp[head_pair[0]] - pp[head_pair[1]])
        return out, pp

    d = _front_view_dir(joints0)
    R = look_rotation(d)
    r, u = R[0], -R[1]

    def place(D):
        # anchor at depth D straight in front, then moved so it projects on target_px
        x = (target_px[0] - (W - 1) / 2) * D / f
        y = -(target_px[1] - (H - 1) / 2) * D / f
        pos = anchor_w - x * r - y * u - D * d
        return make_camera(W, H, f, pos, d)

    # Initial depth from shoulder width alone, then refine the weighted log-ratio fit.
    sw_m = np.linalg.norm((dp["left_shoulder"] - dp["right_shoulder"]) - d * ((dp["left_shoulder"] - dp["right_shoulder"]) @ d))
    D = f * max(sw_m, 0.05) / photo["shoulder_width"]
    terms = {}
    turned = False
    for _ in range(iterations):
        cam = place(D)
        m, _ = measures(cam)
        terms = {k: float(photo[k] / m[k]) for k in photo if m.get(k, 0) > 1e-6}
        wsum = sum(weights[k] for k in terms)
        g = math.exp(sum(weights[k] * math.log(terms[k]) for k in terms) / wsum)
        vert = [k for k in ("torso", "height") if k in terms]
        g_vert = math.exp(sum(weights[k] * math.log(terms[k]) for k in vert) / sum(weights[k] for k in vert)) if vert else None
        if g_vert is not None and terms["shoulder_width"] < TURNED_RATIO * g_vert:
            # shoulders far narrower than the torso/height say: the person is turned sideways
            # (foreshortened shoulders), so the vertical measures set the scale
            turned = True
            g = g_vert
        else:
            turned = False
            # keep the shoulder width within tolerance of the photo's
            g = min(max(g, terms["shoulder_width"] / (1 + shoulder_tolerance)),
                    terms["shoulder_width"] / (1 - shoulder_tolerance))
        D /= g
    cam = place(D)
    m, pp = measures(cam)
    cam.meta = dict(kind="photo", anchor=anchor, focal_px=f)
    notes = []
    if turned:
        notes.append("the photo's shoulders look foreshortened (person turned sideways): scaled by torso/height, "
                     "shoulder width not matched")
    ratios = [v for k, v in terms.items() if k != "head_size"]
    if ratios and max(ratios) / min(ratios) > 1.5:
        notes.append("the photo's body proportions differ a lot from the dancer's: "
                     + ", ".join(f"{k} x{v:.2f}" for k, v in terms.items()))
    nose_off = tuple((pp["nose"] - lm.p("nose")).tolist()) if lm.vis("nose") else (float("nan"),) * 2
    return Alignment(
        camera=cam, anchor=anchor, half_body=not legs_vis, scale_terms=terms,
        hip_error_px=float(np.linalg.norm(pp[anchor] - target_px)),
        shoulder_width_ratio=float(m["shoulder_width"] / photo["shoulder_width"]),
        head_offset_px=nose_off,
        head_size_ratio=float(m["head_size"] / photo["head_size"]) if head_pair else float("nan"),
        notes=notes,
    )


def project_joints(camera: Camera, joints) -> np.ndarray:
    """Pixels (T,24,2) of world joints (T,24,3)."""
    return camera.project(np.asarray(joints, dtype=np.float64))
