"""The surface animator's photo layers and edges (issue 13): the face is the photo's own pixels,
the held helmet rides in front whole, the person's edge carries no dark fringe.

Each figure is checked against a control that shows the old behaviour (the face through the
atlas, the helmet as body texture, the photo's pixels under a hard stencil) and must be worse.
"""

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from magicdance_core.animate.dancer import dance_for_fit, dancer_from_fit
from magicdance_core.animate.placement import make_placement, whole_photo
from magicdance_core.animate.surface import build_surface_rig, render_frames
from magicdance_core.body.fit import fit_body, render_photo_raster
from magicdance_core.body.motion_file import Motion
from magicdance_core.body.skeleton import JOINT_INDEX as J, REST_PELVIS_HEIGHT
from magicdance_core.metrics.video import video_metrics
from magicdance_core.passes.api import render_fitted_passes
from magicdance_core.photo.analyze import analyze_photo

EX = Path(__file__).resolve().parents[1] / "examples"


def _pose(ls=-58, rs=-58, le=0, re=0, head=(0, 0, 0)):
    d = np.radians
    p = np.zeros((24, 3))
    p[J["left_shoulder"]] = (0, 0, d(ls))
    p[J["right_shoulder"]] = (0, 0, -d(rs))
    p[J["left_elbow"]] = (0, 0, d(le))
    p[J["right_elbow"]] = (0, 0, -d(re))
    p[J["head"]] = d(np.array(head, float))
    return p


# the head nods, turns and tilts (within what a frontal face survives), the arms move
POSES = [_pose(), _pose(head=(0, 15, 0)), _pose(head=(0, 0, 15), ls=-20), _pose(head=(10, -10, 0), rs=-10, re=60),
         _pose(head=(-8, 0, -10), ls=10, rs=10), _pose(head=(0, -20, 5), ls=-70, le=80)]


def _motion(poses):
    poses = np.stack(poses).astype(np.float32)
    trans = np.tile([0.0, REST_PELVIS_HEIGHT, 0.0], (len(poses), 1)).astype(np.float32)
    return Motion(poses=poses, trans=trans)


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory):
    pa = analyze_photo(EX / "astronaut.jpg")
    assert pa.occluder is not None and pa.face_landmarks is not None
    fit = fit_body(pa)
    motion = _motion(POSES)
    pl = make_placement(pa, 512)
    passes = tmp_path_factory.mktemp("passes")
    poses, trans = dance_for_fit(motion, fit)
    render_fitted_passes(poses, trans, fit, pl.camera(fit.camera), passes, passes="densepose", video=False)
    rig = build_surface_rig(pa, fit)
    dancer = dancer_from_fit(motion, fit, pl, passes)
    return pa, fit, pl, passes, rig, dancer, list(render_frames(rig, dancer))


def test_face_is_the_photos_own_pixels(astronaut):
    pa, fit, pl, passes, rig, dancer, frames = astronaut
    assert rig.layer("face") is not None
    m = video_metrics(frames, passes, pa, static=True)
    assert m.face_frames >= 4 and m.face_ssim_mean >= 0.9 and m.face_ssim_min >= 0.85, m.per_frame["face_ssim"]
    # control: the face through the body's texture atlas, as before
    atlas = video_metrics(list(render_frames(rig, dancer, face=False)), passes, pa, static=True)
    assert atlas.face_ssim_mean is None or atlas.face_ssim_mean < m.face_ssim_mean - 0.1
    # the layer leaves the body following its pass: the joints the photo shows (her elbows and
    # wrists are behind the helmet, so mediapipe finds them in few frames of any version) land on
    # their parts, and the whole figure is no worse than without the face layer
    shown = ("nose", "left_shoulder", "right_shoulder", "left_hip", "right_hip")
    assert all(m.joint_on_part_by_joint.get(j, 0) >= 0.8 for j in shown), m.joint_on_part_by_joint
    assert m.joint_on_part >= atlas.joint_on_part - 0.1 and m.body_coverage >= 0.9


def _helmet_error(frames, pa, pl):
    """Per frame: grey-level RMS error of the best placement of a patch of the photo's helmet
    (its upper left quarter: the photo cuts its bottom, and the frame its right side when the
    hand holding it moves right) at its photo orientation, at any size from 0.8x to 1.25x (it
    is nearer or farther with the hand), in the frame."""
    rgb, a = pa.occluder_layer()
    rgb_v, a_v = pl.warp(rgb), pl.warp(a)
    ys, xs = np.nonzero(a_v > 0.9)
    qx = (xs.max() - xs.min()) // 10
    y0, y1, x0, x1 = ys.min(), (ys.min() + ys.max()) // 2, xs.min() + qx, (xs.min() + xs.max()) // 2
    tpl0 = cv2.cvtColor(rgb_v[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32)
    msk0 = (a_v[y0:y1, x0:x1] > 0.9).astype(np.float32)
    out = []
    for f in frames:
        g = cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32)
        best = np.inf
        for s in np.linspace(0.8, 1.25, 10):
            tpl = cv2.resize(tpl0, None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
            msk = (cv2.resize(msk0, (tpl.shape[1], tpl.shape[0]), interpolation=cv2.INTER_LINEAR) > 0.99).astype(np.float32)
            r = cv2.matchTemplate(g, tpl, cv2.TM_SQDIFF, mask=msk)
            best = min(best, float(np.sqrt(r.min() / msk.sum())))
        out.append(best)
    return np.array(out)


def test_held_helmet_rides_in_front_whole(astronaut):
    pa, fit, pl, passes, rig, dancer, frames = astronaut
    held = rig.layer("held")
    assert held is not None
    err = _helmet_error(frames, pa, pl)
    assert err.max() < 3.0, err
    # control: the helmet as part of the body's texture (no layer) is torn as the arms move
    bare = dataclasses.replace(rig, layers=[(ly, i) for ly, i in rig.layers if ly.name != "held"])
    bare_err = _helmet_error(list(render_frames(bare, dancer)), pa, pl)
    assert bare_err[1:].mean() > 2 * err[1:].mean() + 5, (bare_err, err)


def test_edges_show_no_dark_fringe(tmp_path):
    """The fireman cut-out (true matte known) on a dark wall, danced in the photo's own pose over a
    white plate: the edge band matches the true composite over white; the photo's pixels under
    the mask's hard stencil (the control) carry the dark wall along. Scored where the person's
    outline is drawn by the photo's pixels (the shell); where the fitted body itself overhangs
    the person (the fireman's feet) the body's texture shows, a fit error this does not judge."""
    bgra = cv2.imread(str(EX / "fireman.png"), cv2.IMREAD_UNCHANGED)
    F = cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGB).astype(np.float64)
    A = bgra[:, :, 3].astype(np.float64) / 255.0
    pad = 40
    A = np.pad(A, pad)
    F = np.pad(F, ((pad, pad), (pad, pad), (0, 0)))
    wall = np.full(F.shape, (25.0, 20.0, 30.0)) + np.random.default_rng(0).normal(0, 4, F.shape)
    photo = F * A[..., None] + wall * (1 - A[..., None])
    path = tmp_path / "fireman_wall.png"
    cv2.imwrite(str(path), cv2.cvtColor(np.clip(photo + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    pa = analyze_photo(path)
    fit = fit_body(pa)
    h, w = A.shape
    pl = whole_photo(w, h, max(w, h))
    assert pl.scale == 1.0 and pl.box == (0.0, 0.0, float(w), float(h))
    d = dancer_from_fit(_motion([fit.pose]), fit, pl)
    d.poses, d.trans = fit.pose[None].copy(), fit.trans[None].copy()    # the photo's own pose
    rig = build_surface_rig(pa, fit)
    white = dataclasses.replace(rig, background=np.full_like(rig.background, 255))
    lum = lambda x: x.astype(np.float64) @ np.array([0.299, 0.587, 0.114])  # noqa: E731
    truth = lum(F * A[..., None] + 255.0 * (1 - A[..., None]))
    edge = (A > 0.5).astype(np.uint8)
    band = (cv2.dilate(edge, np.ones((7, 7))) > 0) & ~(cv2.erode(edge, np.ones((7, 7))) > 0)
    raster, *_ = render_photo_raster(fit)
    band &= ~(cv2.dilate((raster.face_id >= 0).astype(np.uint8), np.ones((3, 3))) > 0)
    assert band.sum() > 500

    def darkening(r):
        frame = next(render_frames(r, d))
        return float(np.clip(truth - lum(frame), 0, None)[band].mean())

    now = darkening(white)
    # what the photo stage's own matte gives, composited in place: the animator adds no fringe of its own
    a = pa.person_alpha()[..., None]
    matte = float(np.clip(truth - lum(pa.person_rgb() * a + 255.0 * (1 - a)), 0, None)[band].mean())
    # control: the photo's own pixels under the hard mask, as the animator composited before
    tex = white.texture.copy()
    ah = tex.shape[0] - h
    tex[ah:, :w, :3] = pa.image
    tex[ah:, :w, 3] = np.where(pa.mask > 0.5, 255, 0)
    before = darkening(dataclasses.replace(white, texture=tex))
    assert now < matte + 1.5 and now < 0.75 * before, (now, matte, before)


def test_shell_edges_over_the_body_show_the_body_not_the_plate():
    """The side view brings its legs together: the near leg's trousers (the shell, soft-edged and
    faded where stretched) then lie over the far leg, which must show through them, not the
    plate. Control: the same measure beside the body, where the plate must show."""
    from magicdance_core.animate.surface import _Skin
    from magicdance_core.body.builtin_mesh import skin
    from magicdance_core.body.skeleton import offsets_from_joints
    from magicdance_core.passes.raster import rasterize

    pa = analyze_photo(EX / "fireman.png")
    fit = fit_body(pa)
    rig = build_surface_rig(pa, fit)
    rig = dataclasses.replace(rig, background=np.zeros_like(rig.background) + np.uint8([255, 0, 255]))
    poses = []
    for k in np.linspace(0, 1, 5):
        p = fit.pose.copy()
        for j in ("left_hip", "right_hip", "left_knee", "right_knee"):
            p[J[j]] *= 1 - k
        poses.append(p)
    d = dancer_from_fit(_motion(poses), fit, make_placement(pa, 512))
    d.poses, d.trans = np.stack(poses), np.tile(fit.trans, (len(poses), 1))
    V = skin(_Skin(rig), d.poses, d.trans, offsets_from_joints(rig.rest_joints))
    on_body, beside = [], []
    for f, v in zip(render_frames(rig, d), V):
        xy, z = d.camera.project(v, return_depth=True)
        body = (rasterize(xy, z, rig.faces[:rig.n_body_faces], d.camera.height, d.camera.width).face_id >= 0).astype(np.uint8)
        f = f.astype(int)
        plate = np.minimum(f[..., 0], f[..., 2]) - f[..., 1] > 40     # magenta, pure or blended in
        on_body.append(plate[cv2.erode(body, np.ones((5, 5))) > 0].mean())
        beside.append(plate[(cv2.dilate(body, np.ones((9, 9))) > 0) & (body == 0)].mean())
    assert max(on_body) < 0.001, on_body
    assert min(beside) > 0.2, beside
