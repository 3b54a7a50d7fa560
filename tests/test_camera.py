import json

import numpy as np
import pytest

from magicdance_core import camera as C
from magicdance_core.body.fk import forward_kinematics
from magicdance_core.body.skeleton import JOINT_INDEX as J, REST_PELVIS_HEIGHT, rest_joints
from magicdance_core.errors import BadInput
from magicdance_core.passes.keypoints import head_points


def _arms_down_pose():
    poses = np.zeros((24, 3))
    poses[J["left_shoulder"]] = [0, 0, -1.2]
    poses[J["right_shoulder"]] = [0, 0, 1.2]
    return poses


def _dance(T=60, seed=0):
    rng = np.random.default_rng(seed)
    poses = np.repeat(_arms_down_pose()[None], T, 0)
    poses += 0.3 * np.sin(np.linspace(0, 6, T))[:, None, None] * rng.normal(size=(1, 24, 3))
    trans = np.zeros((T, 3))
    trans[:, 1] = REST_PELVIS_HEIGHT
    trans[:, 0] = 0.8 * np.sin(np.linspace(0, 3, T))
    return forward_kinematics(poses, trans)


def _photo_landmarks(joints, cam, vis_legs=True, vis_hips=True):
    """Fake mediapipe landmarks of a *differently proportioned* person."""
    j = joints.copy()
    hip = 0.5 * (j[1] + j[2])
    j = hip + (j - hip) * np.array([1.08, 0.95, 1.0])  # broader, shorter person
    hp = head_points(j)
    pts = np.zeros((33, 3))
    pts[:, 2] = 0.9
    world = {0: hp["nose"], 2: hp["left_eye"], 5: hp["right_eye"], 7: hp["left_ear"], 8: hp["right_ear"],
             11: j[J["left_shoulder"]], 12: j[J["right_shoulder"]], 23: j[J["left_hip"]],
             24: j[J["right_hip"]], 25: j[J["left_knee"]], 26: j[J["right_knee"]],
             27: j[J["left_ankle"]], 28: j[J["right_ankle"]]}
    for i, p in world.items():
        pts[i, :2] = cam.project(p)
    if not vis_legs:
        pts[25:33, 2] = 0.05
    if not vis_hips:
        pts[23:25, 2] = 0.1
    return C.make_landmarks(pts, cam.width, cam.height)


def test_projection_axes():
    cam = C.make_camera(640, 480, 500.0, position=[0, 1, 4], view_dir=[0, 0, -1])
    uv, z = cam.project(np.array([[0, 1, 0], [1, 1, 0], [0, 2, 0]]), return_depth=True)
    np.testing.assert_allclose(uv[0], [319.5, 239.5])
    assert uv[1, 0] > uv[0, 0]           # world +X (person's left when facing us) -> image right
    assert uv[2, 1] < uv[0, 1]           # world up -> image up (y down)
    np.testing.assert_allclose(z, 4.0)
    np.testing.assert_allclose(cam.position, [0, 1, 4])
    cam2 = C.Camera.from_dict(json.loads(json.dumps(cam.to_dict())))
    np.testing.assert_allclose(cam2.project([0.3, 0.2, 0.1]), cam.project([0.3, 0.2, 0.1]))


def test_focal_helpers():
    assert C.focal_from_fov(90, 512, 256) == pytest.approx(256)
    assert C.focal_from_mm(50, 36, 1920, 1080) == pytest.approx(50 / 36 * 1920)


@pytest.mark.parametrize("size", [(512, 512), (640, 360), (300, 700)])
def test_framing_keeps_every_frame_in_view_and_is_fixed(size):
    W, H = size
    joints = _dance()
    cam = C.frame_motion(joints, W, H)
    uv = cam.project(joints)
    assert uv[..., 0].min() > 0 and uv[..., 0].max() < W - 1
    assert uv[..., 1].min() > 0 and uv[..., 1].max() < H - 1
    # the body fills the constraining side: joints span a good part of the image
    span = max((uv[..., 0].max() - uv[..., 0].min()) / W, (uv[..., 1].max() - uv[..., 1].min()) / H)
    assert span > 0.6
    # a level camera looking at the front of frame 0
    assert abs(cam.forward[1]) < 1e-9 and cam.forward[2] < -0.9
    # square pixels: a 1 m horizontal and a 1 m vertical segment at the same depth look equally long
    c = joints[0, 0]
    a, b, v = cam.project(np.array([c, c + cam.right, c + cam.up]))
    assert np.linalg.norm(b - a) == pytest.approx(np.linalg.norm(v - a), rel=1e-9)


def test_letterbox_places_points_like_the_padded_image():
    cam = C.make_camera(400, 800, 700.0, [0, 1, 5], [0, 0, -1])
    sq = cam.letterbox(512, 512)
    s, ox, oy = C.letterbox_transform(400, 800, 512, 512)
    p = np.array([0.3, 1.4, 0.2])
    np.testing.assert_allclose(sq.project(p), cam.project(p) * s + [ox, oy])
    assert sq.width == 512 and s == pytest.approx(0.64)


@pytest.mark.parametrize("legs,hips", [(True, True), (False, True), (False, False)])
def test_align_to_photo(legs, hips):
    joints = _dance()
    j0 = joints[0]
    true = C.make_camera(720, 1280, 1100.0, j0[0] + [0.25, 0.2, 3.2], [0, 0, -1])
    lm = _photo_landmarks(j0, true, vis_legs=legs, vis_hips=hips)
    al = C.align_to_photo(j0, lm)
    cam = al.camera
    assert (cam.width, cam.height) == (720, 1280)
    pj = cam.project(j0)
    if hips:
        target = 0.5 * (lm.points[23] + lm.points[24])
        got = 0.5 * (pj[J["left_hip"]] + pj[J["right_hip"]])
        assert al.anchor == "hips"
    else:
        target = 0.5 * (lm.points[11] + lm.points[12])
        got = 0.5 * (pj[J["left_shoulder"]] + pj[J["right_shoulder"]])
        assert al.anchor == "shoulders"
    assert np.linalg.norm(got - target) < 2.0
    sw_photo = np.linalg.norm(lm.points[11] - lm.points[12])
    sw = np.linalg.norm(pj[J["left_shoulder"]] - pj[J["right_shoulder"]])
    assert abs(sw / sw_photo - 1) < 0.05
    assert al.half_body == (not legs)
    # the head lands near the photo's head (within a quarter of the shoulder width)
    assert np.hypot(*al.head_offset_px) < 0.25 * sw_photo
    # the person's left shoulder stays on the image's right for a person facing the camera
    assert pj[J["left_shoulder"], 0] > pj[J["right_shoulder"], 0]


def test_align_rejects_photo_without_shoulders(tmp_path):
    pts = np.zeros((33, 3))
    pts[:, :2] = 100
    with pytest.raises(BadInput):
        C.align_to_photo(rest_joints(), C.make_landmarks(pts, 640, 480))
    with pytest.raises(BadInput):
        C.make_landmarks(np.zeros((5, 3)), 640, 480)


def test_landmarks_json_round_trip_and_errors(tmp_path):
    pts = np.random.default_rng(0).uniform(0, 500, (33, 3))
    pts[:, 2] = 0.7
    lm = C.make_landmarks(pts, 640, 480)
    p = tmp_path / "lm.json"
    C.save_landmarks_json(lm, p)
    lm2 = C.load_landmarks_json(p)
    np.testing.assert_allclose(lm2.points, lm.points)
    np.testing.assert_allclose(lm2.visibility, 0.7)
    q = tmp_path / "norm.json"
    q.write_text(json.dumps({"width": 200, "height": 100, "normalized": True,
                             "landmarks": [{"x": 0.5, "y": 0.5, "visibility": 1}] * 33}))
    np.testing.assert_allclose(C.load_landmarks_json(q).points[0], [100, 50])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BadInput):
        C.load_landmarks_json(bad)
    with pytest.raises(BadInput):
        C.load_landmarks_json(tmp_path / "missing.json")


def test_align_turned_person_scales_by_torso_and_says_so():
    joints = _dance()
    j0 = joints[0]
    true = C.make_camera(720, 1280, 1100.0, j0[0] + [0.0, 0.2, 3.2], [0, 0, -1])
    lm = _photo_landmarks(j0, true)
    # squeeze the shoulders toward their centre: a person seen from the side
    c = 0.5 * (lm.points[11] + lm.points[12])
    lm.points[[11, 12]] = c + 0.3 * (lm.points[[11, 12]] - c)
    al = C.align_to_photo(j0, lm)
    assert al.notes and "turned" in al.notes[0]
    pj = al.camera.project(j0)
    torso = np.linalg.norm(pj[[16, 17]].mean(0) - pj[[1, 2]].mean(0))
    torso_photo = np.linalg.norm(lm.points[[11, 12]].mean(0) - lm.points[[23, 24]].mean(0))
    assert abs(torso / torso_photo - 1) < 0.1


def test_framing_a_lying_body_still_gives_a_valid_camera():
    poses = np.zeros((1, 24, 3))
    poses[0, 0] = [0, 0, np.pi / 2]          # rolled onto its side: hips one above the other
    trans = np.array([[0, 0.3, 0]])
    j = forward_kinematics(poses, trans)
    cam = C.frame_motion(j, 256, 256)
    assert np.all(np.isfinite(cam.R)) and np.all(np.isfinite(cam.t))
    uv = cam.project(j[0])
    assert np.all((uv > 0) & (uv < 255))
    with pytest.raises(BadInput):
        C.frame_motion(j, 256, 256, view_dir=[0, 1, 0])
