"""From the job's frames to MagicAnimate's square input and back.

The job renders its DensePose pass with the camera aligned to the photo, at the video's frame
size (the photo's aspect ratio). MagicAnimate works on squares (512²): each pass frame is padded
to a square with DensePose's background colour, centred, then resized the way MagicAnimate
resizes its inputs (PIL, bicubic); the photo is placed in the same frame as the passes (so its
head is where the passes put the head), padded (edge pixels) and resized alike. A generated
square is resized back and the padding cropped off, so the video has the pass's frame size.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Tuple

import cv2
import numpy as np
from PIL import Image

from ...errors import BadInput

DENSEPOSE_BACKGROUND = (68, 1, 84)    # viridis(0): MagicAnimate's DensePose background


def square_box(w: int, h: int) -> Tuple[int, int, int]:
    """(side, left, top) of the centred square holding a w x h frame."""
    s = max(w, h)
    return s, (s - w) // 2, (s - h) // 2


def to_square(img: np.ndarray, size: int, fill=None) -> np.ndarray:
    """Pad ``img`` to a centred square (``fill`` colour, or its edge pixels) and resize to ``size``."""
    h, w = img.shape[:2]
    s, left, top = square_box(w, h)
    if (w, h) != (s, s):
        border = dict(borderType=cv2.BORDER_CONSTANT, value=tuple(int(c) for c in fill)) if fill is not None \
            else dict(borderType=cv2.BORDER_REPLICATE)
        img = cv2.copyMakeBorder(img, top, s - h - top, left, s - w - left, **border)
    if s != size:
        img = np.array(Image.fromarray(img).resize((size, size), Image.BICUBIC))
    return np.ascontiguousarray(img)


def from_square(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """The ``w`` x ``h`` frame inside a generated square (any size), uint8."""
    s, left, top = square_box(w, h)
    if img.dtype != np.uint8:
        img = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if img.shape[0] != s:
        img = np.asarray(Image.fromarray(img).resize((s, s), Image.BICUBIC))
    return np.ascontiguousarray(img[top:top + h, left:left + w])


def reference_image(photo_rgb: np.ndarray, w: int, h: int, size: int) -> np.ndarray:
    """The photo in the passes' frame (letterboxed as the passes' camera was), then squared."""
    from ...camera import letterbox_transform

    ph, pw = photo_rgb.shape[:2]
    s, ox, oy = letterbox_transform(pw, ph, w, h)
    A = np.array([[s, 0, ox], [0, s, oy]], np.float64)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    framed = cv2.warpAffine(photo_rgb, A, (w, h), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    return to_square(framed, size)


class PoseFrames:
    """The job's ``passes/densepose/%06d.png`` as model-size squares, read lazily (a song of
    any length is never held in memory)."""

    def __init__(self, folder: Path, size: int) -> None:
        self.folder, self.size = Path(folder), int(size)
        files = sorted(self.folder.glob("[0-9][0-9][0-9][0-9][0-9][0-9].png")) if self.folder.is_dir() else []
        if not files:
            raise BadInput(f"no DensePose frames in {self.folder}: the diffusion animator is driven by the "
                           "job's densepose pass (keep --passes densepose)")
        if [f.name for f in files] != [f"{i:06d}.png" for i in range(len(files))]:
            raise BadInput(f"the DensePose frames in {self.folder} are not numbered 000000.png on without gaps")
        self.files = files
        first = self._read(0)
        self.height, self.width = first.shape[:2]
        self._get = lru_cache(maxsize=48)(self._square)

    def __len__(self) -> int:
        return len(self.files)

    def _read(self, i: int) -> np.ndarray:
        bgr = cv2.imread(str(self.files[i]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise BadInput(f"not a readable image: {self.files[i]}")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _square(self, i: int) -> np.ndarray:
        img = self._read(i)
        if img.shape[:2] != (self.height, self.width):
            raise BadInput(f"{self.files[i]} is {img.shape[1]}x{img.shape[0]}, the pass is {self.width}x{self.height}")
        return to_square(img, self.size, fill=DENSEPOSE_BACKGROUND)

    def __getitem__(self, i: int) -> np.ndarray:
        return self._get(int(i))

    def digest(self) -> str:
        h = hashlib.sha256()
        for f in self.files:
            h.update(f.read_bytes())
        return h.hexdigest()[:16]
