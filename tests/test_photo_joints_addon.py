"""The add-on shows a photo's joints as empties and writes moved joints back for --landmarks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
import addon_utils  # noqa: E402

import build  # noqa: E402

from magicdance_core.photo.landmarks_file import NAMES, read_landmarks_file, write_landmarks_file  # noqa: E402

pytestmark = pytest.mark.blender
MODULE = "bl_ext.user_default.magicdance"
ROOT = Path(__file__).resolve().parents[1]
DRAWING = ROOT / "benchmarks" / "dance" / "photos" / "oc_woman_doctor.png"   # 164x477


@pytest.fixture(scope="module")
def addon(tmp_path_factory):
    z = build.build(tmp_path_factory.mktemp("dist"))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert bpy.ops.extensions.package_install_files(repo="user_default", filepath=str(z),
                                                    enable_on_install=True) == {"FINISHED"}
    addon_utils.enable(MODULE, default_set=True)
    yield
    bpy.ops.wm.read_factory_settings(use_empty=True)


def test_show_move_and_save_photo_joints(addon, tmp_path):
    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(5, 159, 33), rng.uniform(5, 472, 33)])
    vis = np.ones(33)
    vis[NAMES.index("left_heel")] = 0
    lm = write_landmarks_file(tmp_path / "joints.json", pts, vis, (164, 477), source="template")
    assert bpy.ops.magicdance.show_photo_joints(filepath=str(DRAWING), landmarks=str(lm)) == {"FINISHED"}
    photo = bpy.data.objects["MagicDance Photo"]
    assert photo.empty_display_type == "IMAGE" and tuple(photo.data.size) == (164, 477)
    joints = {ob["magicdance_joint"]: ob for ob in photo.children}
    assert sorted(joints) == sorted(NAMES)
    assert joints["left_heel"].empty_display_type == "CIRCLE" and joints["nose"].empty_display_type == "SPHERE"
    # a joint's world position lies on the photo where its pixel is (the photo faces -Y, z up)
    bpy.context.view_layer.update()
    from mathutils import Vector

    top_left = photo.matrix_world @ Vector((-164 / 477, 1.0, 0.0))   # the photo's long side is 2 m
    nose = joints["nose"].matrix_world.translation
    px = pts[0]
    s = 2.0 / 477
    assert abs(nose.x - (top_left.x + px[0] * s)) < 1e-4 and abs(nose.z - (top_left.z - px[1] * s)) < 1e-4
    assert abs(nose.y) < 1e-6

    # the user drags the left wrist 20 px right and 10 px down, then saves
    joints["left_wrist"].location.x += 20 * s
    joints["left_wrist"].location.y -= 10 * s
    out = tmp_path / "edited.json"
    assert bpy.ops.magicdance.save_photo_joints(filepath=str(out)) == {"FINISHED"}
    p2, v2, src = read_landmarks_file(out, (164, 477))
    want = pts.copy()
    want[NAMES.index("left_wrist")] += (20, 10)
    np.testing.assert_allclose(p2, want, atol=0.06)   # the file keeps 0.1 px
    assert src == "user" and v2[NAMES.index("left_heel")] == 0 and json.loads(out.read_text())["photo"] == DRAWING.name


def test_bad_landmarks_file_is_one_report_and_the_scene_unchanged(addon, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"landmarks": {"nose": [1, 2]}}))
    n = len(bpy.data.objects)
    with pytest.raises(RuntimeError, match="missing joints"):
        bpy.ops.magicdance.show_photo_joints(filepath=str(DRAWING), landmarks=str(bad))
    assert len(bpy.data.objects) == n
