"""The puppet animator: identity at the photo's pose, rigid face, depth order, speed; yaw limit."""

import time
from pathlib import Path

import numpy as np
import pytest

from magicdance_core.animate.base import AnimateOptions, DancerInput, available, get_animator
from magicdance_core.animate.facing import limit_yaw, root_yaw
from magicdance_core.animate.puppet import PARTS, build_rig, part_transforms, render_frame
from magicdance_core.body.motion_file import Motion
from magicdance_core.errors import MissingModel
from magicdance_core.photo.analyze import analyze_photo

EX = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def astronaut():
    return analyze_photo(EX / "astronaut.jpg")


@pytest.fixture(scope="module")
def rig(astronaut):
    return build_rig(astronaut, 256)


def _canvas_photo(rig, photo):
    import cv2

    return cv2.warpAffine(photo.image, rig.canvas_from_photo, (rig.size, rig.size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def test_photo_pose_reproduces_the_photo(rig, astronaut):
    depths = {p: 1.0 for p in PARTS}
    f = render_frame(rig, rig.joints.copy(), depths)
    ref = _canvas_photo(rig, astronaut)
    m = np.zeros(f.shape[:2], bool)
    import cv2

    mask = cv2.warpAffine(astronaut.mask, rig.canvas_from_photo, (rig.size, rig.size))
    m = mask > 0.95
    err = np.abs(f[m].astype(int) - ref[m].astype(int)).mean()
    assert err < 4.0, err


def test_face_is_rigid_and_exact_under_a_shift(rig, astronaut):
    tg = rig.joints.copy() + np.array([7.0, -5.0])  # the whole body moves by whole pixels
    f = render_frame(rig, tg, {p: 1.0 for p in PARTS})
    A = part_transforms(rig, tg, 1.0)["head"]
    np.testing.assert_allclose(A[:, :2], np.eye(2), atol=1e-9)
    x0, y0, x1, y1 = rig.face_box
    dx, dy = 0.2 * (x1 - x0), 0.2 * (y1 - y0)  # the inner face: no background plate at its edge
    x0, y0, x1, y1 = (int(round(v)) for v in (x0 + dx, y0 + dy, x1 - dx, y1 - dy))
    ref = _canvas_photo(rig, astronaut)[y0:y1, x0:x1]
    out = f[y0 - 5:y1 - 5, x0 + 7:x1 + 7]
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 2


def test_depth_order_decides_what_is_in_front(rig):
    tg = rig.joints.copy()
    tg[[10, 12]] = tg[8] + np.array([[0.0, 0.0], [0.0, 0.0]])  # fold the left arm over the torso
    tg[10] = tg[8] + np.array([-40.0, 10.0])
    tg[12] = tg[10] + np.array([0.0, 40.0])
    near = {p: 2.0 for p in PARTS}
    near["l_upper_arm"] = near["l_forearm"] = 1.0   # arm nearer -> drawn last
    far = {p: 1.0 for p in PARTS}
    far["l_upper_arm"] = far["l_forearm"] = 2.0
    a, b = render_frame(rig, tg, near), render_frame(rig, tg, far)
    assert np.abs(a.astype(int) - b.astype(int)).sum() > 1000


def test_animate_yields_frames_fast(rig, astronaut):
    T = 40
    j2 = np.zeros((T, 24, 2))
    an = get_animator("puppet")
    # a synthetic dancer: the photo's own joints swaying (so the projection is known)
    from magicdance_core.camera import align_to_photo
    from magicdance_core.body.skeleton import rest_joints

    rest = rest_joints()
    rest[:, 1] += 0.974
    cam = align_to_photo(rest, astronaut.camera_landmarks()).camera
    joints = np.repeat(rest[None], T, axis=0)
    joints[:, :, 0] += 0.05 * np.sin(np.linspace(0, 6, T))[:, None]
    uv, z = cam.project(joints, return_depth=True)
    d = DancerInput(uv, z, joints, cam.f)
    opt = AnimateOptions(size=256)
    t = time.monotonic()
    frames = list(an.animate(rig, d, opt))
    fps = T / (time.monotonic() - t)
    assert len(frames) == T and frames[0].shape == (256, 256, 3) and frames[0].dtype == np.uint8
    assert np.abs(frames[10].astype(int) - frames[30].astype(int)).sum() > 0
    assert fps > 10, fps  # the benchmark measures 512² (RESULTS.md); this guards against regressions


def test_diffusion_animator_needs_weights(tmp_path, astronaut):
    assert {"puppet", "diffusion"} <= set(available())
    with pytest.raises(MissingModel, match="MagicAnimate"):
        get_animator("diffusion").prepare(astronaut, AnimateOptions())
    with pytest.raises(MissingModel, match="lacks"):
        get_animator("diffusion", weights=str(tmp_path)).prepare(astronaut, AnimateOptions())


def test_yaw_limit():
    T = 60
    poses = np.zeros((T, 24, 3), np.float32)
    poses[:, 0, 1] = np.linspace(0, np.pi, T)  # a half turn about +Y
    m = Motion(poses=poses, trans=np.tile([0, 0.974, 0], (T, 1)))
    lim = limit_yaw(m, 30.0)
    y = np.degrees(root_yaw(lim))
    assert np.abs(y).max() <= 30.0 + 1e-6
    assert np.all(np.diff(y) >= -1e-6)  # still turning the same way, smoothly bounded
    np.testing.assert_allclose(np.degrees(root_yaw(m))[:3], y[:3], atol=0.5)
