"""Photo analysis on the shipped photos and on images made here (no person, tiny, two people)."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from magicdance_core.errors import BadInput
from magicdance_core.photo.analyze import PhotoAnalysis, analyze_photo

EX = Path(__file__).resolve().parents[1] / "examples"


def _landscape(w=900, h=600, seed=0):
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, h)[:, None, None]
    sky = np.array([120, 170, 230]) * (1 - y) + np.array([60, 140, 60]) * y
    img = sky + rng.normal(0, 6, (h, w, 3))
    img[int(h * 0.6):] = np.array([70, 120, 50]) + rng.normal(0, 10, (h - int(h * 0.6), w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _fireman(height):
    im = Image.open(EX / "fireman.png").convert("RGBA")
    return im.resize((round(im.width * height / im.height), height), Image.LANCZOS)


def test_full_body_photo(tmp_path):
    a = analyze_photo(EX / "fireman.png", out_dir=tmp_path / "ph")
    assert not a.half_body
    assert a.mask.shape == a.image.shape[:2] and 0.2 < a.mask.mean() < 0.7
    assert a.visibility[[11, 12, 23, 24, 25, 27]].min() > 0.5
    for f in ("mask.png", "landmarks.json", "face.json", "background.png", "image.png"):
        assert (tmp_path / "ph" / f).stat().st_size > 0
    d = json.loads((tmp_path / "ph" / "landmarks.json").read_text())
    assert len(d["landmarks"]) == 33 and d["image_size"] == [240, 384]
    b = PhotoAnalysis.load(tmp_path / "ph")
    np.testing.assert_allclose(b.landmarks, a.landmarks, atol=1e-6)
    # the plate no longer holds the person: the mask's core differs from the photo there
    core = a.mask > 0.9
    assert np.abs(b.background[core].astype(int) - a.image[core].astype(int)).mean() > 20


def test_half_body_photo_with_face():
    a = analyze_photo(EX / "astronaut.jpg")
    assert a.half_body and any("upper body" in w for w in a.warnings)
    assert a.face_box is not None and a.face_landmarks.shape == (468, 2)
    x0, y0, x1, y1 = a.face_box
    nose = a.landmarks[0]
    assert x0 < nose[0] < x1 and y0 < nose[1] < y1


def test_no_person(tmp_path):
    p = tmp_path / "landscape.jpg"
    Image.fromarray(_landscape()).save(p)
    with pytest.raises(BadInput, match="no person found in PHOTO"):
        analyze_photo(p, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_tiny_person_is_a_clear_error(tmp_path):
    bg = Image.fromarray(_landscape(1600, 1000))
    f = _fireman(60)
    bg.paste(f, (800, 500), f)
    p = tmp_path / "tiny.png"
    bg.save(p)
    with pytest.raises(BadInput, match="(no person|only about)"):
        analyze_photo(p)


def test_two_people_largest_with_warning(tmp_path):
    bg = Image.new("RGB", (900, 600), (235, 235, 235))
    big, small = _fireman(520), _fireman(380)
    bg.paste(small, (80, 180), small)
    bg.paste(big, (520, 40), big)
    p = tmp_path / "two.png"
    bg.save(p)
    a = analyze_photo(p)
    assert any("people" in w for w in a.warnings)
    hips = a.landmarks[[23, 24]].mean(axis=0)
    assert hips[0] > 450  # the big one on the right
    assert a.mask[:, :400].sum() < 0.05 * a.mask.sum()


def test_touching_people_the_others_stay_out_of_the_mask(tmp_path):
    """Two people side by side, overlapping: the people mask is one blob, yet only the chosen
    person is cut out and the other stays in the background plate."""
    from magicdance_core.photo.analyze import _selfie_mask

    a = Image.open(EX / "astronaut.jpg").convert("RGB")
    x2 = a.width - 200
    c = Image.new("RGB", (a.width + x2, a.height))
    c.paste(a, (0, 0))
    c.paste(a, (x2, 0))
    c.save(tmp_path / "two.png")
    pa = analyze_photo(tmp_path / "two.png")
    assert pa.landmarks[[11, 12], 0].mean() < x2       # the left one (whole face, not cut by the right one)
    right = np.s_[:, x2 + 140:]                          # the right one's face and trunk
    selfie = _selfie_mask(pa.image) > 0.5
    assert selfie[right].sum() > 0.3 * selfie.sum()    # the semantic mask holds both
    assert pa.mask[right].sum() < 0.002 * pa.mask.sum()
    # the other person is still there in the plate: her face as in the photo
    face = np.s_[60:200, x2 + 200:x2 + 320]
    assert np.abs(pa.background[face].astype(int) - pa.image[face].astype(int)).mean() < 3


def test_in_a_group_the_chosen_persons_pose_mask_decides_not_the_groups_selfie_blob():
    """A group at a table: the selfie mask is one blob of all of them and the table; the chosen
    person's pose mask is about a fifth of it. Their mask follows their pose mask (the table in
    front and the neighbours stay in the plate), not their Voronoi share of the blob."""
    from magicdance_core.photo.analyze import _person_mask

    h, w = 400, 1000
    selfie = np.zeros((h, w), np.float32)
    selfie[80:400, 0:1000] = 1.0                      # five people and the table in front of them
    seg = np.zeros((h, w), np.float32)
    seg[80:300, 40:180] = 1.0                         # the chosen one, down to the table's edge
    pts, vis = np.zeros((33, 2)), np.zeros(33)
    idx = [0, 11, 12, 23, 24, 13, 14, 15, 16]
    pts[idx] = [(110, 110), (70, 160), (150, 160), (80, 280), (140, 280), (55, 220), (165, 220), (60, 270), (160, 270)]
    vis[idx] = 1.0
    others = [(x, 90, x + 60, 150) for x in (300, 480, 660, 840)]
    m = _person_mask(None, seg, selfie, pts, vis, [None] * 5, None, True, others) > 0.5
    assert m[320:400, 0:250].sum() == 0               # the table in front stays in the plate
    assert m[:, 250:].sum() == 0                      # so do the neighbours
    assert m[seg > 0.5].mean() > 0.99


def test_cli_photo(cli, tmp_path):
    r = cli("photo", EX / "astronaut.jpg", "-o", tmp_path / "a")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a" / "background.png").exists()
    p = tmp_path / "land.png"
    Image.fromarray(_landscape()).save(p)
    r = cli("photo", p, "-o", tmp_path / "b")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == f"error: no person found in PHOTO {p.name}"
    assert "Traceback" not in r.stderr and not (tmp_path / "b").exists()
