"""The benchmark photo set's manifest: every kind the product is checked on is covered in both
splits' union, the committed copies are the packages' files, and a damaged cache file is refetched."""

import hashlib
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("bench_photos", ROOT / "benchmarks/dance/photos.py")
photos = importlib.util.module_from_spec(SPEC)
sys.modules["bench_photos"] = photos  # dataclasses look their module up
SPEC.loader.exec_module(photos)

REQUIRED = {"frontal_full_body", "rgba_cutout", "several_people", "landscape", "side_view", "half_body",
            "held_object", "loose_clothes", "child", "drawing"}


def test_manifest_covers_the_kinds_with_a_tune_test_split():
    rows = photos.manifest()
    assert len(rows) >= 10
    assert len({r["file"] for r in rows}) == len(rows)
    for r in rows:
        assert r["split"] in photos.SPLITS
        assert len(r["sha256"]) == 64 and r["licence"] and r["source"]["version"]
        assert r["source"]["registry"] in ("pypi", "debian")
    kinds = {k for r in rows for k in r["kind"]}
    assert REQUIRED <= kinds
    # the reported split alone still shows real people and drawings, several people and a side view
    test_kinds = {k for r in rows if r["split"] == "test" for k in r["kind"]}
    assert {"frontal_full_body", "several_people", "side_view", "drawing", "half_body"} <= test_kinds


def test_committed_copies_match_the_manifest(tmp_path):
    committed = [r for r in photos.manifest() if r["committed"]]
    assert committed
    for r in committed:
        data = (photos.COMMITTED / r["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"], r["file"]
    # a damaged cache file is replaced, a wrong manifest hash is refused
    r = committed[0]
    (tmp_path / r["file"]).write_bytes(b"not a photo")
    p = photos.fetch_one(r, tmp_path)
    assert photos.sha256(p) == r["sha256"]
    with pytest.raises(photos.FetchError, match="sha256"):
        photos.fetch_one(dict(r, sha256="0" * 64), tmp_path / "other")


def test_installed_package_is_read_in_place(tmp_path):
    r = next(r for r in photos.manifest() if r["source"]["package"] == "scikit-image")
    p = photos.fetch_one(r, tmp_path)
    assert p.parent == tmp_path and photos.sha256(p) == r["sha256"]
