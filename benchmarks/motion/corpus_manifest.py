"""The training corpus's manifest, and the check that no benchmark song is in it.

    .venv/bin/python benchmarks/motion/corpus_manifest.py runs/corpus_v1 \\
        --command "magicdance dataset build --out runs/corpus_v1 --hours 1 --seed 0" \\
        --out benchmarks/motion/corpus_manifest.json
    .venv/bin/python benchmarks/motion/corpus_manifest.py runs/corpus_v1 --check   # exit 1 if a song leaked

The manifest holds the sha256 and size of every file of the corpus folder (``index.json`` and the
shards), its window count and hours, and where its songs came from (``generated``: MIDI written by
the song generator, danced by the choreographer; ``real``: a song file, with its sha256; ``aist++``).
The check fails when a ``real`` song's sha256 is a benchmark song's (``benchmarks/songs/manifest.json``)
or a ``real`` song has no sha256 to compare (built before the builder recorded it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from magicdance_core.fileio import sha256_file  # noqa: E402

SONGS = ROOT / "benchmarks" / "songs" / "manifest.json"


def manifest(folder: Path, command: str = "") -> dict:
    index = json.loads((folder / "index.json").read_text())
    files = sorted(p for p in folder.rglob("*") if p.is_file() and (p.suffix == ".npz" or p.name == "index.json"))
    songs = index.get("songs", [])
    return {"format": "magicdance-corpus-manifest-1", "folder": folder.name, "command": command,
            "windows": index.get("windows"), "hours": index.get("hours"), "seed": index.get("seed"),
            "song_sources": dict(Counter(s.get("source", "?") for s in songs)),
            "real_songs": [{k: s.get(k) for k in ("file", "sha256")} for s in songs if s.get("source") == "real"],
            "files": [{"path": str(p.relative_to(folder)), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
                      for p in files]}


def leaks(folder: Path) -> list:
    """Problems: real corpus songs that are benchmark songs, or cannot be checked."""
    bench = {s["sha256"]: s["name"] for s in json.loads(SONGS.read_text())["songs"]}
    out = []
    for s in json.loads((folder / "index.json").read_text()).get("songs", []):
        if s.get("source") != "real":
            continue
        if not s.get("sha256"):
            out.append(f"{s.get('file')}: a real song without a sha256 (rebuild the corpus)")
        elif s["sha256"] in bench:
            out.append(f"{s.get('file')}: is the benchmark song {bench[s['sha256']]}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", help="corpus folder (index.json + shards)")
    ap.add_argument("--command", default="", help="the command that built it (recorded)")
    ap.add_argument("--note", default="", help="a sentence recorded with it")
    ap.add_argument("--out", default=None, help="write the manifest here")
    ap.add_argument("--check", action="store_true", help="only check that no benchmark song is in the corpus")
    args = ap.parse_args()
    folder = Path(args.corpus)
    if not (folder / "index.json").is_file():
        print(f"error: {folder} has no index.json (not a corpus folder)", file=sys.stderr)
        return 2
    problems = leaks(folder)
    for p in problems:
        print(f"leak: {p}", file=sys.stderr)
    if args.check:
        print("no benchmark song in the corpus" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    doc = manifest(folder, args.command)
    if args.note:
        doc["note"] = args.note
    doc["benchmark_songs_in_corpus"] = problems
    text = json.dumps(doc, indent=1) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
