"""Soft person edges: alpha.png and foreground.png leave no dark fringe on a bright background."""

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from magicdance_core.photo.analyze import PhotoAnalysis, analyze_photo

EX = Path(__file__).resolve().parents[1] / "examples"
PAD = 60


def _on_dark(tmp_path):
    """The fireman cutout composited over a dark, slightly noisy wall: (photo path, true alpha)."""
    im = np.asarray(Image.open(EX / "fireman.png").convert("RGBA")).astype(np.float64)
    a = im[:, :, 3:] / 255.0
    h, w = a.shape[:2]
    rng = np.random.default_rng(0)
    photo = np.full((h + 2 * PAD, w + 2 * PAD, 3), (25.0, 20.0, 30.0)) + rng.normal(0, 4, (h + 2 * PAD, w + 2 * PAD, 3))
    sl = (slice(PAD, PAD + h), slice(PAD, PAD + w))
    photo[sl] = im[:, :, :3] * a + photo[sl] * (1 - a)
    p = tmp_path / "dark.png"
    Image.fromarray(np.clip(photo + 0.5, 0, 255).astype(np.uint8)).save(p)
    A = np.zeros(photo.shape[:2])
    A[sl] = a[:, :, 0]
    F = np.zeros(photo.shape)
    F[sl] = im[:, :, :3]
    return p, A, F


def _lum(x):
    return x @ np.array([0.299, 0.587, 0.114])


def _over_white(colour, alpha):
    a = alpha[:, :, None]
    return colour.astype(np.float64) * a + 255.0 * (1 - a)


def test_no_dark_fringe_over_a_bright_background(tmp_path):
    photo, A, F = _on_dark(tmp_path)
    analyze_photo(photo, out_dir=tmp_path / "ph")
    r = PhotoAnalysis.load(tmp_path / "ph")   # what the animator reads back
    alpha_png = cv2.imread(str(tmp_path / "ph" / "alpha.png"), cv2.IMREAD_UNCHANGED)
    assert alpha_png.dtype == np.uint8 and alpha_png.shape == A.shape
    assert r.alpha is not None and r.foreground is not None
    assert ((r.alpha > 0.05) & (r.alpha < 0.95)).sum() > 200        # soft, not a cut-out stencil
    truth = _lum(_over_white(F, A))
    edge = (A > 0.5).astype(np.uint8)
    band = (cv2.dilate(edge, np.ones((7, 7))) > 0) & ~(cv2.erode(edge, np.ones((7, 7))) > 0)

    def darkening(colour, alpha):  # how much darker than the true composite the edge band is
        return float(np.clip(truth - _lum(_over_white(colour, alpha)), 0, None)[band].mean())

    old = darkening(r.image, r.mask)          # the photo's pixels under the segmenter's mask
    new = darkening(r.foreground, r.alpha)
    assert new < 0.5 * old, (new, old)
    assert new < 20, new
    # the interior keeps the photo's exact pixels
    core = r.alpha >= 1.0
    assert np.array_equal(r.foreground[core], r.image[core])


def test_cutout_alpha_is_the_files_own(tmp_path):
    r = analyze_photo(EX / "fireman.png", out_dir=tmp_path / "ph")
    a = np.asarray(Image.open(EX / "fireman.png").convert("RGBA"))[:, :, 3] / 255.0
    assert np.abs(r.alpha - a).max() < 1e-6
    assert (tmp_path / "ph" / "alpha.png").exists() and (tmp_path / "ph" / "foreground.png").exists()


def test_older_analysis_folder_falls_back_to_the_mask(tmp_path):
    analyze_photo(EX / "fireman.png", out_dir=tmp_path / "ph")
    for f in ("alpha.png", "foreground.png"):
        (tmp_path / "ph" / f).unlink()     # a folder written before these files existed
    r = PhotoAnalysis.load(tmp_path / "ph")
    assert r.alpha is None and r.person_alpha() is r.mask and r.person_rgb() is r.image
    assert r.occluder_layer() is None
