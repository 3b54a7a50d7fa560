"""The dancer as seen from the camera: the dance put on the body fitted to the photo.

Two ways in:
- :func:`dancer_from_fit` (the job's way): the motion's rotations drive the fitted body
  (magicdance_core.body.fit), turned to face where the photo's person faces and standing where
  they stand; the video's camera is the fit's camera through the job's framing
  (:mod:`.placement`). The guidance passes are rendered from exactly this (``fitted_passes``), so
  pass and video agree by construction.
- :func:`dancer_from_motion`: the motion's own skeleton with a camera aligned to the photo's
  landmarks on frame 0 (the older way, kept for callers that have no fit).
"""

from __future__ import annotations

import math

import numpy as np

from ..body.motion_file import Motion
from ..body.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from .base import DancerInput


def _yaw_matrix(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def dance_for_fit(motion: Motion, fit) -> tuple:
    """(poses (T,24,3), trans (T,3)) of ``motion`` on ``fit``'s body.

    The dance is turned by the photo's facing yaw (a side-view photo dances seen from the side, so
    the pixels the photo has stay in view), scaled by the fit's leg length, and placed where the
    photo's pelvis is. A half-body photo keeps its pelvis where it is: its bottom edge cuts the
    body, and travel or bounce would show the cut.
    """
    from ..body.fit import _root_yaw

    poses = np.asarray(motion.poses, np.float64).copy()
    trans = np.asarray(motion.trans, np.float64)
    Ry = _yaw_matrix(_root_yaw(fit.pose[0]))
    poses[:, 0] = matrix_to_axis_angle(Ry @ axis_angle_to_matrix(poses[:, 0]))
    s = float(fit.scale)
    out = np.repeat(np.asarray(fit.trans, np.float64)[None], len(poses), axis=0)
    if not fit.half_body:
        d = (trans - trans[0]) @ Ry.T * s
        out[:, [0, 2]] += d[:, [0, 2]]
        # height above the floor (y = 0 in both): the dance's own, at the fit's scale
        out[:, 1] = trans[:, 1] * s
    return poses, out


def dancer_from_fit(motion: Motion, fit, placement, passes_dir=None) -> DancerInput:
    """The dance on the fitted body; joints in photo pixels (the fit's camera, as the puppet
    expects), ``camera`` the video's."""
    from ..body.fk import forward_kinematics_matrices

    poses, trans = dance_for_fit(motion, fit)
    joints, _ = forward_kinematics_matrices(axis_angle_to_matrix(poses), trans, fit.offsets)
    uv, z = fit.camera.project(joints, return_depth=True)
    return DancerInput(joints2d=uv, depth=z, joints3d=joints, focal_px=float(fit.camera.f),
                       fps=float(motion.fps), passes_dir=passes_dir, poses=poses, trans=trans,
                       camera=placement.camera(fit.camera), placement=placement, fit=fit)


def dancer_from_motion(motion: Motion, photo, passes_dir=None, camera=None) -> DancerInput:
    """Project ``motion``'s joints with ``camera`` (default: aligned to ``photo`` on frame 0)."""
    from ..camera import align_to_photo

    joints = np.asarray(motion.joints, dtype=np.float64)
    if camera is None:
        camera = align_to_photo(joints[0], photo.camera_landmarks()).camera
    uv, z = camera.project(joints, return_depth=True)
    return DancerInput(joints2d=uv, depth=z, joints3d=joints, focal_px=float(camera.f),
                       fps=float(motion.fps), passes_dir=passes_dir)
