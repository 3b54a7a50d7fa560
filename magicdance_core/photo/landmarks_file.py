"""The editable landmarks file: the figure's 33 joints, by name, in the photo's own pixels.

For a drawn or cartoon figure (or a photo the detector misreads) the user gives the joints
themselves, AnimatedDrawings-style: ``magicdance photo`` writes a template (a default skeleton
placed in the figure's silhouette, ``"source": "template"``), the user moves the joints in any
text editor or with the add-on, and ``--landmarks FILE`` uses them instead of detection::

    {"about": "...", "source": "template", "photo": "kid.png", "image_size": [W, H],
     "landmarks": {"nose": [x, y], "left_eye_inner": [x, y], ..., "right_foot_index": [x, y, 0]}}

Coordinates are pixels of the photo file as an image viewer shows it (x right, y down, origin
top-left, after EXIF rotation). A third number is the visibility (1 seen, 0 not in the picture;
default 1). ``left``/``right`` are the figure's own sides (mediapipe's convention), so a figure
facing the viewer has its left side on the image's right. The analysis folder's own
``landmarks.json`` (rows in mediapipe order) is accepted too, scaled by its ``image_size``.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import BadInput
from ..fileio import PathLike, atomic_write_text, require_file

# mediapipe Pose's 33 landmarks in its order (mp.solutions.pose.PoseLandmark, lower-cased);
# written out so reading a file needs no mediapipe import
NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index")
INDEX = {n: i for i, n in enumerate(NAMES)}
VISIBLE = 0.5
# a joint marked not visible may lie outside the picture (legs below a half-body photo's edge),
# but not absurdly far: within this many image sizes of it
OUTSIDE_LIMIT = 1.0

ABOUT = ("MagicDance landmarks: the figure's 33 joints in the photo's pixels (x right, y down, origin top-left). "
         "Move each [x, y] onto the joint; 'left'/'right' are the figure's own sides (its left is on the image's "
         "right when it faces you). A third number 0 marks a joint the picture does not show. "
         "Then run: magicdance photo PHOTO --landmarks THIS_FILE -o DIR (or magicdance dance ... --landmarks THIS_FILE).")


class BadLandmarks(BadInput):
    """A landmarks file with problems: ``headline`` plus one ``details`` line per problem."""

    def __init__(self, headline: str, details: Sequence[str]):
        self.headline = headline
        self.details = list(details)
        super().__init__(f"{headline}: " + "; ".join(self.details))


def write_landmarks_file(path: PathLike, points: np.ndarray, visibility: Optional[np.ndarray],
                         image_size: tuple, *, source: str, photo_name: str = "") -> Path:
    """Write (33,2) ``points`` (pixels of an image ``image_size`` = (W, H)) as an editable file."""
    pts = np.asarray(points, dtype=np.float64).reshape(33, 2)
    vis = np.ones(33) if visibility is None else np.asarray(visibility, dtype=np.float64)
    head = dict(about=ABOUT, source=source, photo=photo_name, image_size=[int(image_size[0]), int(image_size[1])])
    lines = ["{"] + [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()] + [' "landmarks": {']
    for i, (n, (x, y), v) in enumerate(zip(NAMES, pts, vis)):  # one joint per line: easy to edit by hand
        row = [round(float(x), 1), round(float(y), 1)] + ([] if v >= VISIBLE else [0])
        lines.append(f"  {json.dumps(n)}: {json.dumps(row)}" + ("," if i < 32 else ""))
    atomic_write_text(path, "\n".join(lines + [" }", "}"]) + "\n")
    return Path(path)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def read_landmarks_file(path: PathLike, image_size: tuple) -> tuple:
    """(points (33,2) in pixels of an image ``image_size`` = (W, H), visibility (33,), source).

    Every problem is found before reporting (unknown or missing names, values that are not
    numbers, joints outside the picture, a file made for another picture) and raised as one
    :class:`BadLandmarks` naming each.
    """
    p = require_file(path, "--landmarks")
    W, H = int(image_size[0]), int(image_size[1])
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"--landmarks {p.name}: cannot read it ({type(e).__name__})") from None
    except json.JSONDecodeError as e:
        raise BadInput(f"--landmarks {p.name}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    if not isinstance(d, dict) or "landmarks" not in d:
        raise BadInput(f"--landmarks {p.name}: not a landmarks file (no \"landmarks\" in it)")
    problems: list[str] = []
    # the file's own picture size: its coordinates are scaled from it (same aspect ratio only)
    fw, fh = W, H
    size = d.get("image_size")
    if size is not None:
        if (isinstance(size, list) and len(size) == 2 and all(_number(v) and v > 0 for v in size)):
            fw, fh = float(size[0]), float(size[1])
            if abs(fw / fh - W / H) > 0.02 * (W / H):
                raise BadInput(f"--landmarks {p.name} is for a {fw:.0f}x{fh:.0f} picture, but PHOTO is {W}x{H}: "
                               f"it belongs to another photo")
        else:
            problems.append("image_size must be [width, height] in pixels")
    sx, sy = W / fw, H / fh
    lm = d["landmarks"]
    named: dict = {}
    if isinstance(lm, list):  # the analysis folder's rows, in mediapipe order
        if len(lm) != 33:
            raise BadInput(f"--landmarks {p.name}: \"landmarks\" must list 33 joints, it lists {len(lm)}")
        named = dict(zip(NAMES, lm))
    elif isinstance(lm, dict):
        for k, v in lm.items():
            if k in INDEX:
                named[k] = v
            else:
                close = difflib.get_close_matches(str(k).lower(), NAMES, n=1)
                problems.append(f"unknown joint {k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        missing = [n for n in NAMES if n not in named]
        if missing:
            problems.append(f"missing joint{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    else:
        raise BadInput(f"--landmarks {p.name}: \"landmarks\" must map joint names to [x, y]")
    pts = np.zeros((33, 2))
    vis = np.ones(33)
    for n, v in named.items():
        i = INDEX[n]
        if not (isinstance(v, list) and len(v) in (2, 3) and all(_number(c) for c in v)):
            problems.append(f"{n}: must be [x, y] or [x, y, visibility] with numbers, got {json.dumps(v)}")
            continue
        x, y = float(v[0]) * sx, float(v[1]) * sy
        if len(v) == 3:
            if not 0.0 <= float(v[2]) <= 1.0:
                problems.append(f"{n}: visibility {v[2]} must be between 0 and 1")
                continue
            vis[i] = float(v[2])
        pts[i] = (x, y)
        if vis[i] >= VISIBLE:
            if not (0 <= x <= W and 0 <= y <= H):
                problems.append(f"{n}: [{v[0]}, {v[1]}] is outside the picture (0..{fw:.0f}, 0..{fh:.0f}); "
                                f"move it onto the figure or mark it not visible with a third number 0")
        elif not (-OUTSIDE_LIMIT * W <= x <= (1 + OUTSIDE_LIMIT) * W and -OUTSIDE_LIMIT * H <= y <= (1 + OUTSIDE_LIMIT) * H):
            problems.append(f"{n}: [{v[0]}, {v[1]}] is far outside the picture")
    if not problems:
        for a, b in (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip")):
            if vis[INDEX[a]] >= VISIBLE and vis[INDEX[b]] >= VISIBLE and \
                    np.hypot(*(pts[INDEX[a]] - pts[INDEX[b]])) < 1.0:
                problems.append(f"{a} and {b} are on the same spot: the body needs a width")
        if min(vis[INDEX["left_shoulder"]], vis[INDEX["right_shoulder"]]) < VISIBLE:
            problems.append("both shoulders must be visible (the body is placed from them)")
    if problems:
        raise BadLandmarks(f"--landmarks {p.name}: {len(problems)} problem{'s' if len(problems) > 1 else ''}", problems)
    src = d.get("source", "user")
    return pts, vis, src if isinstance(src, str) else "user"
