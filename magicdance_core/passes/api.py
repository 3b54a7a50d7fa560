"""Headless passes from a motion file: the built-in body skinned by the motion, one camera."""

from __future__ import annotations

import numpy as np

from ..body.fk import forward_kinematics_matrices
from ..body.rotations import axis_angle_to_matrix
from ..camera import Camera, Landmarks, align_to_photo, frame_motion
from ..errors import BadInput
from .render import PassRenderer, SkeletonOptions
from .sequence import PassesResult, parse_passes, render_sequence

MAGICANIMATE_FPS = 25.0


def motion_arrays(motion, fps=None):
    """(poses, trans, fps) of a Motion, resampled (slerp) when ``fps`` differs."""
    poses, trans = np.asarray(motion.poses, float), np.asarray(motion.trans, float)
    src = float(motion.fps)
    if fps is None or abs(float(fps) - src) < 1e-9:
        return poses, trans, src
    if not np.isfinite(fps) or fps <= 0 or fps > 240:
        raise BadInput(f"fps must be in (0, 240], got {fps}")
    from ..body.resample import resample_motion_arrays

    poses, trans, _ = resample_motion_arrays(poses, trans, src, float(fps))
    return poses, trans, float(fps)


def choose_camera(joints, global_rots0, width, height, camera=None, landmarks: Landmarks | None = None):
    """The clip's camera: given, aligned to a photo (letterboxed into width x height), or framed."""
    if camera is not None:
        return camera, None
    if landmarks is not None:
        al = align_to_photo(joints[0], landmarks, global_rots0=global_rots0)
        return al.camera.letterbox(width, height), al
    return frame_motion(joints, width, height), None


def render_motion_passes(motion, out_dir, *, passes=None, size: int = 512, width=None, height=None,
                         fps=None, camera: Camera | None = None, landmarks: Landmarks | None = None,
                         body=None, skeleton: SkeletonOptions | None = None, video: bool = True,
                         progress=None, chunk: int = 32) -> PassesResult:
    """Render the passes of ``motion`` (a Motion) into ``out_dir`` (the job's ``passes/``)."""
    from ..body.builtin_mesh import build_builtin_body, skin
    from ..body.skeleton import offsets_from_joints

    passes = parse_passes(passes)
    W = int(width or size)
    H = int(height or size)
    if not (16 <= W <= 8192 and 16 <= H <= 8192):
        raise BadInput(f"image size {W}x{H} out of range (16..8192)")
    poses, trans, out_fps = motion_arrays(motion, fps)
    body = body or build_builtin_body()
    offsets = offsets_from_joints(body.rest_joints)
    joints, rots = forward_kinematics_matrices(axis_angle_to_matrix(poses), trans, offsets)
    cam, alignment = choose_camera(joints, rots[0], W, H, camera, landmarks)
    renderer = PassRenderer(body.faces, body.face_parts, body.uv, cam, rest_vertices=body.vertices,
                            skeleton=skeleton)
    T = len(poses)

    def frames():
        for a in range(0, T, chunk):
            V = skin(body, poses[a:a + chunk], trans[a:a + chunk], offsets)
            for k in range(len(V)):
                yield V[k], joints[a + k], rots[a + k]

    uv = cam.project(joints)
    out_of_view = np.any((uv[..., 0] < 0) | (uv[..., 0] > W - 1) | (uv[..., 1] < 0) | (uv[..., 1] > H - 1), axis=1)
    extra = {"source": "motion", "engine": "numpy-raster",
             # frames where some joint leaves the image (possible with a photo-aligned camera)
             "frames_with_joints_out_of_view": int(out_of_view.sum())}
    if alignment is not None:
        extra["alignment"] = alignment.to_dict()
        extra["photo_size"] = [landmarks.width, landmarks.height]
    return render_sequence(frames(), T, renderer, out_dir, passes=passes, fps=out_fps, video=video,
                           progress=progress, extra_json=extra)


def fitted_renderer(fit, camera, skeleton: SkeletonOptions | None = None) -> PassRenderer:
    """A renderer of ``fit``'s body (its hidden parts left out: a half body's legs) seen by ``camera``.
    The surface animator rasterizes with the same faces, so its frames match these passes."""
    from ..body.fit import visible_faces

    body = fit.body()
    faces = visible_faces(body, fit.hidden_parts)
    return PassRenderer(body.faces[faces], body.face_parts[faces], body.uv, camera,
                        rest_vertices=body.vertices, skeleton=skeleton)


def render_fitted_passes(poses, trans, fit, camera: Camera, out_dir, *, passes=None, fps: float = 30.0,
                         skeleton: SkeletonOptions | None = None, video: bool = True, progress=None,
                         chunk: int = 32, extra: dict | None = None) -> PassesResult:
    """Passes of the body fitted to the photo (``fit``, a BodyFit) dancing ``poses``/``trans`` (the
    dance on that body, animate.dancer.dance_for_fit), seen by the video's ``camera``."""
    from ..body.builtin_mesh import skin
    from ..body.skeleton import offsets_from_joints

    passes = parse_passes(passes)
    poses, trans = np.asarray(poses, float), np.asarray(trans, float)
    body = fit.body()
    offsets = offsets_from_joints(body.rest_joints)
    joints, rots = forward_kinematics_matrices(axis_angle_to_matrix(poses), trans, offsets)
    renderer = fitted_renderer(fit, camera, skeleton)
    T = len(poses)

    def frames():
        for a in range(0, T, chunk):
            V = skin(body, poses[a:a + chunk], trans[a:a + chunk], offsets)
            for k in range(len(V)):
                yield V[k], joints[a + k], rots[a + k]

    uv = camera.project(joints)
    W, H = camera.width, camera.height
    out_of_view = np.any((uv[..., 0] < 0) | (uv[..., 0] > W - 1) | (uv[..., 1] < 0) | (uv[..., 1] > H - 1), axis=1)
    info = {"source": "body_fit", "engine": "numpy-raster", "hidden_parts": [int(p) for p in fit.hidden_parts],
            "frames_with_joints_out_of_view": int(out_of_view.sum()), **(extra or {})}
    return render_sequence(frames(), T, renderer, out_dir, passes=passes, fps=float(fps), video=video,
                           progress=progress, extra_json=info)
