"""OpenPose COCO-18 skeleton images and OpenPose-format JSON keypoints.

The image follows the ControlNet 1.1 annotator's ``draw_bodypose`` look (what
MagicPose/MagicDance and most pose-guided animators were trained on): on a black
canvas each of the 17 limbs is a filled ellipse in its standard colour, the canvas
is then dimmed to 60 %, and the 18 joints are drawn on top as full-colour dots.
Our drawing is our own code: ellipses are polygons computed in float and filled
with OpenCV's sub-pixel ``shift`` so the skeleton sits exactly on the keypoints.
Sizes scale with the image: stick half-width 4 px and dot radius 4 px at 512 px.
"""

from __future__ import annotations

import cv2
import numpy as np

from .colors import COCO18_NAMES, NUM_DRAWN_LIMBS, OPENPOSE_COLORS, OPENPOSE_LIMBS

_SHIFT = 4  # sub-pixel bits for OpenCV's drawing
_ONE = 1 << _SHIFT


def _fix(pts):
    return np.round(np.asarray(pts, np.float64) * _ONE).astype(np.int32)


def draw_skeleton(kps: np.ndarray, conf: np.ndarray, height: int, width: int, *,
                  stick_width: float | None = None, swap_red_blue: bool = False,
                  dim: float = 0.6) -> np.ndarray:
    """RGB (H,W,3) uint8 image of one COCO-18 skeleton.

    kps: (18,2) pixels; conf: (18,) > 0 where the keypoint exists.
    stick_width: half-thickness of a limb in pixels (default 4/512 of the smaller side).
    swap_red_blue: the colours in the original OpenPose (BGR canvas) order.
    """
    s = min(height, width) / 512.0
    sw = 4.0 * s if stick_width is None else float(stick_width)
    radius = max(1.0, 4.0 * s)
    colors = OPENPOSE_COLORS[:, ::-1] if swap_red_blue else OPENPOSE_COLORS
    canvas = np.zeros((height, width, 3), np.uint8)
    t = np.linspace(0, 2 * np.pi, 37)[:-1]
    for i in range(NUM_DRAWN_LIMBS):
        a, b = OPENPOSE_LIMBS[i]
        if conf[a] <= 0 or conf[b] <= 0:
            continue
        p, q = kps[a], kps[b]
        mid = 0.5 * (p + q)
        d = q - p
        half = 0.5 * float(np.hypot(*d))
        ang = np.arctan2(d[1], d[0])
        ca, sa = np.cos(ang), np.sin(ang)
        ex, ey = half * np.cos(t), sw * np.sin(t)
        poly = np.stack([mid[0] + ex * ca - ey * sa, mid[1] + ex * sa + ey * ca], -1)
        cv2.fillConvexPoly(canvas, _fix(poly), tuple(int(c) for c in colors[i]), cv2.LINE_8, _SHIFT)
    canvas = (canvas * dim).astype(np.uint8)
    r = int(round(radius * _ONE))
    for j in range(18):
        if conf[j] <= 0:
            continue
        c = _fix(kps[j])
        cv2.circle(canvas, (int(c[0]), int(c[1])), r, tuple(int(v) for v in colors[j]), -1, cv2.LINE_8, _SHIFT)
    return canvas


def openpose_json(kps: np.ndarray, conf: np.ndarray, width: int, height: int) -> dict:
    """One frame in OpenPose's JSON schema (version 1.3, one person, COCO-18 body).

    Missing keypoints are (0, 0, 0) as OpenPose writes them. ``canvas_width`` /
    ``canvas_height`` are the extra fields ControlNet's pose editors read.
    """
    flat = []
    for (x, y), c in zip(kps, conf):
        if c > 0:
            flat += [float(x), float(y), float(c)]
        else:
            flat += [0.0, 0.0, 0.0]
    person = {
        "person_id": [-1],
        "pose_keypoints_2d": flat,
        "face_keypoints_2d": [],
        "hand_left_keypoints_2d": [],
        "hand_right_keypoints_2d": [],
        "pose_keypoints_3d": [],
        "face_keypoints_3d": [],
        "hand_left_keypoints_3d": [],
        "hand_right_keypoints_3d": [],
    }
    return {"version": 1.3, "people": [person], "canvas_width": int(width), "canvas_height": int(height)}


def validate_openpose_json(d: dict) -> None:
    """Raise ValueError unless ``d`` follows the OpenPose schema with COCO-18 bodies."""
    if not isinstance(d, dict) or "people" not in d or "version" not in d:
        raise ValueError("missing 'version' or 'people'")
    for p in d["people"]:
        k = p.get("pose_keypoints_2d")
        if not isinstance(k, list) or len(k) != 3 * len(COCO18_NAMES):
            raise ValueError("pose_keypoints_2d must hold 18 (x, y, c) triples")
        if not all(isinstance(v, (int, float)) for v in k):
            raise ValueError("pose_keypoints_2d must be numbers")
        for key in ("face_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d"):
            if not isinstance(p.get(key), list):
                raise ValueError(f"{key} must be a list")
