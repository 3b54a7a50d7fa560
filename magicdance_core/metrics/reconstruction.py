"""A generated dance video against held-out ground truth (issue 18): the seeds' reconstruction
figures that need no downloaded network -- PSNR, SSIM (scikit-image), L1 -- plus face identity
and pose agreement.

* **PSNR / SSIM / L1** per frame against the reference clip's own frames (the reference is
  resized to the generated frames' size when they differ); mean and worst frame.
* **body PSNR / L1** (with ``--densepose``): the same over the pass's body pixels (dilated by 2 px),
  where a small dancer's errors are not averaged away by the background.
* **face SSIM** (grey SSIM of the head crops, :func:`..animate.diffusion.face.face_crop`): the
  head box of each frame comes from its DensePose pass (``--densepose``), so generated and true
  head are compared where the guidance put the head; against ``--photo`` (its head box from
  ``--photo-densepose``, or from the photo analysis' face box) it is the identity the video keeps.
* **pose agreement**: :func:`.video.video_metrics` (mediapipe joints re-detected on the right
  DensePose part, body coverage) when ``--densepose`` is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import cv2
import numpy as np

from ..errors import BadInput
from ..progress import ProgressFn, null_progress

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp")
FACE_SIZE = 64
PSNR_CAP = 100.0    # identical frames: PSNR is infinite; reported as this cap (JSON has no infinity)


def read_frames_any(path, what: str) -> List[np.ndarray]:
    """RGB frames of a video file or a folder of images (sorted by name)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXT)
        if not files:
            raise BadInput(f"{what}: no images in {p}")
        out = []
        for f in files:
            bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if bgr is None:
                raise BadInput(f"{what}: not a readable image: {f}")
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        return out
    if not p.is_file():
        raise BadInput(f"{what}: not found: {p}")
    if p.suffix.lower() in IMAGE_EXT:
        return read_frames_any_image(p, what)
    from ..video.reader import read_frames

    return list(read_frames(p))


def read_frames_any_image(p: Path, what: str) -> List[np.ndarray]:
    bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
    if bgr is None:
        raise BadInput(f"{what}: not a readable image: {p}")
    return [cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import peak_signal_noise_ratio

    if np.array_equal(a, b):
        return PSNR_CAP
    return min(PSNR_CAP, float(peak_signal_noise_ratio(a, b, data_range=255)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    side = min(a.shape[0], a.shape[1])
    win = min(7, side if side % 2 else side - 1)
    return float(structural_similarity(a, b, channel_axis=-1 if a.ndim == 3 else None, data_range=255, win_size=win))


def _gray(x):
    return cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)


def reconstruction_metrics(generated: Sequence[np.ndarray], reference: Sequence[np.ndarray], *,
                           densepose: Optional[Sequence[np.ndarray]] = None, photo: Optional[np.ndarray] = None,
                           photo_head_box=None, pose: bool = True,
                           progress: Optional[ProgressFn] = None) -> dict:
    from ..animate.diffusion.face import densepose_head_box, face_crop

    prog = progress or null_progress
    n = min(len(generated), len(reference))
    if n == 0:
        raise BadInput("nothing to compare: the generated or the reference clip has no frames")
    h, w = generated[0].shape[:2]
    ps, ss, l1, fs, fid, bps, bl1 = [], [], [], [], [], [], []
    from ..passes.colors import part_ids_from_densepose
    photo_face = None
    if photo is not None and photo_head_box is not None:
        photo_face = _gray(face_crop(photo, photo_head_box, FACE_SIZE))
    for k in range(n):
        g = np.asarray(generated[k])
        r = np.asarray(reference[k])
        if r.shape[:2] != (h, w):
            r = cv2.resize(r, (w, h), interpolation=cv2.INTER_AREA)
        ps.append(psnr(g, r))
        ss.append(ssim(g, r))
        l1.append(float(np.abs(g.astype(np.float64) - r.astype(np.float64)).mean() / 255.0))
        if densepose is not None and k < len(densepose):
            dp = np.asarray(densepose[k])
            if dp.shape[:2] != (h, w):
                dp = cv2.resize(dp, (w, h), interpolation=cv2.INTER_NEAREST)
            body = cv2.dilate((part_ids_from_densepose(dp) > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
            if body.any():
                err = (g[body].astype(np.float64) - r[body].astype(np.float64))
                bl1.append(float(np.abs(err).mean() / 255.0))
                mse = float((err ** 2).mean())
                bps.append(PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * np.log10(255.0 ** 2 / mse)))
            box = densepose_head_box(dp)
            if box is not None:
                gf = _gray(face_crop(g, box, FACE_SIZE))
                fs.append(ssim(gf, _gray(face_crop(r, box, FACE_SIZE))))
                if photo_face is not None:
                    fid.append(ssim(gf, photo_face))
        prog("eval", (k + 1) / n * (0.5 if pose and densepose is not None else 1.0), f"frame {k + 1}/{n}")
    out = {"frames": n, "psnr_mean": float(np.mean(ps)),
           "psnr_min": float(np.min(ps)), "ssim_mean": float(np.mean(ss)), "ssim_min": float(np.min(ss)),
           "l1_mean": float(np.mean(l1)), "l1_max": float(np.max(l1)),
           "body_psnr_mean": float(np.mean(bps)) if bps else None, "body_psnr_min": float(np.min(bps)) if bps else None,
           "body_l1_mean": float(np.mean(bl1)) if bl1 else None, "body_l1_max": float(np.max(bl1)) if bl1 else None,
           "face_ssim_mean": float(np.mean(fs)) if fs else None, "face_ssim_min": float(np.min(fs)) if fs else None,
           "face_frames": len(fs),
           "face_identity_mean": float(np.mean(fid)) if fid else None,
           "face_identity_min": float(np.min(fid)) if fid else None}
    if pose and densepose is not None:
        from .video import video_metrics

        vm = video_metrics(list(generated[:n]), list(densepose[:n]), static=True,
                           progress=lambda s, f, m="": prog("eval", 0.5 + 0.5 * f, m))
        out.update(joint_on_part=vm.joint_on_part, joint_checks=vm.joint_checks, detected_frames=vm.detected_frames,
                   body_coverage=vm.body_coverage, body_coverage_min=vm.body_coverage_min)
    prog("eval", 1.0, "done")
    return {k: (round(v, 4) if isinstance(v, float) and np.isfinite(v) else v) for k, v in out.items()}
