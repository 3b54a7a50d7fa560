"""Framing of the video: which part of the photo it shows, at which size (issue 13, item 2).

The video shows the photo's own frame (its aspect ratio kept, ``--size`` the long side) or, with
``--crop``, a box around the person; either way only pixels of the photo are shown, so nothing is
ever padded with replicated edge pixels. One :class:`Placement` maps photo pixels to video pixels
(a scale and an offset); the passes' camera and the animator's frames both come from it, so the
pass and the video agree pixel for pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import BadInput

CROP_MARGIN = 0.25      # the crop box: the person's box grown by this share of its height


def _even(x: float) -> int:
    """The even number at or below x (so the frame's box never reaches beyond the photo)."""
    return max(2, int(math.floor(x / 2.0 + 1e-9)) * 2)


@dataclass(frozen=True)
class Placement:
    """Video frame ``width`` x ``height`` showing the photo box ``box`` = (x0, y0, x1, y1), in
    photo pixel-edge coordinates (pixel i spans [i, i+1)); the box lies inside the photo."""
    width: int
    height: int
    box: tuple

    @property
    def scale(self) -> float:
        x0, y0, x1, y1 = self.box
        return self.width / (x1 - x0)

    @property
    def video_from_photo(self) -> np.ndarray:
        """(2,3) affine photo px -> video px; pixel centres map to pixel centres."""
        x0, y0, x1, y1 = self.box
        sx, sy = self.width / (x1 - x0), self.height / (y1 - y0)
        # edges x0 -> 0 and x1 -> width; pixel centres sit at +0.5 in edge coordinates
        return np.array([[sx, 0.0, -0.5 - sx * (x0 - 0.5)], [0.0, sy, -0.5 - sy * (y0 - 0.5)]])

    def camera(self, photo_camera):
        """The photo's camera seen through this frame (same pose, intrinsics scaled/shifted)."""
        from ..camera import Camera

        A = self.video_from_photo
        if abs(A[0, 0] - A[1, 1]) > 1e-3 * A[0, 0]:
            raise ValueError("placement must scale both axes alike")
        s = float(A[0, 0])
        return Camera(self.width, self.height, photo_camera.f * s, photo_camera.cx * s + A[0, 2],
                      photo_camera.cy * s + A[1, 2], photo_camera.R, photo_camera.t,
                      dict(photo_camera.meta, placement=self.to_dict()))

    def warp(self, img: np.ndarray, nearest: bool = False) -> np.ndarray:
        """An image in photo pixels (the photo, its plate, a mask) framed like the video."""
        import cv2

        A = self.video_from_photo.copy()
        if nearest:
            return cv2.warpAffine(img, A, (self.width, self.height), flags=cv2.INTER_NEAREST,
                                  borderMode=cv2.BORDER_REFLECT)
        s = float(A[0, 0])
        if s < 0.9:
            # warpAffine has no area filter: shrink with INTER_AREA first, then the residual affine
            h, w = img.shape[:2]
            sw, sh = max(1, round(w * s)), max(1, round(h * s))
            img = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
            kx, ky = w / sw, h / sh            # small-image pixel -> photo pixel (centres)
            P = np.array([[kx, 0, 0.5 * kx - 0.5], [0, ky, 0.5 * ky - 0.5], [0, 0, 1.0]])
            A = A @ P
        # the box lies inside the photo, so the border mode only matters at sub-pixel edges
        return cv2.warpAffine(img, A, (self.width, self.height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)

    def to_dict(self) -> dict:
        return dict(width=self.width, height=self.height, box=[float(v) for v in self.box])

    @classmethod
    def from_dict(cls, d) -> "Placement":
        return cls(int(d["width"]), int(d["height"]), tuple(float(v) for v in d["box"]))


def whole_photo(photo_w: int, photo_h: int, size: int) -> Placement:
    """The whole photo, long side ``size`` (even), the short side the even number at or below
    the exact one (the box is trimmed by under two pixels, centred)."""
    size = int(size)
    if size % 2 or size < 16:
        raise BadInput(f"--size must be an even number of pixels, got {size}")
    if photo_w >= photo_h:
        W, H = size, _even(size * photo_h / photo_w)
    else:
        W, H = _even(size * photo_w / photo_h), size
    # the box is trimmed (by under a pixel) to the video's exact aspect ratio, centred
    s = max(W / photo_w, H / photo_h)      # the box fits inside the photo
    bw, bh = W / s, H / s
    x0, y0 = (photo_w - bw) / 2.0, (photo_h - bh) / 2.0
    return Placement(W, H, (x0, y0, x0 + bw, y0 + bh))


def person_box(mask: np.ndarray, margin: float = CROP_MARGIN) -> tuple:
    """(x0, y0, x1, y1) of the person's mask grown by ``margin`` of its height (unclipped)."""
    ys, xs = np.nonzero(np.asarray(mask) > 0.5)
    if len(xs) == 0:
        raise BadInput("--crop: the photo's person mask is empty")
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    m = margin * (y1 - y0)
    return (x0 - m, y0 - m, x1 + m, y1 + m)


def crop_around(mask: np.ndarray, size: int, margin: float = CROP_MARGIN) -> Placement:
    """A box around the person (grown by ``margin``, shifted/shrunk to stay inside the photo),
    long side ``size``: room for the dancer's arms without showing anything beyond the photo."""
    h, w = np.asarray(mask).shape[:2]
    x0, y0, x1, y1 = person_box(mask, margin)
    bw, bh = min(x1 - x0, w), min(y1 - y0, h)
    size = int(size)
    if bw >= bh:
        W, H = size, _even(size * bh / bw)
    else:
        W, H = _even(size * bw / bh), size
    # adjust the box to the even-sized frame's aspect ratio (growing the short side when it fits)
    if W / H > bw / bh:
        bw = min(bh * W / H, w)
        bh = bw * H / W
    else:
        bh = min(bw * H / W, h)
        bw = bh * W / H
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    bx = float(np.clip(cx - bw / 2, 0, w - bw))
    by = float(np.clip(cy - bh / 2, 0, h - bh))
    return Placement(W, H, (bx, by, bx + bw, by + bh))


def make_placement(photo, size: int, crop: bool = False) -> Placement:
    """The job's framing for a PhotoAnalysis (whole photo, or ``crop`` around the person)."""
    w, h = photo.size
    return crop_around(photo.mask, size) if crop else whole_photo(w, h, size)
