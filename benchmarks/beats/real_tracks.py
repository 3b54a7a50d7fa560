"""Real recordings for the beat benchmark: excerpts of game music from Debian packages.

Audio is never committed. ``extract(out_dir)`` downloads the .deb packages with
``apt-get download`` (no root needed), takes the one .ogg per track out of each with
``dpkg-deb --fsys-tarfile | tar -x`` and writes a mono 44.1 kHz WAV excerpt per track.
The beat annotations live in ``annotations/NAME.beats.txt`` (one beat time in seconds per line,
relative to the excerpt start); how they were made is in ``annotate_real.py`` and RESULTS.md.

    .venv/bin/python benchmarks/beats/real_tracks.py /tmp/realmusic/excerpts
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List

import numpy as np

HERE = Path(__file__).resolve().parent
ANNOTATIONS = HERE / "annotations"
SR = 44100


@dataclass(frozen=True)
class Track:
    name: str
    package: str  # Debian (bookworm) package
    version: str
    member: str  # path inside the package
    start_s: float  # excerpt start in the file
    dur_s: float
    licence: str  # of the music, from the package's copyright file


ST = "./usr/share/games/supertux2/music/"
HW = "./usr/share/games/hedgewars/Data/Music/"
TRACKS: List[Track] = [
    Track("supertux_christmas_theme", "supertux-data", "0.6.3-2", ST + "misc/christmas_theme.ogg", 10, 60, "CC-BY-SA / GPL (supertux-data)"),
    Track("supertux_tropicalbreeze", "supertux-data", "0.6.3-2", ST + "tropical/tropicalbreeze.ogg", 5, 60, "CC-BY-SA / GPL (supertux-data)"),
    Track("supertux_saharan_penguin", "supertux-data", "0.6.3-2", ST + "tropical/saharan_penguin.ogg", 10, 60, "CC-BY-SA / GPL (supertux-data)"),
    Track("supertux_battle_theme", "supertux-data", "0.6.3-2", ST + "misc/battle_theme.ogg", 10, 60, "CC-BY-SA / GPL (supertux-data)"),
    Track("supertux_fortress", "supertux-data", "0.6.3-2", ST + "castle/fortress.ogg", 0, 55, "CC-BY-SA / GPL (supertux-data)"),
    Track("supertux_forest3", "supertux-data", "0.6.3-2", ST + "forest/forest3.ogg", 10, 60, "CC-BY-SA / GPL (supertux-data)"),
    Track("supertux_credits", "supertux-data", "0.6.3-2", ST + "misc/credits.ogg", 10, 60, "CC-BY-SA / GPL (supertux-data)"),
    Track("supertux_forest_sprint", "supertux-data", "0.6.3-2", ST + "forest/forest-sprint.ogg", 10, 60, "CC-BY-SA / GPL (supertux-data)"),
    Track("hedgewars_rock", "hedgewars-data", "1.0.2-6", HW + "Rock.ogg", 10, 60, "GPL-2 / CC (hedgewars-data)"),
    Track("hedgewars_city", "hedgewars-data", "1.0.2-6", HW + "City.ogg", 10, 60, "GPL-2 / CC (hedgewars-data)"),
    Track("hedgewars_freeway", "hedgewars-data", "1.0.2-6", HW + "Freeway.ogg", 10, 60, "GPL-2 / CC (hedgewars-data)"),
    Track("hedgewars_oriental", "hedgewars-data", "1.0.2-6", HW + "oriental.ogg", 10, 60, "GPL-2 / CC (hedgewars-data)"),
    Track("frozen_bubble_main_1p", "frozen-bubble-data", "2.212-11", "./usr/share/games/frozen-bubble/snd/frozen-mainzik-1p.ogg", 10, 60,
          "GPL-2 (frozen-bubble-data)"),
    Track("hedgewars_olympics", "hedgewars-data", "1.0.2-6", HW + "Olympics.ogg", 10, 60, "GPL-2 / CC (hedgewars-data)"),
]


def _deb(package: str, version: str, cache: Path) -> Path:
    found = sorted(cache.glob(f"{package}_{version}_*.deb"))
    if not found:
        subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=cache, check=True)
        found = sorted(cache.glob(f"{package}_{version}_*.deb"))
    return found[0]


def _member(deb: Path, member: str, out: Path) -> None:
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=tar.stdout, mode="r|") as tf:
        for info in tf:
            if info.name == member:
                out.write_bytes(tf.extractfile(info).read())
                break
        else:
            raise FileNotFoundError(f"{member} not in {deb.name}")
    tar.stdout.close()
    tar.wait()


def extract(out_dir: Path, cache: Path | None = None, tracks=TRACKS) -> List[Path]:
    """Write ``out_dir/NAME.wav`` (mono, 44.1 kHz, the excerpt) for each track; returns the paths."""
    import soundfile

    sys.path.insert(0, str(HERE.parents[1]))
    from magicdance_core.audio.decode import load_audio

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = Path(cache or out_dir / "debs")
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in tracks:
        wav = out_dir / f"{t.name}.wav"
        if not wav.exists():
            with tempfile.TemporaryDirectory() as tmp:
                ogg = Path(tmp) / "track.ogg"
                _member(_deb(t.package, t.version, cache), t.member, ogg)
                y, sr = load_audio(ogg, sr=SR)
            a = int(t.start_s * SR)
            soundfile.write(wav, y[a: a + int(t.dur_s * SR)], SR)
        paths.append(wav)
    return paths


def records(out_dir: Path) -> List[dict]:
    """Benchmark records (like songs.build) for the tracks that have an annotation."""
    out = []
    for t, wav in zip(TRACKS, extract(out_dir)):
        ann = ANNOTATIONS / f"{t.name}.beats.txt"
        if not ann.exists():
            continue
        beats = np.loadtxt(ann, ndmin=1)
        meta = json.loads((ANNOTATIONS / f"{t.name}.json").read_text()) if (ANNOTATIONS / f"{t.name}.json").exists() else {}
        bpm = round(60.0 / float(np.median(np.diff(beats))), 1)
        out.append({"name": t.name, "wav": str(wav), "meter": meta.get("meter", 0), "tempo_range_bpm": [bpm, bpm],
                    "beats_s": beats.tolist(), "downbeats_s": [], "real": True})
    return out


if __name__ == "__main__":
    for p in extract(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/realmusic/excerpts")):
        print(p)
