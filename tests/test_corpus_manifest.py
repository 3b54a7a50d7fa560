"""benchmarks/motion/corpus_manifest.py: the corpus's sha256 manifest and the no-test-song check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "motion" / "corpus_manifest.py"


def _corpus(folder: Path, songs) -> Path:
    folder.mkdir()
    (folder / "index.json").write_text(json.dumps({"windows": 2, "hours": 0.01, "seed": 0, "songs": songs}))
    (folder / "shard_00000.npz").write_bytes(b"not really a shard")
    return folder


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def test_generated_corpus_passes_and_its_files_are_hashed(tmp_path):
    c = _corpus(tmp_path / "gen", [{"source": "generated", "bpm": 120}])
    out = tmp_path / "m.json"
    assert _run(c, "--check").returncode == 0
    assert _run(c, "--out", out, "--command", "build it").returncode == 0
    doc = json.loads(out.read_text())
    assert {f["path"] for f in doc["files"]} == {"index.json", "shard_00000.npz"}
    assert all(len(f["sha256"]) == 64 for f in doc["files"]) and doc["song_sources"] == {"generated": 1}


def test_a_benchmark_song_in_the_corpus_fails_the_check(tmp_path):
    test_song = json.loads((ROOT / "benchmarks/songs/manifest.json").read_text())["songs"][-1]
    c = _corpus(tmp_path / "leak", [{"source": "real", "file": "x.ogg", "sha256": test_song["sha256"]},
                                    {"source": "real", "file": "old.ogg"}])
    r = _run(c, "--check")
    assert r.returncode == 1
    assert f"is the benchmark song {test_song['name']}" in r.stderr and "without a sha256" in r.stderr
    assert _run(tmp_path / "missing", "--check").returncode == 2
