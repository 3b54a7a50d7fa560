"""The surface animator re-lights the photo as the body turns, and the head moves as one piece
(issue 13): an arm in front of a torso of the same cloth shows its edge; the photo's hair and
face stay together as the head turns. Each figure beside a control with the old rendering."""

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from magicdance_core.animate.dancer import dance_for_fit, dancer_from_fit
from magicdance_core.animate.placement import make_placement
from magicdance_core.animate.surface import build_surface_rig, render_frames
from magicdance_core.body.fit import fit_body
from magicdance_core.body.motion_file import Motion
from magicdance_core.body.skeleton import JOINT_INDEX as J, REST_PELVIS_HEIGHT
from magicdance_core.metrics.video import _Detector, _part_ids, similarity, warp_to
from magicdance_core.passes.api import render_fitted_passes
from magicdance_core.photo.analyze import analyze_photo

EX = Path(__file__).resolve().parents[1] / "examples"
ARMS = tuple(range(15, 23)) + (3, 4)
TORSO = (1, 2)


def _pose(fold=0.0, elbow=0.0, head=(0, 0, 0)):
    """Arms down; the right upper arm brought ``fold`` degrees forward and inward, its elbow bent
    ``elbow`` degrees (the forearm across the belly); the head turned by ``head`` (axis-angle)."""
    d = np.radians
    p = np.zeros((24, 3))
    p[J["left_shoulder"]] = (0, 0, d(-58))
    p[J["right_shoulder"]] = (0, d(fold), d(58 + fold / 3))
    p[J["right_elbow"]] = (0, d(elbow), 0)
    p[J["head"]] = d(np.array(head, float))
    return p


def _motion(poses):
    poses = np.stack(poses).astype(np.float32)
    trans = np.tile([0.0, REST_PELVIS_HEIGHT, 0.0], (len(poses), 1)).astype(np.float32)
    return Motion(poses=poses, trans=trans)


# the right forearm folded across the belly (in front of the suit of the same orange), and the
# head turned left and right within what the face layer shows (40 degrees)
CROSS = [_pose(40, 100), _pose(30, 110), _pose(50, 90)]
TURNS = [_pose(head=(0, a, 0)) for a in (15, -15, 30, -30)]


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory):
    pa = analyze_photo(EX / "astronaut.jpg")
    fit = fit_body(pa)
    pl = make_placement(pa, 512)
    rig = build_surface_rig(pa, fit)

    def dance(poses):
        motion = _motion(poses)
        passes = tmp_path_factory.mktemp("passes")
        p, t = dance_for_fit(motion, fit)
        render_fitted_passes(p, t, fit, pl.camera(fit.camera), passes, passes="densepose", video=False)
        return dancer_from_fit(motion, fit, pl, passes), passes
    return pa, fit, pl, rig, dance


def _edge_contrast(frame, parts):
    """Grey levels by which the torso right beside an arm of the pass lying over it (within 6 px)
    is darker than the torso farther off (20-35 px): the edge a viewer sees."""
    g = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    arm = np.isin(parts, ARMS)
    torso = np.isin(parts, TORSO)
    dist = cv2.distanceTransform((~arm).astype(np.uint8), cv2.DIST_L2, 5)
    near, far = torso & (dist <= 6), torso & (dist >= 20) & (dist <= 35)
    assert near.sum() > 40 and far.sum() > 40
    return float(g[far].mean() - g[near].mean())


def test_arm_in_front_of_the_same_cloth_shows_its_edge(astronaut):
    pa, fit, pl, rig, dance = astronaut
    dancer, passes = dance(CROSS)
    shaded = list(render_frames(rig, dancer))
    flat = list(render_frames(rig, dancer, shade=False))
    files = sorted((passes / "densepose").glob("*.png"))
    lit = [_edge_contrast(f, _part_ids(p)) for f, p in zip(shaded, files)]
    bare = [_edge_contrast(f, _part_ids(p)) for f, p in zip(flat, files)]
    # control: the photo's colours pasted flat; the edge of the folded arm barely shows
    assert min(np.subtract(lit, bare)) > 8.0, (lit, bare)


def test_photos_own_pose_is_shown_as_the_photo(astronaut):
    pa, fit, pl, rig, dance = astronaut
    dancer, _ = dance([fit.pose])
    dancer.poses, dancer.trans = fit.pose[None].copy(), fit.trans[None].copy()
    shaded = next(render_frames(rig, dancer)).astype(np.float64)
    flat = next(render_frames(rig, dancer, shade=False)).astype(np.float64)
    # shading is a ratio to the photo's own light: in its pose, on the person, nothing changes
    # but for the contact shadows' sampling on the mesh
    person = np.asarray(pa.mask) > 0.5
    diff = np.abs(shaded - flat).max(axis=2)[person]
    assert diff.mean() < 1.0 and np.percentile(diff, 99) < 8, (diff.mean(), np.percentile(diff, 99))


def _hair_error(frames, pa):
    """Per frame: mean grey difference between the photo's hair (the person's pixels in a box
    1.8x the face's, down to the chin, outside the face box) and the frame warped back onto the
    photo by the similarity of the face meshes re-detected in it (mediapipe): hair that moves
    with the face lands on the photo's hair; hair left behind while the face turns does not."""
    x0, y0, x1, y1 = pa.face_box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, 0.9 * max(x1 - x0, y1 - y0)
    h, w = pa.image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    ring = ((np.abs(xx - cx) <= r) & (yy >= cy - r) & (yy <= y1) & ~((xx >= x0) & (xx <= x1) & (yy >= y0))
            & (np.asarray(pa.person_alpha()) > 0.9))
    assert ring.sum() > 500
    g0 = cv2.cvtColor(pa.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    det = _Detector(static=True)
    out = []
    try:
        for f in frames:
            pts, vis, _ = det.person(f)
            mesh = det.face(f, pts, vis) if pts is not None else None
            assert mesh is not None, "no face re-detected"
            back = warp_to(f, similarity(mesh, pa.face_landmarks), (w, h))
            out.append(float(np.abs(cv2.cvtColor(back, cv2.COLOR_RGB2GRAY).astype(np.float32) - g0)[ring].mean()))
    finally:
        det.close()
    return np.array(out)


def test_head_turns_in_one_piece(astronaut):
    pa, fit, pl, rig, dance = astronaut
    dancer, _ = dance(TURNS)
    err = _hair_error(list(render_frames(rig, dancer)), pa)
    # control: the hair and the head's surface skinned in 3D only, apart from the face layer
    apart = _hair_error(list(render_frames(dataclasses.replace(rig, head_share=None), dancer)), pa)
    assert err.mean() < 0.8 * apart.mean() and err.max() < apart.max(), (err, apart)


def test_a_torn_off_piece_of_the_shell_is_not_drawn():
    """A piece of the shell (hair, a fingertip beyond the fitted body) the motion tore off the body
    floats on its own: it is dropped; the shell that still touches the body stays."""
    from magicdance_core.animate.surface import _drop_islands

    body = -np.ones((60, 80), np.int32)
    shell = -np.ones((60, 80), np.int32)
    body[10:50, 10:30] = 0
    shell[20:30, 30:40] = 1          # hair beside the body, touching it
    shell[5:12, 60:70] = 2           # torn off, 30 px away
    shell[40:45, 29:31] = 3          # under the body's edge
    _drop_islands(body, shell)
    assert (shell[20:30, 30:40] == 1).all() and (shell[40:45, 29:31] == 3).all()
    assert (shell[5:12, 60:70] == -1).all()
