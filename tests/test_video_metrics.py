"""Video metrics against the job's own DensePose pass (magicdance_core.metrics.video).

The fixture is exact: examples/mannequin.png is a Workbench render of the built-in body in an
A-pose (examples/make_mannequin_photo.py); rasterizing the same posed body with the same camera
gives its DensePose pass pixel for pixel. A video of that photo scores high; the same video
shifted, a pass with its left/right parts swapped, a detached piece of person or a blurred face
score low, so each metric can fail.
"""

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from magicdance_core.metrics import video as V

ROOT = Path(__file__).resolve().parents[1]
N = 4


def _mannequin_pass() -> np.ndarray:
    from magicdance_core.body.builtin_mesh import build_builtin_body, skin
    from magicdance_core.body.skeleton import JOINT_INDEX as J, REST_PELVIS_HEIGHT
    from magicdance_core.camera import make_camera
    from magicdance_core.passes.colors import part_ids_from_densepose
    from magicdance_core.passes.render import PassRenderer

    # pose and camera exactly as examples/make_mannequin_photo.py renders them
    body = build_builtin_body()
    poses = np.zeros((24, 3))
    a = math.radians(58)
    poses[J["left_shoulder"]], poses[J["right_shoulder"]] = (0, 0, -a), (0, 0, a)
    poses[J["left_elbow"]], poses[J["right_elbow"]] = (0, 0, -0.12), (0, 0, 0.12)
    poses[J["left_hip"]], poses[J["right_hip"]] = (0, 0, 0.07), (0, 0, -0.07)
    verts = skin(body, poses, np.array([0.0, REST_PELVIS_HEIGHT, 0.0]))
    W, H = 384, 640
    cam = make_camera(W, H, (H / 2) / math.tan(math.radians(12)), (0, 1.0, 5.5), (0, 0, -1))
    r = PassRenderer(body.faces, body.face_parts, body.uv, cam, rest_vertices=body.vertices)
    return part_ids_from_densepose(r.render(verts, np.zeros((24, 3)), passes=("densepose",))["densepose"])


@pytest.fixture(scope="module")
def scene():
    from magicdance_core.photo.analyze import analyze_photo

    pa = analyze_photo(ROOT / "examples/mannequin.png")
    ids = _mannequin_pass().astype(np.int16)
    assert pa.image.shape[:2] == ids.shape
    return pa, ids


def test_video_of_its_own_pass_scores_high_and_a_shifted_one_low(scene):
    pa, ids = scene
    good = V.video_metrics([pa.image] * N, [ids] * N, pa)
    assert good.detected_frames == 1.0
    assert good.joint_on_part >= 0.95 and good.joint_checks >= 12 * N
    assert good.body_coverage >= 0.95
    assert good.fragments_per_frame == 0
    assert good.face_frames == N and good.face_ssim_mean >= 0.9

    shifted = V.video_metrics([np.roll(pa.image, 30, axis=1)] * N, [ids] * N, pa)
    assert shifted.joint_on_part < 0.6
    assert shifted.body_coverage < 0.75
    # face SSIM is after alignment: a shift alone does not change the face
    assert shifted.face_ssim_mean >= 0.9


def test_joints_must_land_on_their_own_side(scene):
    pa, ids = scene
    swap = np.arange(25)
    for a, b in [(3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18), (19, 20), (21, 22)]:
        swap[a], swap[b] = b, a
    m = V.video_metrics([pa.image] * 2, [swap[ids].astype(np.int16)] * 2, pa)
    assert m.body_coverage >= 0.95            # the silhouette is the same
    assert m.joint_on_part < 0.5              # only nose, shoulders and hips (torso) still agree
    assert m.joint_on_part_by_joint["left_wrist"] == 0.0


def test_detached_piece_and_blurred_face_are_caught(scene):
    pa, ids = scene
    frame = pa.image.copy()
    small = cv2.resize(frame[60:330, 40:344], None, fx=0.5, fy=0.5)   # a floating upper body
    frame[5:5 + small.shape[0], 5:5 + small.shape[1]] = small
    m = V.video_metrics([frame] * 2, [ids] * 2, None)
    assert m.fragments_per_frame == 1 and m.fragments_max == 1
    assert m.face_ssim_mean is None                          # no photo, no face comparison

    blurred = pa.image.copy()
    x0, y0, x1, y1 = (int(v) for v in pa.face_box)
    blurred[y0:y1, x0:x1] = cv2.GaussianBlur(blurred[y0:y1, x0:x1], (0, 0), 1.5)
    m = V.video_metrics([blurred] * 2, [ids] * 2, pa)
    assert m.face_frames == 2 and m.face_ssim_mean < 0.88


def test_other_people_of_the_photo_are_not_fragments():
    person = np.zeros((100, 100), bool)
    person[20:80, 10:40] = True          # the dancer
    person[30:70, 60:90] = True          # someone else
    body = np.zeros_like(person)
    body[30:70, 15:35] = True
    assert V.detached_fragments(person, body) == 1
    others = np.zeros_like(person)
    others[25:75, 55:95] = True
    assert V.detached_fragments(person, body, others) == 0
    person[0:2, 98:100] = True           # a speck below the size floor
    assert V.detached_fragments(person, body, others) == 0


def test_files_and_a_letterboxed_pass_of_another_size(scene, tmp_path):
    """The job's layout: video.mp4 and passes/densepose/%06d.png of a different (square) size."""
    from magicdance_core.passes.colors import densepose_image
    from magicdance_core.video.writer import write_video

    pa, ids = scene
    side = 512
    A = V.letterbox_affine(ids.shape[1], ids.shape[0], side, side)     # video -> pass
    sq = V.warp_to(ids.astype(np.uint8), A, (side, side), nearest=True)
    d = tmp_path / "passes" / "densepose"
    d.mkdir(parents=True)
    for i in range(N):
        cv2.imwrite(str(d / f"{i:06d}.png"), cv2.cvtColor(densepose_image(sq), cv2.COLOR_RGB2BGR))
    (tmp_path / "passes" / "passes.json").write_text(json.dumps({"fps": 30.0}))
    video = tmp_path / "video.mp4"
    write_video([pa.image] * N, video, fps=30)
    m = V.video_metrics(video, tmp_path / "passes", pa)
    assert m.frames == N and m.joint_on_part >= 0.95 and m.body_coverage >= 0.9
    # the same files with a wrong mapping (pass taken as stretched over the video) fail
    stretch = np.array([[ids.shape[1] / side, 0, 0], [0, ids.shape[0] / side, 0]])
    bad = V.video_metrics(video, tmp_path / "passes", pa, pass_to_video=stretch)
    assert bad.body_coverage < 0.8


def test_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 100, (30, 2))
    th, s, t = 0.3, 1.7, np.array([5.0, -3.0])
    R = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    q = s * p @ R.T + t
    A = V.similarity(p, q)
    assert np.allclose(V.apply_affine(A, p), q, atol=1e-6)


def test_in_a_group_photo_the_dancer_is_re_detected_not_the_most_prominent_person(scene):
    """A smaller dancer beside a larger other person who stays in the plate: mediapipe Pose on
    the whole frame reports the larger one; with the photo's other people known, it looks around
    the pass's body and finds the dancer. A frame without the dancer still scores low."""
    from types import SimpleNamespace

    pa, ids = scene
    h, w = ids.shape
    s = 0.45
    small = cv2.resize(pa.image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    small_ids = cv2.resize(ids, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
    small_mask = cv2.resize(pa.mask.astype(np.float32), (small.shape[1], small.shape[0])) > 0.5
    W = small.shape[1] + w
    frame = np.full((h, W, 3), 255, np.uint8)
    y = h - small.shape[0]
    frame[y:, :small.shape[1]] = small
    frame[:, small.shape[1]:] = pa.image
    pass_ids = np.zeros((h, W), np.int16)
    pass_ids[y:, :small.shape[1]] = small_ids
    mask = np.zeros((h, W), np.float32)
    mask[y:, :small.shape[1]] = small_mask
    photo = SimpleNamespace(image=frame, mask=mask, face_landmarks=None)

    whole = V.video_metrics([frame] * 2, [pass_ids] * 2, None, static=True)
    assert whole.joint_on_part < 0.5                     # the larger person was re-detected
    around = V.video_metrics([frame] * 2, [pass_ids] * 2, photo, static=True)
    assert around.joint_on_part >= 0.9 and around.body_coverage >= 0.9
    gone = frame.copy()
    gone[y:, :small.shape[1]] = 255                      # the dancer left, the other person stays
    control = V.video_metrics([gone] * 2, [pass_ids] * 2, photo, static=True)
    assert control.joint_on_part < 0.3 and control.body_coverage < 0.3
