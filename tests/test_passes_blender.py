"""Blender side of the passes: the Render Passes operator from the installed extension,
identical DensePose-style images to the headless path, the Blender camera, Workbench."""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if "bpy" not in sys.modules:
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="md_blender_user_"))
bpy = pytest.importorskip("bpy")
import addon_utils  # noqa: E402
import cv2  # noqa: E402

sys.path.insert(0, str(ROOT))

from magicdance_core.body.motion_file import Motion, save_motion  # noqa: E402
from magicdance_core.body.skeleton import JOINT_INDEX as J, REST_PELVIS_HEIGHT  # noqa: E402
from magicdance_core.passes import colors as C  # noqa: E402
from magicdance_core.passes.api import render_motion_passes  # noqa: E402

pytestmark = pytest.mark.blender
MODULE = "bl_ext.user_default.magicdance"


@pytest.fixture(scope="module")
def ext(tmp_path_factory):
    try:
        mod = importlib.import_module(MODULE)
    except ImportError:
        import build

        z = build.build(tmp_path_factory.mktemp("dist"))
        bpy.ops.wm.read_factory_settings(use_empty=True)
        assert bpy.ops.extensions.package_install_files(repo="user_default", filepath=str(z),
                                                        enable_on_install=True) == {"FINISHED"}
        mod = importlib.import_module(MODULE)
    return mod


@pytest.fixture
def scene_with_take(ext):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable(MODULE, default_set=True)
    scene = bpy.context.scene
    scene.render.fps = 30
    T = 12
    rng = np.random.default_rng(0)
    poses = np.zeros((T, 24, 3))
    poses[:, J["left_shoulder"]] = [0, 0, -1.1]
    poses[:, J["right_shoulder"]] = [0, 0, 1.1]
    poses += 0.3 * np.sin(np.linspace(0, 3, T))[:, None, None] * rng.normal(size=(1, 24, 3))
    trans = np.zeros((T, 3))
    trans[:, 1] = REST_PELVIS_HEIGHT
    trans[:, 0] = np.linspace(0, 0.4, T)
    motion = Motion(poses=poses, trans=trans)
    assert bpy.ops.magicdance.add_dancer() == {"FINISHED"}
    arm = bpy.context.view_layer.objects.active
    takes = importlib.import_module(MODULE + ".takes")
    takes.write_take(arm, motion)
    scene.frame_start, scene.frame_end = 1, T
    return scene, arm, motion


def _dp(d, i):
    return cv2.imread(str(Path(d) / "densepose" / f"{i:06d}.png"))[..., ::-1]


def test_operator_matches_headless_and_places_camera(scene_with_take, tmp_path):
    scene, arm, motion = scene_with_take
    res = bpy.ops.magicdance.render_passes(directory=str(tmp_path / "op") + "/", size=160,
                                           passes={"densepose", "skeleton", "keypoints"})
    assert res == {"FINISHED"}
    head = render_motion_passes(motion, tmp_path / "head", size=160, passes="densepose", video=False)
    n = len(list((tmp_path / "op" / "densepose").glob("*.png")))
    assert n == motion.num_frames
    for i in range(n):
        np.testing.assert_array_equal(_dp(tmp_path / "op", i), _dp(tmp_path / "head", i))
    assert (tmp_path / "op" / "densepose.mp4").exists()
    # the Blender camera sees the dancer where the pass camera projects it
    from bpy_extras.object_utils import world_to_camera_view

    cam_ob = scene.camera
    assert cam_ob is not None and cam_ob.get("magicdance_camera")
    dancer = importlib.import_module(MODULE + ".dancer")
    scene.frame_set(1)
    bpy.context.view_layer.update()
    jz = dancer.world_joints(arm)
    from mathutils import Vector

    jy = np.stack([jz[:, 0], jz[:, 2], -jz[:, 1]], -1)
    px = head.camera.project(jy)
    for j in (0, J["head"], J["left_wrist"]):
        v = world_to_camera_view(scene, cam_ob, Vector(jz[j].tolist()))
        bx = v.x * 160 - 0.5                      # Blender: pixel centres at half-integers
        by = (1 - v.y) * 160 - 0.5
        assert abs(bx - px[j, 0]) < 0.05 and abs(by - px[j, 1]) < 0.05


def test_scene_mesh_path_and_25fps(scene_with_take, tmp_path):
    scene, arm, motion = scene_with_take
    bp = importlib.import_module(MODULE + ".passes")
    r = bp.render_passes(scene, tmp_path / "mesh", passes="densepose", size=128, video=False, use_scene_mesh=True)
    h = render_motion_passes(motion, tmp_path / "head", size=128, passes="densepose", video=False)
    for i in range(r.frames):
        a, b = _dp(tmp_path / "mesh", i), _dp(tmp_path / "head", i)
        assert np.any(a != b, -1).mean() < 1e-3
    r25 = bp.render_passes(scene, tmp_path / "p25", passes="densepose", size=64, fps=25, video=False)
    assert r25.fps == 25 and r25.frames == 10    # 12 frames at 30 fps span 11/30 s -> 10 frames at 25


def test_operator_without_take_reports(ext, tmp_path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable(MODULE, default_set=True)
    assert not bpy.ops.magicdance.render_passes.poll()
    bp = importlib.import_module(MODULE + ".passes")
    from magicdance_core.errors import BadInput

    with pytest.raises(BadInput):
        bp.render_passes(bpy.context.scene, tmp_path / "x")


@pytest.mark.slow
def test_workbench_densepose_agrees_with_raster(scene_with_take, tmp_path):
    scene, arm, motion = scene_with_take
    bp = importlib.import_module(MODULE + ".passes")
    h = render_motion_passes(motion, tmp_path / "head", size=128, passes="densepose", video=False)
    paths = bp.render_densepose_workbench(scene, tmp_path / "wb", h.camera, range(1, 5))
    table = set(map(tuple, C.DENSEPOSE_COLORS))
    for i, p in enumerate(paths):
        w = cv2.imread(p)[..., ::-1]
        assert set(map(tuple, np.unique(w.reshape(-1, 3), axis=0))) <= table
        assert np.any(w != _dp(tmp_path / "head", i), -1).mean() < 2e-3


def test_cli_on_blend_file_matches_headless(scene_with_take, tmp_path, cli):
    scene, arm, motion = scene_with_take
    blend = tmp_path / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    r = cli("passes", blend, "-o", tmp_path / "out", "--size", "96", "--passes", "densepose,keypoints", "--no-video")
    assert r.returncode == 0, r.stderr[-2000:]
    render_motion_passes(motion, tmp_path / "head", size=96, passes="densepose", video=False)
    for i in range(motion.num_frames):
        np.testing.assert_array_equal(_dp(tmp_path / "out", i), _dp(tmp_path / "head", i))
    bad = tmp_path / "bad.blend"
    bad.write_bytes(b"not a blend file at all")
    r = cli("passes", bad, "-o", tmp_path / "o2")
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr
