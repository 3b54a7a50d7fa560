"""Training clips for ``magicdance train-animator``: dance videos with their DensePose videos.

Two layouts, found per clip folder under ``--data DIR`` (or DIR itself):

* **TikTok layout** (the seeds' data, and ``magicdance dataset animator``'s): ``frames/`` (or
  ``images/``, the TikTok dataset's own name) and ``densepose/`` with one image per frame, the
  same names in both; optional ``reference.png`` (+ ``reference_densepose.png``) -- otherwise
  another frame of the clip is the reference, as MagicAnimate's training samples it.
* **Job folders** (``magicdance dance``): ``video.mp4`` with ``passes/densepose/%06d.png``
  (or ``passes/densepose.mp4``).

Frames are read lazily, squared the way the animator squares them (:mod:`.framing`) and resized
to the training size. The head box of the face crop comes from the reference's DensePose head.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np

from ...errors import BadInput
from .framing import DENSEPOSE_BACKGROUND, to_square

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp")
LAYOUT_HINT = ("per clip frames/ (or images/) and densepose/ images with the same names, or a job folder "
               "with video.mp4 and passes/densepose/")


@dataclass
class Clip:
    root: Path
    frames: List[Path] = field(default_factory=list)      # image files, or [] for a video clip
    densepose: List[Path] = field(default_factory=list)
    video: Optional[Path] = None
    densepose_video: Optional[Path] = None
    reference: Optional[Path] = None
    reference_densepose: Optional[Path] = None
    split: str = "train"
    _decoded: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.frames) if self.video is None else len(self._video_frames("video"))

    # -- reading -------------------------------------------------------------------------------
    def _video_frames(self, which: str) -> list:
        if which not in self._decoded:
            from ...video.reader import read_frames

            path = self.video if which == "video" else self.densepose_video
            self._decoded[which] = list(read_frames(path))
        return self._decoded[which]

    def frame(self, i: int) -> np.ndarray:
        return _read(self.frames[i]) if self.video is None else self._video_frames("video")[i]

    def pose(self, i: int) -> np.ndarray:
        if self.densepose:
            return _read(self.densepose[i])
        return self._video_frames("densepose")[i]

    def reference_pair(self, rng: np.random.Generator, avoid: int = -1) -> tuple:
        """(reference RGB, its DensePose) -- the clip's reference.png, else another frame."""
        if self.reference is not None and self.reference_densepose is not None:
            return _read(self.reference), _read(self.reference_densepose)
        n = len(self)
        j = int(rng.integers(n))
        if n > 1 and j == avoid:
            j = (j + 1) % n
        return self.frame(j), self.pose(j)


def _read(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise BadInput(f"not a readable image: {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def square_frame(img: np.ndarray, size: int) -> np.ndarray:
    return to_square(img, size)


def square_pose(img: np.ndarray, size: int) -> np.ndarray:
    # DensePose colours must stay exact: pad with its background, resize without blending
    sq = to_square(img, img.shape[0] if img.shape[0] > img.shape[1] else img.shape[1], fill=DENSEPOSE_BACKGROUND)
    return cv2.resize(sq, (size, size), interpolation=cv2.INTER_NEAREST)


def _images(folder: Path) -> List[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXT and p.is_file())


def _clip_from(folder: Path) -> Optional[Clip]:
    """The clip in ``folder``, None if it is no clip at all; BadInput naming what a clip lacks."""
    frames_dir = next((folder / n for n in ("frames", "images") if (folder / n).is_dir()), None)
    dp_dir = folder / "densepose"
    if frames_dir is not None or dp_dir.is_dir():
        if frames_dir is None:
            raise BadInput(f"{folder} has densepose/ but no frames/ (or images/) ({LAYOUT_HINT})")
        if not dp_dir.is_dir():
            raise BadInput(f"{folder} has {frames_dir.name}/ but no densepose/ ({LAYOUT_HINT})")
        fr, dp = _images(frames_dir), _images(dp_dir)
        if not fr:
            raise BadInput(f"{frames_dir} holds no images ({LAYOUT_HINT})")
        stems = {p.stem: p for p in dp}
        lacking = [p.name for p in fr if p.stem not in stems]
        if lacking:
            raise BadInput(f"{dp_dir} lacks {lacking[0]}" + (f" and {len(lacking) - 1} more" if len(lacking) > 1 else "")
                           + f" (one DensePose image per frame of {frames_dir.name}/)")
        ref = folder / "reference.png"
        ref_dp = folder / "reference_densepose.png"
        return Clip(folder, frames=fr, densepose=[stems[p.stem] for p in fr],
                    reference=ref if ref.is_file() else None,
                    reference_densepose=ref_dp if ref_dp.is_file() else None)
    video = folder / "video.mp4"
    if video.is_file() or (folder / "job.json").is_file():
        if not video.is_file():
            raise BadInput(f"job folder {folder} has no video.mp4 (run its dance to the end)")
        pdir = folder / "passes" / "densepose"
        dp = sorted(pdir.glob("[0-9]*.png")) if pdir.is_dir() else []
        dpv = folder / "passes" / "densepose.mp4"
        if not dp and not dpv.is_file():
            raise BadInput(f"job folder {folder} lacks passes/densepose/ (render it with --passes densepose)")
        return Clip(folder, video=video, densepose=dp, densepose_video=None if dp else dpv)
    return None


def find_clips(data_dir) -> List[Clip]:
    """Every clip under ``data_dir`` (itself, or its sub-folders); one line naming what is wrong."""
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise BadInput(f"--data: folder not found: {root}")
    own = _clip_from(root)
    if own is not None:
        return [own]
    clips = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        c = _clip_from(sub)
        if c is not None:
            clips.append(c)
    if not clips:
        raise BadInput(f"--data: no clips in {root} ({LAYOUT_HINT})")
    index = root / "index.json"
    if index.is_file():                       # dataset animator's held-out clips
        try:
            split = {c["name"]: c.get("split", "train") for c in json.loads(index.read_text()).get("clips", [])}
        except (OSError, ValueError, TypeError, AttributeError):
            split = {}
        for c in clips:
            c.split = split.get(c.root.name, "train")
    return clips
