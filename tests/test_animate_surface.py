"""The surface animator (the default): the photo on the fitted body, following its own pass.

The person the video shows must be where the job's DensePose pass puts the body: mediapipe's
joints re-detected on the video land on the pass's matching part, the pass's body is covered by
the person, and nothing breaks off. A control (the video frozen on frame 0 against the moving
pass) must score badly, so the figures mean something.
"""

from pathlib import Path

import cv2
import numpy as np
import pytest

from magicdance_core.animate.base import AnimateOptions, get_animator
from magicdance_core.animate.dancer import dance_for_fit, dancer_from_fit
from magicdance_core.animate.placement import crop_around, make_placement, whole_photo
from magicdance_core.animate.surface import build_surface_rig, render_frames
from magicdance_core.body.fit import LEG_PARTS, fit_body
from magicdance_core.body.motion_file import Motion
from magicdance_core.body.skeleton import JOINT_INDEX as J, REST_PELVIS_HEIGHT
from magicdance_core.metrics.video import video_metrics
from magicdance_core.passes.api import render_fitted_passes
from magicdance_core.passes.colors import part_ids_from_densepose
from magicdance_core.photo.analyze import analyze_photo

EX = Path(__file__).resolve().parents[1] / "examples"


def _pose(ls=-58, rs=-58, le=0, re=0, lh=(0, 0, 0), lk=0, yaw=0):
    d = np.radians
    p = np.zeros((24, 3))
    p[J["left_shoulder"]] = (0, 0, d(ls))
    p[J["right_shoulder"]] = (0, 0, -d(rs))
    p[J["left_elbow"]] = (0, 0, d(le))
    p[J["right_elbow"]] = (0, 0, -d(re))
    p[J["left_hip"]] = d(np.array(lh))
    p[J["left_knee"]] = (d(lk), 0, 0)
    p[0] = (0, d(yaw), 0)
    return p


# poses the photo has no pixels for: arms out, up, bent, crossing; a knee lift; a turn
POSES = [_pose(), _pose(ls=0, rs=0), _pose(ls=50, rs=50), _pose(ls=35, rs=-70), _pose(ls=0, rs=0, le=90, re=90),
         _pose(lh=(-70, 0, 0), lk=80, ls=-20, rs=-20), _pose(yaw=25, ls=-10, rs=-10), _pose(ls=-80, rs=10, re=110)]


def _motion(poses):
    poses = np.stack(poses).astype(np.float32)
    trans = np.tile([0.0, REST_PELVIS_HEIGHT, 0.0], (len(poses), 1)).astype(np.float32)
    return Motion(poses=poses, trans=trans)


@pytest.fixture(scope="module")
def mannequin():
    pa = analyze_photo(EX / "mannequin.png")
    return pa, fit_body(pa)


@pytest.fixture(scope="module")
def mannequin_dance(mannequin, tmp_path_factory):
    pa, fit = mannequin
    motion = _motion(POSES)
    pl = make_placement(pa, 512)
    passes = tmp_path_factory.mktemp("passes")
    poses, trans = dance_for_fit(motion, fit)
    render_fitted_passes(poses, trans, fit, pl.camera(fit.camera), passes, passes="densepose", video=False)
    rig = build_surface_rig(pa, fit)
    frames = list(render_frames(rig, dancer_from_fit(motion, fit, pl, passes)))
    return pa, fit, pl, passes, frames


def test_surface_video_follows_its_own_pass(mannequin_dance):
    pa, fit, pl, passes, frames = mannequin_dance
    m = video_metrics(frames, passes, pa, static=True)
    assert m.detected_frames == 1.0
    assert m.joint_on_part >= 0.9, m.joint_on_part_by_joint
    assert m.body_coverage >= 0.9 and m.body_coverage_min >= 0.8, (m.body_coverage, m.body_coverage_min)
    assert m.fragments_max == 0
    # control: the first frame held still while the pass dances scores clearly worse
    frozen = video_metrics([frames[0]] * len(frames), passes, None, static=True)
    assert frozen.joint_on_part < m.joint_on_part - 0.2 and frozen.body_coverage < m.body_coverage - 0.1


def test_aspect_ratio_kept_and_no_streaks(mannequin_dance):
    pa, fit, pl, passes, frames = mannequin_dance
    w, h = pa.size
    assert frames[0].shape == (512, pl.width, 3) and pl.width % 2 == 0
    assert abs(pl.width / 512 - w / h) < 2 / 512
    dp = cv2.imread(str(sorted((Path(passes) / "densepose").glob("*.png"))[0]))
    assert dp.shape[:2] == frames[0].shape[:2]       # the pass and the video: one frame
    # every video pixel is a photo pixel: the frame's border matches the photo's resized border
    ref = cv2.resize(pa.background, (pl.width, pl.height), interpolation=cv2.INTER_AREA).astype(float)
    for f in frames:
        for edge in (np.s_[:, :3], np.s_[:, -3:], np.s_[:3, :], np.s_[-3:, :]):
            assert np.abs(f[edge].astype(float) - ref[edge]).mean() < 6


def test_landscape_photo_is_a_landscape_video_without_padding():
    pl = whole_photo(1200, 500, 512)
    assert (pl.width, pl.height) == (512, 212)
    x0, y0, x1, y1 = pl.box
    assert x0 >= 0 and y0 >= 0 and x1 <= 1200 + 1e-9 and y1 <= 500 + 1e-9
    # a photo with a distinct column pattern: the framed image keeps it to both edges
    img = np.zeros((500, 1200, 3), np.uint8)
    img[:, ::8] = 255
    out = pl.warp(img)
    for col in (0, 1, 2, -3, -2, -1):
        rows = out[:, col, 0].astype(int)
        assert rows.std() < 40                     # columns are uniform (vertical stripes) ...
    assert out[:, :20, 0].std(axis=1).mean() > 30  # ... and differ across: no replicated edge


def test_crop_frames_the_person_inside_the_photo(mannequin):
    pa, fit = mannequin
    pl = crop_around(pa.mask, 256)
    w, h = pa.size
    x0, y0, x1, y1 = pl.box
    assert max(pl.width, pl.height) == 256 and pl.width % 2 == 0 and pl.height % 2 == 0
    assert x0 >= 0 and y0 >= 0 and x1 <= w + 1e-6 and y1 <= h + 1e-6
    ys, xs = np.nonzero(pa.mask > 0.5)
    assert x0 <= xs.min() and xs.max() < x1 and y0 <= ys.min() and ys.max() < y1
    assert abs(pl.width / pl.height - (x1 - x0) / (y1 - y0)) < 0.02


def test_half_body_legs_are_not_invented(tmp_path):
    pa = analyze_photo(EX / "astronaut.jpg")
    assert pa.half_body
    fit = fit_body(pa)
    motion = _motion(POSES[:3])
    pl = make_placement(pa, 256)
    poses, trans = dance_for_fit(motion, fit)
    assert np.allclose(trans, fit.trans)              # the cut-off pelvis stays where the photo has it
    render_fitted_passes(poses, trans, fit, pl.camera(fit.camera), tmp_path, passes="densepose", video=False)
    for f in sorted((tmp_path / "densepose").glob("*.png")):
        ids = part_ids_from_densepose(cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB))
        assert not np.isin(ids, LEG_PARTS).any()
        assert (ids > 0).mean() > 0.05
    rig = build_surface_rig(pa, fit)
    assert not np.isin(rig.face_part_lut, LEG_PARTS).any()
    frames = list(render_frames(rig, dancer_from_fit(motion, fit, pl)))
    assert frames[0].shape == (256, 256, 3)


def test_puppet_still_animates_in_the_jobs_framing(mannequin):
    pa, fit = mannequin
    pl = make_placement(pa, 256)
    an = get_animator("puppet")
    rig = an.prepare(pa, AnimateOptions(256))
    frames = list(an.animate(rig, dancer_from_fit(_motion(POSES[:3]), fit, pl), AnimateOptions(256)))
    assert len(frames) == 3 and frames[0].shape == (256, pl.width, 3)
    assert get_animator().name == "surface"


def test_hands_the_photo_cuts_off_are_skin_not_sleeve(mannequin):
    from magicdance_core.animate.atlas import HAND_PARTS, build_atlas

    pa = analyze_photo(EX / "astronaut.jpg")       # her hands are below the frame
    fit = fit_body(pa)
    at = build_atlas(fit, np.ascontiguousarray(pa.person_rgb()), np.asarray(pa.mask, np.float32))
    hand = at.covered & np.isin(at.texel_part, HAND_PARTS)
    assert not (at.seen & hand).any()
    lower_arm = at.covered & np.isin(at.texel_part, (19, 20, 21, 22))
    face = at.seen & np.isin(at.texel_part, (23, 24))
    colours = np.unique(at.image[hand].reshape(-1, 3), axis=0)
    assert len(colours) == 1                        # one skin, not a copy of the sleeve's folds
    hand_rgb = colours[0].astype(float)
    sleeve_rgb = np.median(at.image[lower_arm].astype(float), 0)
    face_rgb = np.median(at.image[face].astype(float), 0)
    # nearer the face's colours than the orange sleeve's (filled from the sleeve it was the reverse)
    assert np.linalg.norm(hand_rgb - face_rgb) < np.linalg.norm(hand_rgb - sleeve_rgb)
    # a photo that shows the hands keeps their own colours
    pa_m, fit_m = mannequin
    at_m = build_atlas(fit_m, np.ascontiguousarray(pa_m.person_rgb()), np.asarray(pa_m.mask, np.float32))
    for p in HAND_PARTS:
        h = at_m.covered & (at_m.texel_part == p)
        assert len(np.unique(at_m.image[h].reshape(-1, 3), axis=0)) > 50
