import json

import cv2
import numpy as np
import pytest
from PIL import Image

from magicdance_core import camera as Cam
from magicdance_core.body.builtin_mesh import build_builtin_body, skin
from magicdance_core.body.fk import forward_kinematics_matrices
from magicdance_core.body.motion_file import Motion, save_motion
from magicdance_core.body.rotations import axis_angle_to_matrix
from magicdance_core.body.skeleton import JOINT_INDEX as J, REST_PELVIS_HEIGHT
from magicdance_core.errors import BadInput, Cancelled
from magicdance_core.passes import colors as C
from magicdance_core.passes.api import render_motion_passes
from magicdance_core.passes.keypoints import coco18_world
from magicdance_core.passes.openpose import validate_openpose_json
from magicdance_core.passes.png import encode_png, write_png
from magicdance_core.passes.render import PassRenderer


@pytest.fixture(scope="module")
def body():
    return build_builtin_body()


def _pose(T=1, yaw=0.0):
    poses = np.zeros((T, 24, 3))
    poses[:, J["left_shoulder"]] = [0, 0, -1.1]
    poses[:, J["right_shoulder"]] = [0, 0, 1.1]
    poses[:, 0, 1] = yaw
    trans = np.zeros((T, 3))
    trans[:, 1] = REST_PELVIS_HEIGHT
    return poses, trans


def _render(body, poses, trans, size=256, camera=None, passes=("densepose", "iuv", "depth", "normal", "mask",
                                                                  "semantic", "skeleton", "keypoints")):
    pos, rot = forward_kinematics_matrices(axis_angle_to_matrix(poses), trans)
    cam = camera or Cam.frame_motion(pos, size, size, view_dir=[0, 0, -1])
    pr = PassRenderer(body.faces, body.face_parts, body.uv, cam, rest_vertices=body.vertices)
    V = skin(body, poses, trans)
    return [pr.render(V[i], pos[i], rot[i], passes) for i in range(len(V))], cam, pos, rot


def _dance_motion(T=24):
    rng = np.random.default_rng(3)
    poses, trans = _pose(T)
    poses += 0.25 * np.sin(np.linspace(0, 4, T))[:, None, None] * rng.normal(size=(1, 24, 3))
    trans[:, 0] = 0.3 * np.sin(np.linspace(0, 3, T))
    return Motion(poses=poses, trans=trans)


def _colour_set(img):
    return set(map(tuple, np.unique(img.reshape(-1, 3), axis=0)))


def test_every_densepose_pixel_is_a_table_colour(body):
    m = _dance_motion(8)
    frames, *_ = _render(body, m.poses, m.trans, passes=("densepose", "mask"))
    table = set(map(tuple, C.DENSEPOSE_COLORS))
    for fr in frames:
        cols = _colour_set(fr["densepose"])
        assert cols <= table
        assert len(cols) >= 10          # many parts are visible
        # the mask is exactly the non-background area
        np.testing.assert_array_equal(fr["mask"] > 0, np.any(fr["densepose"] != C.DENSEPOSE_COLORS[0], -1))


def _centroid(fr, parts):
    ids = C.part_ids_from_densepose(fr["densepose"])
    ys, xs = np.nonzero(np.isin(ids, parts))
    assert len(xs) > 0, parts
    return xs.mean(), ys.mean()


def test_part_layout_upright_and_left_right_not_swapped(body):
    (front,), *_ = _render(body, *_pose(1, 0.0), passes=("densepose",))
    head = _centroid(front, [23, 24])
    torso = _centroid(front, [1, 2])
    feet = _centroid(front, [5, 6])
    assert head[1] < torso[1] < feet[1]           # upright: head above pelvis above feet
    lh, rh = _centroid(front, [4]), _centroid(front, [3])
    assert lh[0] > rh[0] + 50                     # facing the camera: person's left hand on image right
    lf, rf = _centroid(front, [5]), _centroid(front, [6])
    assert lf[0] > rf[0]
    # turned around (back to the camera, same fixed camera looking along -Z): sides flip in the image
    poses, trans = _pose(1, np.pi)
    pos, _ = forward_kinematics_matrices(axis_angle_to_matrix(poses), trans)
    cam = Cam.frame_motion(pos, 256, 256, view_dir=[0, 0, -1])
    (back,), *_ = _render(body, poses, trans, camera=cam, passes=("densepose",))
    assert _centroid(back, [4])[0] < _centroid(back, [3])[0]
    ids = C.part_ids_from_densepose(back["densepose"])
    assert (ids == 1).sum() > (ids == 2).sum()   # the torso's back (part 1) faces us


def _plane(z, half=0.5):
    v = np.array([[-half, 1 - half, z], [half, 1 - half, z], [half, 1 + half, z], [-half, 1 + half, z]], float)
    f = np.array([[0, 1, 2], [0, 2, 3]])      # counter-clockwise seen from +Z (the camera)
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    return v, f, uv


def test_camera_facing_plane_normal_is_128_128_255():
    cam = Cam.make_camera(128, 128, 150.0, [0, 1, 3], [0, 0, -1])
    v, f, uv = _plane(0.0)
    pr = PassRenderer(f, [2, 2], uv, cam)
    out = pr.render(v, np.zeros((24, 3)), None, ("normal", "mask", "iuv"))
    m = out["mask"] > 0
    assert m.sum() > 1000
    assert set(map(tuple, out["normal"][m])) == {(128, 128, 255)}
    assert not out["normal"][~m].any()
    # U grows to the right, V upward on this quad; I is the part id
    iuv = out["iuv"]
    assert set(np.unique(iuv[..., 0][m])) == {2}
    ys, xs = np.nonzero(m)
    left, right = iuv[ys[xs.argmin()], xs.min(), 1], iuv[ys[xs.argmax()], xs.max(), 1]
    assert left < 3000 and right > 62000
    # a plane tilted to face the camera's right gets x > 128
    R = np.array([[np.cos(0.5), 0, np.sin(0.5)], [0, 1, 0], [-np.sin(0.5), 0, np.cos(0.5)]])
    vt = (v - [0, 1, 0]) @ R.T + [0, 1, 0]
    n = pr.render(vt, np.zeros((24, 3)), None, ("normal", "mask"))
    nm = n["normal"][n["mask"] > 0].astype(int)
    assert np.all(nm[:, 0] > 128 + 40) and np.all(np.abs(nm[:, 1] - 128) <= 1)


def test_depth_is_ordered():
    cam = Cam.make_camera(128, 128, 150.0, [0, 1, 3], [0, 0, -1])
    va, fa, uva = _plane(0.0, 0.6)
    vb, fb, uvb = _plane(1.0, 0.2)                 # a small plane 1 m nearer, in front
    v = np.concatenate([va, vb])
    f = np.concatenate([fa, fb + 4])
    pr = PassRenderer(f, [1, 1, 2, 2], np.concatenate([uva, uvb]), cam)
    out = pr.render(v, np.zeros((24, 3)), None, ("depth", "densepose"))
    d = out["depth"]
    ids = C.part_ids_from_densepose(out["densepose"])
    assert d[ids == 0].max() == 0                   # background 0
    assert d[ids == 2].min() == 255 and d[ids == 2].max() == 255   # nearest -> 255
    assert 0 < d[ids == 1].max() < 255              # farther -> darker
    # on the body: an arm reaching toward the camera is brighter than the back of the torso


def test_body_depth_arm_toward_camera_is_brighter(body):
    poses, trans = _pose(1)
    poses[0, J["left_shoulder"]] = [0, -1.4, 0]     # left arm points forward (+Z, toward the camera)
    (fr,), cam, pos, _ = _render(body, poses, trans, passes=("depth", "densepose"))
    ids = C.part_ids_from_densepose(fr["densepose"])
    hand = fr["depth"][ids == 4]
    torso = fr["depth"][np.isin(ids, [1, 2])]
    assert hand.size and torso.size
    assert np.median(hand) > np.median(torso) + 20


def test_keypoints_equal_projected_joints(body):
    m = _dance_motion(5)
    frames, cam, pos, rot = _render(body, m.poses, m.trans, passes=("skeleton", "keypoints"))
    for i, fr in enumerate(frames):
        d = fr["keypoints"]
        validate_openpose_json(json.loads(json.dumps(d)))
        k = np.array(d["people"][0]["pose_keypoints_2d"]).reshape(18, 3)
        expect = cam.project(coco18_world(pos[i], rot[i]))
        vis = k[:, 2] > 0
        assert vis[:14].all()                       # all body joints visible in a framed dance
        assert np.abs(k[vis, :2] - expect[vis]).max() <= 0.5
        # body joints are the SMPL joints themselves
        np.testing.assert_allclose(k[2, :2], cam.project(pos[i, J["right_shoulder"]]), atol=0.5)
        np.testing.assert_allclose(k[1, :2], cam.project(pos[i, [16, 17]].mean(0)), atol=0.5)
        # the skeleton image has each visible joint's colour at its keypoint
        img = fr["skeleton"]
        for j in np.nonzero(vis)[0][:14]:
            x, y = np.round(k[j, :2]).astype(int)
            assert img[y, x].max() > 0
        assert img.max() == 255                     # joint dots at full colour
    # the image's right wrist colour is the standard one (red/blue order option swaps it)
    assert tuple(C.OPENPOSE_COLORS[4]) == (170, 255, 0)


def test_openpose_json_schema_rejects_bad():
    with pytest.raises(ValueError):
        validate_openpose_json({"version": 1.3, "people": [{"pose_keypoints_2d": [0] * 10}]})
    with pytest.raises(ValueError):
        validate_openpose_json({"people": []})


@pytest.mark.parametrize("arr", [
    np.random.default_rng(0).integers(0, 255, (33, 47, 3), dtype=np.uint8),
    np.random.default_rng(1).integers(0, 65535, (20, 31, 3), dtype=np.uint16),
    np.random.default_rng(2).integers(0, 255, (17, 9), dtype=np.uint8),
    np.random.default_rng(3).integers(0, 255, (5, 6, 4), dtype=np.uint8),
])
def test_png_writer_round_trips(tmp_path, arr):
    p = tmp_path / "x.png"
    write_png(p, arr)
    back = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if arr.ndim == 3:
        back = cv2.cvtColor(back, cv2.COLOR_BGR2RGB if arr.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    np.testing.assert_array_equal(back, arr)
    if arr.dtype == np.uint8:
        np.testing.assert_array_equal(np.asarray(Image.open(p)), arr)
    with pytest.raises(ValueError):
        encode_png(arr.astype(np.float32))


def test_sequence_files_fixed_camera_and_fps(tmp_path, body):
    m = _dance_motion(30)
    # only the left arm moves: the legs' pixels must not move at all (fixed camera, no jitter)
    m.poses[:] = m.poses[0]
    m.trans[:] = m.trans[0]
    m.poses[:, J["left_elbow"], 1] = np.linspace(0, 1.2, 30)
    res = render_motion_passes(m, tmp_path / "p", size=128, body=body)
    out = tmp_path / "p"
    for p in ("densepose", "iuv", "semantic", "depth", "normal", "mask", "skeleton"):
        assert len(list((out / p).glob("*.png"))) == 30
        assert (out / f"{p}.mp4").stat().st_size > 0
    assert len(list((out / "keypoints").glob("*.json"))) == 30
    man = json.loads((out / "passes.json").read_text())
    assert man["frames"] == 30 and man["fps"] == 30
    Cam.Camera.load(out / "camera.json")
    d0 = cv2.imread(str(out / "densepose/000000.png"))[..., ::-1]
    d29 = cv2.imread(str(out / "densepose/000029.png"))[..., ::-1]
    ids0, ids29 = C.part_ids_from_densepose(d0), C.part_ids_from_densepose(d29)
    legs = np.isin(ids0, [5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    assert legs.sum() > 100
    np.testing.assert_array_equal(ids0[legs], ids29[legs])
    assert (ids0 != ids29).any()                    # the arm did move
    iuv = cv2.imread(str(out / "iuv/000005.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert iuv.dtype == np.uint16
    dp5 = C.part_ids_from_densepose(cv2.imread(str(out / "densepose/000005.png"))[..., ::-1])
    np.testing.assert_array_equal(iuv[..., 0], dp5)
    from magicdance_core.video.reader import read_frames
    assert sum(1 for _ in read_frames(out / "densepose.mp4")) == 30
    # 25 fps (MagicAnimate's rate): one second of motion -> 25 frames... 30 frames span 29/30 s
    r25 = render_motion_passes(m, tmp_path / "p25", size=64, fps=25, passes="densepose", video=False, body=body)
    assert r25.frames == 25 and r25.fps == 25


def test_cancel_leaves_nothing(tmp_path, body):
    m = _dance_motion(20)
    calls = []

    def progress(stage, frac, msg=""):
        calls.append(frac)
        if stage == "passes" and frac > 0.3:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        render_motion_passes(m, tmp_path / "p", size=64, body=body, progress=progress)
    left = [p.name for p in (tmp_path / "p").iterdir()]
    assert left == [], left


def test_bad_input(tmp_path, body):
    m = _dance_motion(3)
    with pytest.raises(BadInput):
        render_motion_passes(m, tmp_path / "p", passes="densepose,bogus", body=body)
    with pytest.raises(BadInput):
        render_motion_passes(m, tmp_path / "p", size=4, body=body)
    with pytest.raises(BadInput):
        render_motion_passes(m, tmp_path / "p", fps=-1, body=body)


def test_cli_passes_with_landmarks(tmp_path, cli):
    m = _dance_motion(6)
    save_motion(m, tmp_path / "d.npz")
    # landmarks of a person in a 480x640 photo: project the dancer with some camera
    pos, rot = forward_kinematics_matrices(axis_angle_to_matrix(m.poses), m.trans)
    true = Cam.make_camera(480, 640, 600.0, pos[0, 0] + [0.1, 0.1, 3.0], [0, 0, -1])
    from magicdance_core.passes.keypoints import head_points
    hp = head_points(pos[0], rot[0])
    pts = np.zeros((33, 3))
    for i, p in {0: hp["nose"], 2: hp["left_eye"], 5: hp["right_eye"], 7: hp["left_ear"], 8: hp["right_ear"],
                 11: pos[0, 16], 12: pos[0, 17], 23: pos[0, 1], 24: pos[0, 2], 27: pos[0, 7], 28: pos[0, 8]}.items():
        pts[i, :2] = true.project(p)
        pts[i, 2] = 0.99
    Cam.save_landmarks_json(Cam.make_landmarks(pts, 480, 640), tmp_path / "lm.json")
    r = cli("passes", str(tmp_path / "d.npz"), "-o", str(tmp_path / "out"), "--size", "128",
            "--landmarks", str(tmp_path / "lm.json"), "--passes", "densepose,keypoints", "--no-video")
    assert r.returncode == 0, r.stderr
    man = json.loads((tmp_path / "out/passes.json").read_text())
    assert man["alignment"]["anchor"] == "hips" and man["alignment"]["hip_error_px"] < 2
    k = np.array(json.loads((tmp_path / "out/keypoints/000000.json").read_text())["people"][0]["pose_keypoints_2d"]).reshape(18, 3)
    s, ox, oy = Cam.letterbox_transform(480, 640, 128, 128)
    hips_photo = 0.5 * (pts[23, :2] + pts[24, :2]) * s + [ox, oy]
    np.testing.assert_allclose(0.5 * (k[8, :2] + k[11, :2]), hips_photo, atol=2 * s + 0.5)
    bad = cli("passes", str(tmp_path / "nope.npz"), "-o", str(tmp_path / "o2"))
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "Traceback" not in bad.stderr
    assert not (tmp_path / "o2").exists()


def test_cli_output_path_errors(tmp_path, cli):
    m = _dance_motion(2)
    save_motion(m, tmp_path / "d.npz")
    f = tmp_path / "file"
    f.write_text("x")
    r = cli("passes", tmp_path / "d.npz", "-o", f, "--size", "32")
    assert r.returncode == 2 and "not a folder" in r.stderr and "Traceback" not in r.stderr
    r = cli("passes", tmp_path / "d.npz", "-o", tmp_path / "o", "--size", "32", "--fps", "0")
    assert r.returncode == 2 and "fps" in r.stderr
    (tmp_path / "lm.json").write_text('{"image_size": [10, 10], "landmarks": [[1, 2]]}')
    r = cli("passes", tmp_path / "d.npz", "-o", tmp_path / "o", "--landmarks", tmp_path / "lm.json")
    assert r.returncode == 2 and "landmarks" in r.stderr
    assert not (tmp_path / "o").exists()


def test_frontal_head_shows_right_and_left_halves(body):
    # DensePose splits the head into the person's right (23) and left (24) halves: a face
    # toward the camera shows both colours side by side, the left half on the image's right.
    (front,), *_ = _render(body, *_pose(1, 0.0), passes=("densepose",))
    ids = C.part_ids_from_densepose(front["densepose"])
    n23, n24 = (ids == 23).sum(), (ids == 24).sum()
    assert n23 > 100 and n24 > 100 and 0.7 < n23 / n24 < 1.4
    assert _centroid(front, [24])[0] > _centroid(front, [23])[0] + 5
    # the two colours meet on the same image rows (side by side, not above/below)
    rows23 = set(np.nonzero(ids == 23)[0])
    rows24 = set(np.nonzero(ids == 24)[0])
    assert len(rows23 & rows24) > 0.8 * min(len(rows23), len(rows24))
    # arms: the front halves (lower ids for arms, higher for legs) face the camera
    for front_id, back_id in ((15, 17), (16, 18), (9, 7), (10, 8), (2, 1)):
        assert (ids == front_id).sum() > (ids == back_id).sum(), (front_id, back_id)
