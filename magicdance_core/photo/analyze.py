"""Photo analysis: person mask, 33 pose landmarks, face, background plate.

Uses mediapipe 0.10.21's legacy ``solutions`` whose models ship inside the wheel. Note:
Pose ``model_complexity=2`` (heavy) is *not* in the wheel (mediapipe downloads it on first
use, which cannot work here), so we use ``model_complexity=1`` (full), which is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import BadInput
from ..fileio import PathLike, atomic_path, atomic_write_text, sha256_file
from ..progress import ProgressFn, null_progress
from .inpaint import DEFAULT_METHOD, background_plate
from .load import load_photo
from .matte import estimate_foreground, soft_alpha
from .occluder import find_occluder
from .people import nearer_chosen, other_faces

STAGE = "photo"
VISIBLE = 0.5
MIN_PERSON_PX = 100            # in original pixels: smaller people cannot be animated usefully
SECOND_PERSON_RATIO = 0.25     # another mask blob this large (vs the largest) counts as a person
# mediapipe Pose indices
NOSE, L_EAR, R_EAR = 0, 7, 8
L_SH, R_SH, L_HIP, R_HIP = 11, 12, 23, 24
L_KNEE, R_KNEE, L_ANK, R_ANK = 25, 26, 27, 28


@dataclass
class PhotoAnalysis:
    image: np.ndarray                    # (h,w,3) uint8, analysis resolution
    mask: np.ndarray                     # (h,w) float32 in [0,1]: the person
    landmarks: np.ndarray                # (33,2) pixels in ``image``
    visibility: np.ndarray               # (33,)
    landmarks_z: np.ndarray              # (33,) mediapipe's relative depth (x-scale units)
    # (33,3) mediapipe's pose_world_landmarks: metres, origin between the hips, camera-aligned
    # axes (x right, y down, z away from the camera); None when unknown (e.g. user landmarks)
    world_landmarks: Optional[np.ndarray] = None
    face_box: Optional[tuple] = None     # (x0,y0,x1,y1) pixels, None if no face found
    face_landmarks: Optional[np.ndarray] = None  # (468,2) pixels
    background: Optional[np.ndarray] = None      # (h,w,3) uint8, person removed
    # soft alpha snapped to the photo's edges (alpha.png) and the person's colour with the old
    # background removed (foreground.png): composite foreground*alpha, never image*mask, for no fringe
    alpha: Optional[np.ndarray] = None           # (h,w) float32 in [0,1]
    foreground: Optional[np.ndarray] = None      # (h,w,3) uint8
    # what the person holds in front of the body (photo/occluder.py), RGBA at its photo position
    # (occluder.png): composited over the dancer; the plate is filled under it, alpha excludes it
    occluder: Optional[np.ndarray] = None        # (h,w,4) uint8
    scale: float = 1.0                   # original pixels per analysis pixel
    original_size: tuple = (0, 0)
    half_body: bool = False
    warnings: list = field(default_factory=list)
    source: dict = field(default_factory=dict)

    @property
    def size(self) -> tuple:
        return int(self.image.shape[1]), int(self.image.shape[0])

    def visible(self, i: int) -> bool:
        return bool(self.visibility[i] >= VISIBLE)

    # What an animator composites (analysis folders older than alpha.png fall back to the mask):
    # the person as person_rgb() * person_alpha() over the plate, then the occluder layer over it.
    def person_alpha(self) -> np.ndarray:
        """(h,w) float32: the soft alpha (edges matted, held object left out), else the mask."""
        return self.alpha if self.alpha is not None else self.mask

    def person_rgb(self) -> np.ndarray:
        """(h,w,3) uint8: the person's colours without the old background at the edge, else the photo."""
        return self.foreground if self.foreground is not None else self.image

    def occluder_layer(self):
        """(rgb (h,w,3) uint8, alpha (h,w) float32) of what is held in front of the body, or None."""
        if self.occluder is None:
            return None
        return self.occluder[:, :, :3], self.occluder[:, :, 3].astype(np.float32) / 255.0

    def camera_landmarks(self):
        """The landmarks as :class:`magicdance_core.camera.Landmarks` (for align_to_photo)."""
        from ..camera import make_landmarks

        return make_landmarks(self.landmarks, self.size[0], self.size[1], self.visibility)

    # -- job folder files -------------------------------------------------------------
    def save(self, out_dir: PathLike) -> Path:
        import cv2

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)

        def png(name, arr):
            ok, buf = cv2.imencode(".png", arr)
            with atomic_path(out / name) as tmp:
                tmp.write_bytes(buf.tobytes())

        png("image.png", cv2.cvtColor(self.image, cv2.COLOR_RGB2BGR))
        png("mask.png", np.clip(self.mask * 255 + 0.5, 0, 255).astype(np.uint8))
        if self.background is not None:
            png("background.png", cv2.cvtColor(self.background, cv2.COLOR_RGB2BGR))
        if self.alpha is not None:
            png("alpha.png", np.clip(self.alpha * 255 + 0.5, 0, 255).astype(np.uint8))
        if self.foreground is not None:
            png("foreground.png", cv2.cvtColor(self.foreground, cv2.COLOR_RGB2BGR))
        if self.occluder is not None:
            png("occluder.png", cv2.cvtColor(self.occluder, cv2.COLOR_RGBA2BGRA))
        occ_info = None
        if self.occluder is not None:
            ys, xs = np.nonzero(self.occluder[:, :, 3] > 127)
            occ_info = dict(file="occluder.png", pixels=int(len(xs)),
                            box=[int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1] if len(xs) else None)
        w, h = self.size
        rows = [[float(x), float(y), float(v)] for (x, y), v in zip(self.landmarks, self.visibility)]
        atomic_write_text(out / "landmarks.json", json.dumps(dict(
            image_size=[w, h], landmarks=rows, z=[float(z) for z in self.landmarks_z],
            world=None if self.world_landmarks is None else np.round(self.world_landmarks, 5).tolist(),
            original_size=list(self.original_size), scale_to_original=self.scale,
            order="mediapipe Pose 33", source="user" if isinstance(self.source.get("landmarks"), dict) else "mediapipe"),
            indent=1))
        atomic_write_text(out / "face.json", json.dumps(dict(
            image_size=[w, h],
            box=None if self.face_box is None else [float(v) for v in self.face_box],
            landmarks=None if self.face_landmarks is None else self.face_landmarks.round(2).tolist()), indent=None))
        atomic_write_text(out / "photo.json", json.dumps(dict(
            half_body=self.half_body, warnings=self.warnings, source=self.source, occluder=occ_info,
            scale_to_original=self.scale, original_size=list(self.original_size)), indent=1))
        return out

    @classmethod
    def load(cls, out_dir: PathLike) -> "PhotoAnalysis":
        import cv2

        d = Path(out_dir)
        try:
            image = cv2.cvtColor(cv2.imread(str(d / "image.png"), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            mask = cv2.imread(str(d / "mask.png"), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
            bg_path = d / "background.png"
            background = cv2.cvtColor(cv2.imread(str(bg_path)), cv2.COLOR_BGR2RGB) if bg_path.exists() else None
            # alpha/foreground are newer files: an older analysis folder has neither
            alpha = (cv2.imread(str(d / "alpha.png"), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
                     if (d / "alpha.png").exists() else None)
            foreground = (cv2.cvtColor(cv2.imread(str(d / "foreground.png")), cv2.COLOR_BGR2RGB)
                          if (d / "foreground.png").exists() else None)
            occluder = (cv2.cvtColor(cv2.imread(str(d / "occluder.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
                        if (d / "occluder.png").exists() else None)
            lm = json.loads((d / "landmarks.json").read_text())
            face = json.loads((d / "face.json").read_text())
            meta = json.loads((d / "photo.json").read_text())
        except (OSError, ValueError, KeyError, cv2.error, AttributeError) as e:
            raise BadInput(f"photo analysis folder {d} is incomplete or damaged ({type(e).__name__})") from None
        rows = np.asarray(lm["landmarks"], dtype=np.float64)
        fl = face.get("landmarks")
        world = lm.get("world")
        return cls(image=image, mask=mask, landmarks=rows[:, :2], visibility=rows[:, 2],
                   landmarks_z=np.asarray(lm.get("z", np.zeros(33)), dtype=np.float64),
                   world_landmarks=np.asarray(world, dtype=np.float64).reshape(33, 3) if world else None,
                   face_box=tuple(face["box"]) if face.get("box") else None,
                   face_landmarks=np.asarray(fl, dtype=np.float64) if fl else None,
                   background=background, alpha=alpha, foreground=foreground, occluder=occluder, scale=float(meta.get("scale_to_original", 1.0)),
                   original_size=tuple(meta.get("original_size", (0, 0))),
                   half_body=bool(meta.get("half_body", False)), warnings=list(meta.get("warnings", [])),
                   source=meta.get("source", {}))


# ------------------------------------------------------------------------------------
def _quiet_native(fn):
    """Run ``fn`` with the process's stderr (fd 2) sent to /dev/null.

    mediapipe's C++ side (absl/TFLite) prints INFO/W0000 lines straight to fd 2 and ignores
    GLOG/TF environment variables; a user should see our progress, not that. Python exceptions
    are unaffected (they are printed after fd 2 is restored). MAGICDANCE_DEBUG=1 keeps the chatter.
    """
    import functools
    import os
    import sys

    @functools.wraps(fn)
    def wrapper(*a, **k):
        if os.environ.get("MAGICDANCE_DEBUG"):
            return fn(*a, **k)
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):
            return fn(*a, **k)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            return fn(*a, **k)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)

    return wrapper


@_quiet_native
def _run_pose(rgb: np.ndarray):
    """(points (33,2) px, vis (33,), z (33,), seg mask (h,w), world (33,3) m or None) or None."""
    import mediapipe as mp

    h, w = rgb.shape[:2]
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True,
                                min_detection_confidence=0.5) as pose:
        r = pose.process(np.ascontiguousarray(rgb))
    if r.pose_landmarks is None:
        return None
    lm = r.pose_landmarks.landmark
    pts = np.array([[p.x * w, p.y * h] for p in lm], dtype=np.float64)
    vis = np.array([p.visibility for p in lm], dtype=np.float64)
    z = np.array([p.z * w for p in lm], dtype=np.float64)
    seg = r.segmentation_mask.astype(np.float32) if r.segmentation_mask is not None else None
    world = (np.array([[p.x, p.y, p.z] for p in r.pose_world_landmarks.landmark], dtype=np.float64)
             if r.pose_world_landmarks is not None else None)
    return pts, vis, z, seg, world


@_quiet_native
def _selfie_mask(rgb: np.ndarray) -> np.ndarray:
    import mediapipe as mp

    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        r = seg.process(np.ascontiguousarray(rgb))
    return r.segmentation_mask.astype(np.float32)


def _blobs(mask: np.ndarray, min_frac: float = 0.002):
    """Connected components of mask > 0.5, largest first: list of (area, (x,y,w,h), label image id)."""
    import cv2

    n, lab, stats, _ = cv2.connectedComponentsWithStats((mask > 0.5).astype(np.uint8), connectivity=8)
    total = mask.shape[0] * mask.shape[1]
    out = [(int(stats[i, cv2.CC_STAT_AREA]), tuple(int(v) for v in stats[i, :4]), i)
           for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_frac * total]
    out.sort(reverse=True)
    return out, lab


def _crop_box(box, w, h, pad=0.35):
    x, y, bw, bh = box
    side_pad = pad * max(bw, bh)
    x0, y0 = max(0, int(x - side_pad)), max(0, int(y - side_pad))
    x1, y1 = min(w, int(x + bw + side_pad)), min(h, int(y + bh + side_pad))
    return x0, y0, x1, y1


@_quiet_native
def _face(rgb: np.ndarray, nose: Optional[np.ndarray]):
    """(box, 468 landmarks) of the face nearest the pose's nose, or (None, None)."""
    import mediapipe as mp

    h, w = rgb.shape[:2]
    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as fd:
        r = fd.process(np.ascontiguousarray(rgb))
    if not r.detections:
        return None, None
    boxes = []
    for det in r.detections:
        b = det.location_data.relative_bounding_box
        boxes.append((b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h))
    if nose is not None:
        boxes.sort(key=lambda b: np.hypot((b[0] + b[2]) / 2 - nose[0], (b[1] + b[3]) / 2 - nose[1]))
    box = tuple(float(v) for v in boxes[0])
    # face mesh on a crop around the box (the mesh model expects a face-sized input)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = 1.8 * max(box[2] - box[0], box[3] - box[1])
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    pts = None
    if x1 - x0 >= 16 and y1 - y0 >= 16:
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as fm:
            rm = fm.process(crop)
        if rm.multi_face_landmarks:
            cw, ch = x1 - x0, y1 - y0
            pts = np.array([[p.x * cw + x0, p.y * ch + y0] for p in rm.multi_face_landmarks[0].landmark])
    return box, pts


def analyze_photo(path: PathLike, out_dir: Optional[PathLike] = None,
                  progress: Optional[ProgressFn] = None, *, landmarks: Optional[PathLike] = None,
                  template_out: Optional[PathLike] = None, inpaint_method: str = DEFAULT_METHOD) -> PhotoAnalysis:
    """Analyse the person in the photo at ``path``; save the files into ``out_dir`` if given.

    ``landmarks``: the user's joints (an editable landmarks file, photo/landmarks_file.py) used
    instead of the pose detector. ``template_out``: when no person is found but a figure is
    (a drawing), write a default skeleton there for the user to edit, then raise BadInput
    saying so. ``inpaint_method``: how the plate's hole is filled (photo/inpaint.py METHODS).
    """
    import cv2

    prog = progress or null_progress
    prog(STAGE, 0.0, "reading photo")
    photo = load_photo(path)
    rgb, alpha = photo.rgb, photo.alpha
    h, w = rgb.shape[:2]
    warn: list[str] = []
    user_lm = None
    if landmarks is not None:  # checked before any heavy work
        from .landmarks_file import read_landmarks_file

        pts_o, vis_u, lm_kind = read_landmarks_file(landmarks, photo.original_size)
        user_lm = (pts_o / photo.scale, vis_u, lm_kind)

    prog(STAGE, 0.1, "segmenting")
    selfie = _selfie_mask(rgb)
    hint = alpha if alpha is not None and 0.03 < float((alpha > 0.5).mean()) < 0.97 else None
    people_mask = hint if hint is not None else selfie
    blobs, labels = _blobs(people_mask)
    several = len(blobs) >= 2 and blobs[1][0] >= SECOND_PERSON_RATIO * blobs[0][0]

    prog(STAGE, 0.25, "finding the pose")
    found, offset = None, np.zeros(2)
    if user_lm is not None:
        pts_u, vis_u, _ = user_lm
        found = (pts_u, vis_u, np.zeros(33), _user_figure_mask(rgb, hint, selfie, pts_u, vis_u), None)
        several = False  # the user chose the figure
    if found is None and not several:
        found = _run_pose(rgb)
    if found is None and blobs:
        # several people, or a small person the full-frame detector missed: look at the largest blob
        found = _pose_in_box(rgb, _crop_box(blobs[0][1], w, h))
    if found is None and user_lm is None:
        # people standing close merge into one mask blob and confuse the full-frame detector
        # (zidane.jpg): look around the largest face instead, a body's box below it
        faces = _face_boxes(rgb)
        if faces:
            fx0, fy0, fx1, fy1 = faces[0]
            fw, fh = fx1 - fx0, fy1 - fy0
            box = (int(max(0, fx0 - 2.5 * fw)), int(max(0, fy0 - 0.8 * fh)),
                   int(min(w, fx1 + 2.5 * fw)), int(min(h, fy1 + 7.5 * fh)))
            found = _pose_in_box(rgb, box)
            if found is not None and len(faces) > 1:
                several = True
                blobs = [None] * len(faces)
    if found is None:
        _no_person(path, photo, template_out)
    pts, vis, z, seg, world = found
    if several:
        warn.append(f"{len(blobs)} people found in the photo: animating the largest one")

    vis_pts = pts[vis >= VISIBLE] if (vis >= VISIBLE).sum() >= 4 else pts
    person_h = float(vis_pts[:, 1].max() - vis_pts[:, 1].min())
    if person_h * photo.scale < MIN_PERSON_PX:
        raise BadInput(f"the person in PHOTO is only about {person_h * photo.scale:.0f} px tall; "
                       f"use a photo where the person is at least {MIN_PERSON_PX * 3} px tall")
    if not (vis[L_SH] >= VISIBLE and vis[R_SH] >= VISIBLE):
        raise BadInput("the person in PHOTO shows no shoulders: a photo facing the camera is needed")

    prog(STAGE, 0.5, "person mask")
    if user_lm is not None:
        mask = seg
    else:
        others = other_faces(_face_boxes(rgb), pts, vis, VISIBLE)
        mask = _person_mask(hint, seg, selfie, pts, vis, blobs, labels, several, others)
    legs = all(vis[i] >= VISIBLE and 0 <= pts[i, 1] <= h for i in (L_KNEE, R_KNEE, L_ANK, R_ANK))
    half = not legs
    if half:
        warn.append("half-body photo: the legs are not visible, so only the upper body will move")

    prog(STAGE, 0.6, "face")
    box, face_pts = _face(rgb, pts[NOSE] if vis[NOSE] >= VISIBLE else None)
    if box is None:
        warn.append("no face found in the photo (turned away or covered): the head is animated as a whole")

    prog(STAGE, 0.62, "objects in front")
    occ = find_occluder(rgb, seg if seg is not None else mask, hint if hint is not None else selfie, pts, vis)
    occluder = None
    if occ is not None:
        occluder = np.dstack([estimate_foreground(rgb, occ), np.clip(occ * 255 + 0.5, 0, 255).astype(np.uint8)])

    prog(STAGE, 0.65, "soft edges")
    alpha = soft_alpha(rgb, mask, hint)
    if occ is not None:
        alpha = alpha * (1.0 - occ)   # the person only: the object in front is not their skin
    foreground = estimate_foreground(rgb, alpha)

    prog(STAGE, 0.7, "background plate")
    # the other people stay in the plate, but the hole is not filled from them (they smeared in)
    others = (selfie > 0.5) & ~(np.asarray(mask) > 0.1)
    background = background_plate(rgb, mask if occ is None else np.maximum(mask, occ), inpaint_method, others)
    res = PhotoAnalysis(image=rgb, mask=mask, landmarks=pts, visibility=vis, landmarks_z=z, world_landmarks=world,
                        face_box=box, face_landmarks=face_pts, background=background,
                        alpha=alpha, foreground=foreground, occluder=occluder,
                        scale=photo.scale, original_size=photo.original_size, half_body=half,
                        warnings=warn, source=dict(path=str(path), sha256=sha256_file(path), format=photo.format,
                                                   landmarks="mediapipe" if user_lm is None else dict(
                                                       path=str(landmarks), sha256=sha256_file(landmarks),
                                                       source=user_lm[2])))
    if out_dir is not None:
        prog(STAGE, 0.95, "saving")
        res.save(out_dir)
    prog(STAGE, 1.0, "done")
    return res


def _pose_in_box(rgb, box):
    """Pose found in the crop ``box`` (x0, y0, x1, y1), mapped back to the whole photo, or None."""
    import cv2

    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    crop = rgb[y0:y1, x0:x1]
    if crop.shape[0] < 16 or crop.shape[1] < 16:
        return None
    scale_up = 1.0
    if max(crop.shape[:2]) < 512:  # the detector needs the person reasonably large
        scale_up = 512 / max(crop.shape[:2])
        crop = cv2.resize(crop, None, fx=scale_up, fy=scale_up, interpolation=cv2.INTER_CUBIC)
    res = _run_pose(crop)
    if res is None:
        return None
    pts, vis, z, seg, world = res
    pts = pts / scale_up + (x0, y0)
    full_seg = np.zeros((h, w), np.float32)
    if seg is not None:
        full_seg[y0:y1, x0:x1] = cv2.resize(seg, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    return pts, vis, z / scale_up, full_seg, world


@_quiet_native
def _face_boxes(rgb):
    """Face boxes (x0, y0, x1, y1) in pixels, largest first."""
    import mediapipe as mp

    h, w = rgb.shape[:2]
    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as fd:
        r = fd.process(np.ascontiguousarray(rgb))
    out = []
    for det in r.detections or ():
        b = det.location_data.relative_bounding_box
        out.append((b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h))
    return sorted(out, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))


def _no_person(path, photo, template_out) -> None:
    """Raise "no person found"; for a figure the detector cannot read (a drawing), first write
    a skeleton for the user to edit (AnimatedDrawings' workflow) and say where it is."""
    from .landmarks_file import write_landmarks_file
    from .template import draw_skeleton, figure_mask, template_skeleton

    name = Path(path).name
    fig = figure_mask(photo.rgb, photo.alpha) if template_out is not None else None
    if fig is None:
        raise BadInput(f"no person found in PHOTO {name}")
    out = Path(template_out)
    if out.exists():  # the user's edits are never overwritten
        raise BadInput(f"no person found in PHOTO {name}: pass the figure's joints with --landmarks {out} "
                       f"(the skeleton written there before; delete it for a fresh one)")
    pts, vis = template_skeleton(fig)
    write_landmarks_file(out, pts * photo.scale, vis, photo.original_size, source="template", photo_name=name)
    _write_png(out.with_suffix(".png"), draw_skeleton(photo.rgb, pts, vis))
    raise BadInput(f"no person found in PHOTO {name}: wrote a skeleton to edit to {out} (drawn on "
                   f"{out.with_suffix('.png').name}); move its joints onto the figure, then run again "
                   f"with --landmarks {out}")


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.tobytes())


def _user_figure_mask(rgb, hint, selfie, pts, vis) -> np.ndarray:
    """The figure under the user's joints: a cutout's alpha, the selfie mask when it holds the
    torso joints (a photo), else GrabCut around the joints (a drawing)."""
    import cv2

    from .template import figure_mask

    h, w = rgb.shape[:2]
    torso = [pts[i] for i in (L_SH, R_SH, L_HIP, R_HIP) if vis[i] >= VISIBLE and 0 <= pts[i, 0] < w and 0 <= pts[i, 1] < h]
    for m in ([hint] if hint is not None else []) + [selfie]:
        if torso and all(m[int(y), int(x)] > 0.5 for x, y in torso):
            return _keep_torso_blobs(m.astype(np.float32), pts, vis)
    seen = pts[vis >= VISIBLE]
    x0, y0 = seen.min(axis=0)
    x1, y1 = seen.max(axis=0)
    pad = 0.25 * max(x1 - x0, y1 - y0)
    fig = figure_mask(rgb, None, box=(max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)))
    if fig is None:
        # nothing separates from the background: a filled hull around the joints
        fig = np.zeros((h, w), np.float32)
        hull = cv2.convexHull(seen.astype(np.float32)).astype(np.int32)
        cv2.fillConvexPoly(fig, hull, 1.0)
    return _keep_torso_blobs(fig, pts, vis)


def _keep_torso_blobs(m, pts, vis) -> np.ndarray:
    import cv2

    n, lab = cv2.connectedComponents((m > 0.5).astype(np.uint8), connectivity=8)
    keep = {int(lab[int(np.clip(y, 0, m.shape[0] - 1)), int(np.clip(x, 0, m.shape[1] - 1))])
            for i, (x, y) in enumerate(pts) if vis[i] >= VISIBLE} - {0}
    if not keep:
        return m
    sel = cv2.dilate(np.isin(lab, list(keep)).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return np.where(sel, m, 0.0).astype(np.float32)


def _person_mask(hint, seg, selfie, pts, vis, blobs, labels, several, others=()) -> np.ndarray:
    """One soft mask of the chosen person, cleaned of other people (``others``: their face
    boxes; photo/people.py), other blobs and specks."""
    import cv2

    # the selfie mask holds every person (and what they lean on); compared with pose's mask
    # only the chosen person's share of it counts, else a group photo always takes the selfie's
    mine = nearer_chosen(selfie.shape, pts, vis, others, VISIBLE)
    if mine is not None:
        selfie = np.where(mine, selfie, 0.0).astype(np.float32)
    if hint is not None:
        m = hint.astype(np.float32)
    elif seg is not None and float((seg > 0.5).sum()) > 0.3 * float((selfie > 0.5).sum()):
        # pose's mask follows the detected body (full-body shots); the selfie mask is tuned for
        # close-ups and leaks into nearby people, so it only fills what pose's mask misses near it
        near = cv2.dilate((seg > 0.5).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
        m = np.maximum(seg, np.where(near, selfie, 0.0)).astype(np.float32)
    else:
        m = selfie.copy()
    if mine is not None:   # pose's mask and a cutout's alpha may reach into the others too
        m = np.where(mine, m, 0.0).astype(np.float32)
    # keep the blob(s) holding the torso; this removes other people and specks
    binary = (m > 0.5).astype(np.uint8)
    n, lab = cv2.connectedComponents(binary, connectivity=8)
    torso = [pts[i] for i in (L_SH, R_SH, L_HIP, R_HIP) if vis[i] >= VISIBLE]
    keep = set()
    for x, y in torso:
        xi, yi = int(np.clip(x, 0, m.shape[1] - 1)), int(np.clip(y, 0, m.shape[0] - 1))
        if lab[yi, xi] > 0:
            keep.add(int(lab[yi, xi]))
    if not keep and n > 1:
        areas = np.bincount(lab.ravel())[1:]
        keep.add(int(np.argmax(areas)) + 1)
    if keep:
        sel = np.isin(lab, list(keep))
        sel = cv2.dilate(sel.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0  # keep the soft edge
        m = np.where(sel, m, 0.0).astype(np.float32)
    return np.clip(m, 0.0, 1.0)
