"""The benchmark songs: fetch them from Debian packages into a cache and check every sha256.

Audio is never committed. ``manifest.json`` beside this file names every song: its split
(``tune`` for choices, ``test`` for reported figures), the Debian package, version and path
inside it, its sha256 and its licence. This script downloads the packages with
``apt-get download PKG=VERSION`` (no root needed), extracts only the listed files
(``dpkg-deb --fsys-tarfile``), checks their sha256 and writes them as
``CACHE/<split>/<name>.<ext>``.

    .venv/bin/python benchmarks/songs/fetch.py                 # both splits, default cache
    .venv/bin/python benchmarks/songs/fetch.py --split test --cache /tmp/songs

From Python (the motion benchmarks, with this folder on sys.path): ``from fetch import songs; songs("test")``
returns ``[(name, path), ...]``, fetching what is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
DEFAULT_CACHE = Path(os.environ.get("MAGICDANCE_SONGS", Path.home() / ".cache" / "magicdance" / "songs"))


def manifest() -> dict:
    return json.loads(MANIFEST.read_text())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _deb(package: str, version: str, debs: Path) -> Path:
    found = sorted(debs.glob(f"{package}_{version.split(':')[-1]}_*.deb"))
    if not found:
        debs.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=debs, capture_output=True, text=True)
        found = sorted(debs.glob(f"{package}_{version.split(':')[-1]}_*.deb"))
        if r.returncode != 0 or not found:
            raise SystemExit(f"error: apt-get download {package}={version} failed "
                             f"(run 'apt-get update' first?): {r.stderr.strip().splitlines()[-1:]}")
    return found[0]


def _extract(deb: Path, members: dict) -> None:
    """Write each wanted member of ``deb`` ({'./usr/...': out_path}) to its path (temp name + rename)."""
    # stderr dropped: dpkg-deb complains of a broken pipe when we stop reading early
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    left = dict(members)
    with tarfile.open(fileobj=tar.stdout, mode="r|") as tf:
        for info in tf:
            out = left.pop(info.name, None)
            if out is None:
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + ".part")
            tmp.write_bytes(tf.extractfile(info).read())
            os.replace(tmp, out)
            if not left:
                break
    tar.stdout.close()
    tar.wait()
    if left:
        raise SystemExit(f"error: {', '.join(left)} not in {deb.name}")


def songs(split: str = "test", cache: Path | str | None = None) -> list:
    """[(name, path)] of the split's songs ('tune', 'test' or 'all'), fetched and checked."""
    cache = Path(cache or DEFAULT_CACHE)
    rows = [s for s in manifest()["songs"] if split == "all" or s["split"] == split]
    if not rows:
        raise SystemExit(f"error: no songs in split {split!r} (tune, test or all)")
    out = {s["name"]: cache / s["split"] / (s["name"] + Path(s["path"]).suffix.lower()) for s in rows}
    missing = [s for s in rows if not out[s["name"]].is_file() or _sha256(out[s["name"]]) != s["sha256"]]
    by_deb: dict = {}
    for s in missing:
        by_deb.setdefault((s["package"], s["version"]), {})["./" + s["path"]] = out[s["name"]]
    for (pkg, ver), members in by_deb.items():
        _extract(_deb(pkg, ver, cache / "debs"), members)
    for s in rows:
        got = _sha256(out[s["name"]])
        if got != s["sha256"]:
            raise SystemExit(f"error: {s['name']} from {s['package']} {s['version']} has sha256 {got}, "
                             f"the manifest says {s['sha256']}")
    return [(s["name"], out[s["name"]]) for s in rows]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="all", choices=("tune", "test", "all"))
    ap.add_argument("--cache", default=None, help=f"folder for the songs and .deb files (default {DEFAULT_CACHE})")
    args = ap.parse_args()
    for name, path in songs(args.split, args.cache):
        print(f"{name}\t{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
