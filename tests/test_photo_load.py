"""Photo loading: orientation, modes, sizes, bad files (images generated here)."""

import numpy as np
import pytest
from PIL import Image

from magicdance_core.errors import BadInput
from magicdance_core.photo.load import MAX_PIXELS, load_photo


def _img(w=300, h=200):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x % 256, y % 256, (x + y) % 256], axis=2).astype(np.uint8)


def test_exif_orientation_is_applied(tmp_path):
    im = Image.fromarray(_img(300, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    p = tmp_path / "rot.jpg"
    im.save(p, exif=exif.tobytes())
    ph = load_photo(p)
    assert ph.rgb.shape == (300, 200, 3)
    assert ph.original_size == (200, 300)


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA", "P", "I;16"])
def test_modes_load_as_rgb(tmp_path, mode):
    base = Image.fromarray(_img())
    if mode == "I;16":
        im = Image.fromarray((np.asarray(base.convert("L")).astype(np.uint16) * 257))
        p = tmp_path / "x16.png"
    elif mode == "RGBA":
        a = np.zeros((200, 300), np.uint8)
        a[50:150, 100:200] = 255
        im = Image.fromarray(np.dstack([_img(), a]), "RGBA")
        p = tmp_path / "x.png"
    else:
        im = base.convert(mode)
        p = tmp_path / ("x.jpg" if mode == "CMYK" else "x.png")
    im.save(p)
    ph = load_photo(p)
    assert ph.rgb.dtype == np.uint8 and ph.rgb.shape == (200, 300, 3)
    if mode == "RGBA":
        assert ph.alpha is not None and ph.alpha[100, 150] == 1.0 and ph.alpha[10, 10] == 0.0
        assert tuple(ph.rgb[10, 10]) == (255, 255, 255)  # transparent -> composited on white
    if mode == "I;16":
        assert abs(int(ph.rgb[100, 150, 0]) - int(np.asarray(base.convert("L"))[100, 150])) <= 1


def test_webp_and_downscale(tmp_path):
    p = tmp_path / "big.webp"
    Image.fromarray(np.repeat(np.repeat(_img(300, 200), 10, 0), 10, 1)).save(p)
    ph = load_photo(p)
    assert max(ph.rgb.shape[:2]) == 1280
    assert ph.original_size == (3000, 2000)
    assert ph.scale == pytest.approx(3000 / 1280)


def test_bad_files(tmp_path):
    with pytest.raises(BadInput, match="not found"):
        load_photo(tmp_path / "nope.jpg")
    (tmp_path / "c.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage" * 10)
    with pytest.raises(BadInput, match="not an image"):
        load_photo(tmp_path / "c.jpg")
    Image.fromarray(_img(10, 10)).save(tmp_path / "t.png")
    with pytest.raises(BadInput, match="10x10"):
        load_photo(tmp_path / "t.png")


def test_over_50_megapixels_refused_without_decoding(tmp_path):
    p = tmp_path / "huge.png"
    Image.new("L", (8000, 8000), 128).save(p, compress_level=1)
    assert 8000 * 8000 > MAX_PIXELS
    with pytest.raises(BadInput, match="megapixels"):
        load_photo(p)
