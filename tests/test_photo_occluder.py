"""A held object in front of the body (the astronaut's helmet) is its own layer, not background."""

import json
from pathlib import Path

import numpy as np

from magicdance_core.photo.analyze import PhotoAnalysis, analyze_photo

EX = Path(__file__).resolve().parents[1] / "examples"
HELMET = (400, 450)     # (x, y) inside the helmet she holds, examples/astronaut.jpg (512x512)
FACE = (230, 110)


def test_held_helmet_is_an_occluder_layer(tmp_path):
    analyze_photo(EX / "astronaut.jpg", out_dir=tmp_path / "a")
    a = PhotoAnalysis.load(tmp_path / "a")
    assert a.occluder is not None and a.occluder.shape == (512, 512, 4)
    occ = a.occluder[:, :, 3] / 255.0
    x, y = HELMET
    assert occ[y - 10:y + 10, x - 10:x + 10].min() > 0.95
    # the layer carries the helmet's own pixels, and nothing of her face or the flag behind her
    assert np.abs(a.occluder[y, x, :3].astype(int) - a.image[y, x].astype(int)).max() <= 2
    assert occ[:300].max() < 0.05 and occ[:, :250].max() < 0.05
    # the person's soft alpha leaves the helmet out (not her skin); her face stays hers
    assert a.alpha[y - 10:y + 10, x - 10:x + 10].max() < 0.05
    assert a.alpha[FACE[1], FACE[0]] > 0.99
    meta = json.loads((tmp_path / "a" / "photo.json").read_text())["occluder"]
    x0, y0, x1, y1 = meta["box"]
    assert x0 < x < x1 and y0 < y < y1 and meta["pixels"] > 10000
    # the plate under it is filled: the helmet's white rim is not left behind in the background
    rim = (a.occluder[:, :, 3] > 127) & (a.image.astype(int).sum(axis=2) > 600)
    assert rim.sum() > 100 and (a.background[rim].astype(int).sum(axis=1) > 600).mean() < 0.2


def test_nothing_held_no_occluder(tmp_path):
    a = analyze_photo(EX / "fireman.png", out_dir=tmp_path / "f")
    assert a.occluder is None and not (tmp_path / "f" / "occluder.png").exists()
    assert json.loads((tmp_path / "f" / "photo.json").read_text())["occluder"] is None
