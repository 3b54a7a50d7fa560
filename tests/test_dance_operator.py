"""The "Animate Photo" operator in the installed extension: the take + a photo -> a video strip."""

from __future__ import annotations

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

sys.path.insert(0, str(ROOT))
import build  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.slow]
MODULE = "bl_ext.user_default.magicdance"


def test_animate_photo_operator(tmp_path):
    import soundfile as sf

    from magicdance_core.audio.decode import load_audio

    zp = build.build(tmp_path / "dist")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if MODULE not in sys.modules:
        assert bpy.ops.extensions.package_install_files(repo="user_default", filepath=str(zp),
                                                        enable_on_install=True) == {"FINISHED"}
    addon_utils.enable(MODULE, default_set=True)
    y, sr = load_audio(ROOT / "examples" / "song.ogg")
    song = tmp_path / "s.wav"
    sf.write(song, y[: int(3 * sr)], sr)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "t.blend"))
    assert bpy.ops.magicdance.import_music(filepath=str(song)) == {"FINISHED"}
    assert bpy.ops.magicdance.add_dancer() == {"FINISHED"}
    assert bpy.ops.magicdance.generate_dance() == {"FINISHED"}
    # bad photo: one report, nothing added
    with pytest.raises(RuntimeError, match="choose a photo"):
        bpy.ops.magicdance.animate_photo(filepath=str(tmp_path / "none.jpg"))
    res = bpy.ops.magicdance.animate_photo(filepath=str(ROOT / "examples" / "astronaut.jpg"), size=128)
    assert res == {"FINISHED"}
    seq = bpy.context.scene.sequence_editor
    strips = {s.name: s for s in (seq.strips if hasattr(seq, "strips") else seq.sequences)}
    movie = strips["MagicDance Video"]
    music = [s for s in strips.values() if s.type == "SOUND"][0]
    assert movie.channel == music.channel + 1 and os.path.isfile(bpy.path.abspath(movie.filepath))
