"""Does the video show the pose its guidance pass shows? Metrics of a dance video against the
job's own DensePose pass and photo analysis (issue 13; docs/metrics.md, "Video against its pass").

Independent of any animator: it reads only the video, the pass frames
(``passes/densepose/%06d.png``, MagicAnimate's colours) and the photo analysis, and re-detects
the person in the video with mediapipe (Pose, its segmentation, selfie segmentation, face mesh).

1. **joint on part**: each mediapipe joint re-detected visible in a video frame is looked up on
   the pass frame; it counts as a hit when a DensePose part it belongs to (``JOINT_PARTS``: the
   wrist on the same side's lower arm or hand, the knee on that leg's upper or lower leg, the
   nose on the head, ...) lies within a small radius (``tol`` x the square root of the pass's
   body area, 4 px on a 512 px full body). A frame whose pass shows a body but where no person
   is re-detected counts every joint whose parts the pass shows as a miss. When the photo has
   other people (who stay in the plate), Pose looks only in a box around the pass's body
   (``AROUND_PAD``): it reports one person, and whole-frame it often picks another one.
2. **body coverage**: share of the pass's body pixels covered by the person segmentation of the
   video frame (Pose's mask or selfie segmentation, > 0.5), averaged over frames (and the worst
   frame).
3. **detached fragments**: connected components of the video's person mask other than the main
   one (the largest touching the pass's body) of at least ``frag_min`` of the main one's area,
   per frame. Components lying mostly on other people of the photo (its person segmentation
   outside the dancer's mask, mapped into the video) are not fragments: they stay on purpose.
4. **face SSIM after alignment**: the face mesh is re-detected in the frame, the frame is warped
   onto the photo by the least-squares similarity between the frame's and the photo's mesh
   points, and SSIM (grey, skimage) is taken over the photo's face box. Frames where the face
   turned (similarity residual > ``FACE_TURN`` of the eye distance) are not compared.

Geometry: the pass and the video need not have the same size. By default the video frame is
taken to be letterboxed into the pass (``camera.letterbox_transform``; identity when the sizes
agree, a plain scale when only the resolution differs); ``pass_to_video`` (2x3) overrides it.
Likewise the photo maps into the video by the letterbox of the photo into the video frame unless
``photo_to_video`` is given.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from ..errors import BadInput
from ..progress import ProgressFn, null_progress

STAGE = "video metrics"
VISIBLE = 0.5
TOL = 0.03          # joint-on-part search radius, fraction of sqrt(pass body area)
FRAG_MIN = 0.01     # a fragment is at least this share of the main component's area
FRAG_MIN_PX = 16
AROUND_PAD = 0.25   # with other people in the photo, Pose looks within the pass's body box widened by this
FACE_TURN = 0.12    # similarity residual (RMS, fraction of the eye distance) above which a face turned

# DensePose parts (docs/passes.md): the person's own left/right
HEAD = (23, 24)
TORSO = (1, 2)
R_HAND, L_HAND, L_FOOT, R_FOOT = (3,), (4,), (5,), (6,)
R_UPPER_LEG, L_UPPER_LEG = (7, 9), (8, 10)
R_LOWER_LEG, L_LOWER_LEG = (11, 13), (12, 14)
L_UPPER_ARM, R_UPPER_ARM = (15, 17), (16, 18)
L_LOWER_ARM, R_LOWER_ARM = (19, 21), (20, 22)

# mediapipe Pose landmark (the person's own side) -> DensePose parts it may land on. A joint sits
# where two parts meet, so both count; nothing of the other side does.
JOINT_PARTS = {
    0: ("nose", HEAD),
    11: ("left_shoulder", TORSO + L_UPPER_ARM),
    12: ("right_shoulder", TORSO + R_UPPER_ARM),
    13: ("left_elbow", L_UPPER_ARM + L_LOWER_ARM),
    14: ("right_elbow", R_UPPER_ARM + R_LOWER_ARM),
    15: ("left_wrist", L_LOWER_ARM + L_HAND),
    16: ("right_wrist", R_LOWER_ARM + R_HAND),
    23: ("left_hip", TORSO + L_UPPER_LEG),
    24: ("right_hip", TORSO + R_UPPER_LEG),
    25: ("left_knee", L_UPPER_LEG + L_LOWER_LEG),
    26: ("right_knee", R_UPPER_LEG + R_LOWER_LEG),
    27: ("left_ankle", L_LOWER_LEG + L_FOOT),
    28: ("right_ankle", R_LOWER_LEG + R_FOOT),
}
# mediapipe Face Mesh points used for the eye distance (outer eye corners)
_EYE_OUTER = (33, 263)


# ------------------------------------------------------------------------------------------
# geometry
# ------------------------------------------------------------------------------------------
def letterbox_affine(src_w: int, src_h: int, dst_w: int, dst_h: int) -> np.ndarray:
    """2x3 affine of ``camera.letterbox_transform``: src fitted centred into dst."""
    from ..camera import letterbox_transform

    s, ox, oy = letterbox_transform(src_w, src_h, dst_w, dst_h)
    return np.array([[s, 0.0, ox], [0.0, s, oy]])


def invert_affine(A: np.ndarray) -> np.ndarray:
    M = np.vstack([np.asarray(A, float), [0.0, 0.0, 1.0]])
    return np.linalg.inv(M)[:2]


def apply_affine(A: np.ndarray, pts: np.ndarray) -> np.ndarray:
    pts = np.asarray(pts, float)
    return pts @ np.asarray(A)[:, :2].T + np.asarray(A)[:, 2]


def warp_to(img: np.ndarray, A: np.ndarray, size: tuple, nearest: bool = False) -> np.ndarray:
    """``img`` mapped by ``A`` (src -> dst pixels) onto a (w, h) canvas, zeros outside."""
    import cv2

    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.warpAffine(img, np.asarray(A, np.float64), (int(size[0]), int(size[1])), flags=flags,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


# ------------------------------------------------------------------------------------------
# per-frame measures on arrays (unit-testable without a video)
# ------------------------------------------------------------------------------------------
def body_radius_px(part_ids: np.ndarray, tol: float = TOL) -> float:
    return max(2.0, tol * float(np.sqrt((part_ids > 0).sum())))


def joint_part_hits(part_ids: np.ndarray, joints_px: Optional[np.ndarray], vis: Optional[np.ndarray],
                    tol: float = TOL) -> dict:
    """{landmark: hit (bool)} for one frame.

    ``part_ids`` (h,w) pass part ids (0 background); ``joints_px`` (33,2) re-detected landmarks
    already in pass pixels, ``vis`` (33,); None when no person was re-detected, in which case
    every table joint whose parts the pass shows is a miss. Joints outside the pass, not visible,
    or whose parts the pass does not show at all (hidden behind the body, out of frame) are not
    checked.
    """
    h, w = part_ids.shape
    shown = set(np.unique(part_ids).tolist()) - {0}
    if not shown:
        return {}
    if joints_px is None:
        return {j: False for j, (_, parts) in JOINT_PARTS.items() if shown & set(parts)}
    r = body_radius_px(part_ids, tol)
    ri = int(np.ceil(r))
    yy, xx = np.mgrid[-ri:ri + 1, -ri:ri + 1]
    disc = (xx ** 2 + yy ** 2) <= r * r
    out = {}
    for j, (_, parts) in JOINT_PARTS.items():
        if vis[j] < VISIBLE or not np.all(np.isfinite(joints_px[j])):
            continue
        if not shown & set(parts):
            continue
        x, y = int(round(joints_px[j, 0])), int(round(joints_px[j, 1]))
        if not (0 <= x < w and 0 <= y < h):
            continue
        y0, y1, x0, x1 = max(0, y - ri), min(h, y + ri + 1), max(0, x - ri), min(w, x + ri + 1)
        win = part_ids[y0:y1, x0:x1]
        d = disc[y0 - (y - ri):y1 - (y - ri), x0 - (x - ri):x1 - (x - ri)]
        out[j] = bool(np.isin(win[d], parts).any())
    return out


def body_coverage(part_ids: np.ndarray, person_in_pass: np.ndarray, inside: Optional[np.ndarray] = None) -> float:
    """Share of the pass's body pixels (within ``inside``, the video's area) where the video's
    person mask (already mapped into pass pixels, bool) is set; NaN if the pass shows no body."""
    body = part_ids > 0
    if inside is not None:
        body &= inside
    n = int(body.sum())
    return float((person_in_pass & body).sum() / n) if n else float("nan")


def detached_fragments(person: np.ndarray, body_in_video: np.ndarray, others: Optional[np.ndarray] = None,
                       min_share: float = FRAG_MIN, min_px: int = FRAG_MIN_PX) -> int:
    """Connected components of ``person`` (bool, video pixels) beyond the main one.

    The main component is the largest that touches the pass's body (``body_in_video``), else the
    largest. Components of at least ``min_share`` of its area (and ``min_px``) count, except
    those lying mostly (> 50 %) on ``others`` (the photo's other people, video pixels)."""
    import cv2

    n, lab, stats, _ = cv2.connectedComponentsWithStats(person.astype(np.uint8), connectivity=8)
    if n <= 2:
        return 0
    areas = stats[1:, cv2.CC_STAT_AREA]
    touching = np.unique(lab[body_in_video & (lab > 0)])
    if len(touching):
        main = int(touching[np.argmax(areas[touching - 1])])
    else:
        main = int(np.argmax(areas)) + 1
    floor = max(min_px, min_share * areas[main - 1])
    count = 0
    for i in range(1, n):
        if i == main or areas[i - 1] < floor:
            continue
        if others is not None and others[lab == i].mean() > 0.5:
            continue
        count += 1
    return count


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (2x3) taking points ``src`` onto ``dst`` (Umeyama, no reflection)."""
    src, dst = np.asarray(src, float), np.asarray(dst, float)
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    cov = b.T @ a / len(src)
    U, S, Vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(U @ Vt))
    D = np.diag([1.0, d])
    R = U @ D @ Vt
    var = (a ** 2).sum() / len(src)
    s = float(np.trace(np.diag(S) @ D) / max(var, 1e-12))
    t = md - s * R @ ms
    return np.hstack([s * R, t[:, None]])


def aligned_face_ssim(frame: np.ndarray, frame_face: np.ndarray, photo: np.ndarray, photo_face: np.ndarray,
                      face_box, turn: float = FACE_TURN) -> Optional[float]:
    """SSIM of the photo's face box against the frame warped onto the photo by the similarity of
    the two face meshes; None if the face turned (residual above ``turn`` x eye distance)."""
    import cv2
    from skimage.metrics import structural_similarity

    A = similarity(frame_face, photo_face)
    res = np.sqrt(((apply_affine(A, frame_face) - photo_face) ** 2).sum(1).mean())
    eyes = np.linalg.norm(photo_face[_EYE_OUTER[0]] - photo_face[_EYE_OUTER[1]])
    if eyes < 4 or res > turn * eyes:
        return None
    h, w = photo.shape[:2]
    back = warp_to(frame, A, (w, h))
    x0, y0, x1, y1 = (int(round(v)) for v in face_box)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    g0 = cv2.cvtColor(np.ascontiguousarray(photo[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    g1 = cv2.cvtColor(np.ascontiguousarray(back[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    return float(structural_similarity(g0, g1, data_range=255))


# ------------------------------------------------------------------------------------------
# mediapipe re-detection
# ------------------------------------------------------------------------------------------
class _Detector:
    """mediapipe Pose (+ its mask), selfie segmentation and face mesh, kept open over a video."""

    def __init__(self, static: bool = False, faces: bool = True):
        import mediapipe as mp

        self.pose = mp.solutions.pose.Pose(static_image_mode=static, model_complexity=1, smooth_landmarks=False,
                                           enable_segmentation=True, min_detection_confidence=0.5)
        self.selfie = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        self.mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) if faces else None

    def close(self):
        self.pose.close()
        self.selfie.close()
        if self.mesh is not None:
            self.mesh.close()

    def person(self, rgb: np.ndarray, box: Optional[tuple] = None):
        """(landmarks (33,2) px or None, visibility (33,) or None, person mask (h,w) bool).

        ``box`` (x0, y0, x1, y1 frame pixels): Pose looks only there. mediapipe's Pose reports one
        person, the most prominent; with other people in the frame that is often not the dancer,
        so the caller crops around where the dancer should be (top-down, as multi-person pose
        estimators do). The selfie segmentation still sees the whole frame."""
        h, w = rgb.shape[:2]
        img = np.ascontiguousarray(rgb)
        seg = self.selfie.process(img).segmentation_mask
        mask = seg > 0.5
        x0, y0, x1, y1 = box if box is not None else (0, 0, w, h)
        r = self.pose.process(np.ascontiguousarray(img[y0:y1, x0:x1]))
        if r.pose_landmarks is None:
            return None, None, mask
        cw, ch = x1 - x0, y1 - y0
        pts = np.array([[p.x * cw + x0, p.y * ch + y0] for p in r.pose_landmarks.landmark])
        vis = np.array([p.visibility for p in r.pose_landmarks.landmark])
        if r.segmentation_mask is not None:
            mask[y0:y1, x0:x1] |= r.segmentation_mask > 0.5
        return pts, vis, mask

    def face(self, rgb: np.ndarray, pts: np.ndarray, vis: np.ndarray) -> Optional[np.ndarray]:
        """468 face-mesh points (frame pixels) of the face around the re-detected head, or None."""
        import cv2

        head = pts[:11][vis[:11] >= VISIBLE]
        if self.mesh is None or len(head) < 3:
            return None
        h, w = rgb.shape[:2]
        c = head.mean(0)
        side = 2.6 * max(np.ptp(head[:, 0]), np.ptp(head[:, 1]), 8.0)
        x0, y0 = int(max(0, c[0] - side / 2)), int(max(0, c[1] - side / 2))
        x1, y1 = int(min(w, c[0] + side / 2)), int(min(h, c[1] + side / 2))
        if x1 - x0 < 16 or y1 - y0 < 16:
            return None
        crop = rgb[y0:y1, x0:x1]
        f = 256.0 / max(crop.shape[:2]) if max(crop.shape[:2]) < 256 else 1.0
        if f != 1.0:
            crop = cv2.resize(crop, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)
        r = self.mesh.process(np.ascontiguousarray(crop))
        if not r.multi_face_landmarks:
            return None
        ch, cw = crop.shape[:2]
        return np.array([[p.x * cw / f + x0, p.y * ch / f + y0] for p in r.multi_face_landmarks[0].landmark])[:468]


# ------------------------------------------------------------------------------------------
# the whole video
# ------------------------------------------------------------------------------------------
@dataclass
class VideoMetrics:
    frames: int                       # video frames compared (every ``every``-th)
    detected_frames: float            # share of them with a person re-detected
    joint_on_part: float              # hits / checks
    joint_checks: int
    joint_on_part_by_joint: dict      # name -> share
    body_coverage: float              # mean over frames with a body in the pass
    body_coverage_min: float
    fragments_per_frame: float
    fragments_max: int
    frames_with_fragments: float
    face_ssim_mean: Optional[float] = None
    face_ssim_min: Optional[float] = None
    face_frames: int = 0              # frames compared (frontal, face found)
    face_found: float = 0.0           # share of frames where the face mesh was re-detected
    per_frame: dict = field(default_factory=dict)   # lists: coverage, fragments, joint hits, face ssim
    notes: list = field(default_factory=list)

    def to_dict(self, per_frame: bool = False) -> dict:
        d = asdict(self)
        if not per_frame:
            d.pop("per_frame")
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = None if not np.isfinite(v) else round(v, 4)
        return d


def read_pass_frames(passes_dir, name: str = "densepose") -> tuple[list, float]:
    """Sorted frame files of ``passes/<name>/`` and the passes' fps (passes.json, else 30)."""
    d = Path(passes_dir)
    files = sorted((d / name).glob("*.png"))
    if not files:
        raise BadInput(f"no {name} pass frames in {d / name}")
    fps = 30.0
    meta = d / "passes.json"
    if meta.exists():
        try:
            fps = float(json.loads(meta.read_text()).get("fps", 30.0))
        except (ValueError, TypeError):
            pass
    return files, fps


def _part_ids(png: Path) -> np.ndarray:
    import cv2

    from ..passes.colors import part_ids_from_densepose

    bgr = cv2.imread(str(png), cv2.IMREAD_COLOR)
    if bgr is None:
        raise BadInput(f"cannot read pass frame {png}")
    ids = part_ids_from_densepose(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return np.where(ids < 0, 0, ids).astype(np.int16)   # unknown colours (none in exact PNGs): background


def other_people_mask(photo) -> Optional[np.ndarray]:
    """The photo's person segmentation outside the (dilated) dancer mask: people who stay put."""
    import cv2
    import mediapipe as mp

    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as selfie:
        seg = selfie.process(np.ascontiguousarray(photo.image)).segmentation_mask > 0.5
    dancer = cv2.dilate((photo.mask > 0.1).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    others = seg & ~dancer
    return others if others.any() else None


def _around(body: np.ndarray, pad: float = AROUND_PAD) -> Optional[tuple]:
    """Box (x0, y0, x1, y1) around the pass's body in the frame, widened by ``pad`` of its longer
    side on every side (arms the pass shows thin, a dancer off the pass); None if no body."""
    ys, xs = np.nonzero(body)
    if not len(xs):
        return None
    h, w = body.shape
    m = pad * max(np.ptp(xs), np.ptp(ys), 16)
    return (int(max(0, xs.min() - m)), int(max(0, ys.min() - m)),
            int(min(w, xs.max() + 1 + m)), int(min(h, ys.max() + 1 + m)))


def video_metrics(video, passes, photo=None, *, every: int = 1, pass_to_video: Optional[np.ndarray] = None,
                  photo_to_video: Optional[np.ndarray] = None, tol: float = TOL, static: bool = False,
                  max_frames: Optional[int] = None, progress: Optional[ProgressFn] = None) -> VideoMetrics:
    """Measure ``video`` (a path or a sequence of RGB frames) against its DensePose pass.

    ``passes``: the job's passes folder (``densepose/%06d.png`` + passes.json) or a sequence of
    (h,w) part-id arrays / DensePose RGB frames. ``photo``: the job's PhotoAnalysis (or its
    folder), for face SSIM and for the other people who stay in the photo; None skips both.
    """
    from ..video.reader import probe, read_frames

    prog = progress or null_progress
    if photo is not None and not hasattr(photo, "image"):
        from ..photo.analyze import PhotoAnalysis

        photo = PhotoAnalysis.load(photo)
    if isinstance(video, (str, Path)):
        info = probe(video)
        vfps, n_video = info.fps, info.n_frames
        frames: Iterable = read_frames(video)
    else:
        frames = list(video)
        vfps, n_video = 30.0, len(frames)
    if isinstance(passes, (str, Path)):
        pass_files, pfps = read_pass_frames(passes)
        n_pass = len(pass_files)
        get_pass = lambda k: _part_ids(pass_files[k])  # noqa: E731
    else:
        seq = list(passes)
        pfps, n_pass = vfps, len(seq)

        def get_pass(k):
            a = np.asarray(seq[k])
            if a.ndim == 3:
                from ..passes.colors import part_ids_from_densepose

                a = np.maximum(part_ids_from_densepose(a), 0)
            return a.astype(np.int16)
    notes = []
    if abs(pfps - vfps) > 0.01:
        notes.append(f"pass at {pfps:g} fps, video at {vfps:g} fps: frames matched by time")
    if n_pass != n_video and abs(pfps - vfps) <= 0.01:
        notes.append(f"pass has {n_pass} frames, video {n_video}: compared over the shorter")

    others_photo = other_people_mask(photo) if photo is not None else None
    # with others, Pose looks in a box that moves with the dancer: its tracking across frames
    # would follow the box's coordinates, not the person, so every frame is detected on its own
    det = _Detector(static=static or others_photo is not None,
                    faces=photo is not None and photo.face_landmarks is not None)
    cover, frags, hits_pf, ssim_pf, found = [], [], [], [], []
    by_joint = {j: [0, 0] for j in JOINT_PARTS}
    n_checked = n_detected = n_face_found = 0
    A_pv = None
    others = None
    try:
        for i, rgb in enumerate(frames):
            if max_frames is not None and n_checked >= max_frames:
                break
            if i % every:
                continue
            k = int(round(i * pfps / vfps))
            if k >= n_pass:
                break
            ids = get_pass(k)
            vh, vw = rgb.shape[:2]
            ph, pw = ids.shape
            if A_pv is None:
                A_pv = (np.asarray(pass_to_video, float) if pass_to_video is not None
                        else invert_affine(letterbox_affine(vw, vh, pw, ph)))
                A_vp = invert_affine(A_pv)
                inside = warp_to(np.ones((vh, vw), np.uint8), A_vp, (pw, ph), nearest=True) > 0
                if others_photo is not None:
                    ph_h, ph_w = others_photo.shape
                    A_fv = (np.asarray(photo_to_video, float) if photo_to_video is not None
                            else letterbox_affine(ph_w, ph_h, vw, vh))
                    others = warp_to(others_photo.astype(np.uint8), A_fv, (vw, vh), nearest=True) > 0
            body_v = warp_to((ids > 0).astype(np.uint8), A_pv, (vw, vh), nearest=True) > 0
            pts, vis, person = det.person(rgb, _around(body_v) if others is not None else None)
            n_checked += 1
            n_detected += pts is not None
            # 1. joints on parts (in pass pixels)
            h = joint_part_hits(ids, None if pts is None else apply_affine(A_vp, pts), vis, tol)
            for j, ok in h.items():
                by_joint[j][0] += ok
                by_joint[j][1] += 1
            hits_pf.append([int(sum(h.values())), len(h)])
            # 2. coverage (in pass pixels)
            person_p = warp_to(person.astype(np.uint8), A_vp, (pw, ph), nearest=True) > 0
            cover.append(body_coverage(ids, person_p, inside))
            # 3. fragments (in video pixels)
            frags.append(detached_fragments(person, body_v, others))
            # 4. face
            s = None
            if det.mesh is not None and pts is not None:
                ff = det.face(rgb, pts, vis)
                if ff is not None:
                    n_face_found += 1
                    s = aligned_face_ssim(rgb, ff, photo.image, photo.face_landmarks, photo.face_box)
            ssim_pf.append(s)
            prog(STAGE, min(1.0, i / max(1, n_video)), f"frame {i}")
    finally:
        det.close()
    checks = sum(c for _, c in hits_pf)
    hits = sum(x for x, _ in hits_pf)
    cov = np.array([c for c in cover if np.isfinite(c)])
    fr = np.array(frags) if frags else np.zeros(0)
    ss = [s for s in ssim_pf if s is not None]
    face_wanted = photo is not None and photo.face_landmarks is not None
    return VideoMetrics(
        frames=n_checked, detected_frames=n_detected / n_checked if n_checked else float("nan"),
        joint_on_part=hits / checks if checks else float("nan"), joint_checks=int(checks),
        joint_on_part_by_joint={JOINT_PARTS[j][0]: round(a / b, 4) for j, (a, b) in by_joint.items() if b},
        body_coverage=float(cov.mean()) if len(cov) else float("nan"),
        body_coverage_min=float(cov.min()) if len(cov) else float("nan"),
        fragments_per_frame=float(fr.mean()) if len(fr) else float("nan"),
        fragments_max=int(fr.max()) if len(fr) else 0,
        frames_with_fragments=float((fr > 0).mean()) if len(fr) else float("nan"),
        face_ssim_mean=float(np.mean(ss)) if ss else None, face_ssim_min=float(np.min(ss)) if ss else None,
        face_frames=len(ss), face_found=(n_face_found / n_checked) if (face_wanted and n_checked) else 0.0,
        per_frame=dict(coverage=[round(c, 4) if np.isfinite(c) else None for c in cover], fragments=frags,
                       joint_hits=hits_pf, face_ssim=[None if s is None else round(s, 4) for s in ssim_pf]),
        notes=notes)
