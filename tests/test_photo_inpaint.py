"""Every inpainting method fills only the hole, and better than a flat fill where it can know."""

from pathlib import Path

import numpy as np
import pytest

from magicdance_core.photo.inpaint import METHODS, inpaint


def _scene(n=96):
    y, x = np.mgrid[0:n, 0:n] / n
    img = np.stack([200 * x + 30, 150 * y + 50, 120 * (1 - x) + 60], axis=2)
    hole = (np.hypot(x - 0.5, y - 0.55) < 0.18)
    return np.clip(img, 0, 255).astype(np.uint8), hole


@pytest.mark.parametrize("method", [m for m in METHODS if m != "fsr_best"])   # fsr_best: minutes
def test_fills_the_hole_only(method):
    img, hole = _scene()
    photo = img.copy()
    photo[hole] = (255, 0, 255)     # the "person"
    out = inpaint(photo, hole, method)
    assert np.array_equal(out[~hole], photo[~hole])
    assert not (out[hole] == (255, 0, 255)).all(axis=1).any()     # nothing of the person is left
    err = np.abs(out[hole].astype(int) - img[hole].astype(int)).mean()
    flat = np.abs(img[~hole].mean(axis=0) - img[hole].astype(int)).mean()
    if method in ("ns", "telea"):   # diffusion continues a smooth gradient
        assert err < 0.7 * flat, (err, flat)


def test_other_people_beside_the_hole_are_not_smeared_into_it():
    """A second person stands beside the dancer's hole: they stay in the plate as they are, and
    the hole is filled from the background around, not from them (control: filled from them)."""
    from magicdance_core.photo.inpaint import background_plate, dilated_hole

    img, hole = _scene()
    photo = img.copy()
    photo[hole] = (255, 0, 255)                          # the dancer
    other = np.zeros(hole.shape, bool)
    other[30:80, 66:80] = True                           # the neighbour, touching the hole's right side
    photo[other & ~hole] = (250, 250, 250)
    err = lambda out: float(np.abs(out[hole].astype(int) - img[hole].astype(int)).mean())  # noqa: E731
    kept = background_plate(photo, hole, "ns", others=other)
    smeared = background_plate(photo, hole, "ns")
    outside = other & ~dilated_hole(hole)
    assert np.array_equal(kept[outside], photo[outside])   # the neighbour stays as they are
    white = lambda out: float((out[hole].min(axis=1) > 200).mean())  # noqa: E731
    assert white(kept) < 0.02 and white(smeared) > 0.1, (white(kept), white(smeared))
    assert err(kept) < err(smeared)


def _grain(img, m):
    from scipy.ndimage import gaussian_filter

    g = img.astype(float).mean(axis=2)
    return float(np.sqrt(((g - gaussian_filter(g, 1.5))[m] ** 2).mean()))


def test_texture_fill_has_the_backgrounds_grain_not_a_smooth_smear():
    """A crowd or grass behind the dancer: NS leaves a smooth blur; ns_texture gives the hole the
    grain of the background beside it (same colour underneath), and never the grain of a
    neighbour who is not a source."""
    from magicdance_core.photo.inpaint import background_plate

    rng = np.random.default_rng(0)
    img, hole = _scene(160)
    grass = np.clip(img + rng.normal(0, 25, img.shape), 0, 255).astype(np.uint8)
    photo = grass.copy()
    photo[hole] = (255, 0, 255)
    truth = _grain(grass, hole)
    smooth = background_plate(photo, hole, "ns")
    textured = background_plate(photo, hole, "ns_texture")
    assert _grain(smooth, hole) < 0.3 * truth
    assert 0.6 * truth < _grain(textured, hole) < 1.4 * truth
    # the colour underneath stays the diffusion's: no worse on average than NS
    blur = lambda a: __import__("cv2").GaussianBlur(a.astype(np.float32), (0, 0), 4)  # noqa: E731
    err = lambda out: float(np.abs(blur(out)[hole] - blur(img)[hole]).mean())  # noqa: E731
    assert err(textured) < err(smooth) + 3
    # the grain comes only from known background: a textured neighbour on a smooth one is not copied
    other = np.zeros(hole.shape, bool)
    other[:, 100:] = True
    photo2 = img.copy()
    photo2[other] = grass[other]
    photo2[hole] = (255, 0, 255)
    kept = background_plate(photo2, hole, "ns_texture", others=other & ~hole)
    assert _grain(kept, hole & ~other) < 0.3 * truth


def test_unknown_method_and_cli_choice(cli, tmp_path):
    with pytest.raises(ValueError, match="unknown inpainting method"):
        inpaint(*_scene(), method="magic")
    r = cli("photo", Path(__file__).resolve().parents[1] / "examples" / "fireman.png", "-o", tmp_path / "o", "--inpaint", "magic")
    assert r.returncode == 2 and "error: --inpaint" in r.stderr and "Traceback" not in r.stderr
