#!/usr/bin/env python3
"""Rebuild the music corpus (nothing of it is committed) from package registries.

  .venv/bin/python scripts/build_corpus.py [--out .corpus] [--generated N] [--no-debian] [--seed S]

* real music: Debian game-music packages fetched with ``apt-get download`` and
  unpacked with ``dpkg -x`` (supertux-data, hedgewars-data, singularity-music,
  openttd-openmsx); their .ogg/.mp3/.flac/.wav tracks are linked into OUT/real/,
  their MIDI files rendered through the GM soundfont into OUT/real/*.wav;
* generated music: N songs per style from :mod:`magicdance_core.dataset.music_gen`,
  rendered to OUT/generated/<style>_<i>.wav with exact beat labels beside each
  (<name>.beats.json: bpm, meter, beats_s, downbeats_s).

The choreographer benchmark (benchmarks/choreo/run.py) dances OUT/real songs it was
never tuned on; ``magicdance dataset build --corpus OUT/real`` mixes them into training.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PACKAGES = ("supertux-data", "hedgewars-data", "singularity-music", "openttd-openmsx")
AUDIO = (".ogg", ".mp3", ".flac", ".wav", ".opus")
MIDI = (".mid", ".midi")


def fetch_debian(out: Path, packages=PACKAGES) -> list:
    debs, tree, real = out / "debs", out / "debian", out / "real"
    for d in (debs, tree, real):
        d.mkdir(parents=True, exist_ok=True)
    found = []
    for pkg in packages:
        if not list(debs.glob(f"{pkg}_*.deb")):
            r = subprocess.run(["apt-get", "download", pkg], cwd=debs, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"warning: apt-get download {pkg} failed: {r.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                continue
        deb = sorted(debs.glob(f"{pkg}_*.deb"))[-1]
        dest = tree / pkg
        if not dest.exists():
            subprocess.run(["dpkg", "-x", str(deb), str(dest)], check=True)
        for f in sorted(dest.rglob("*")):
            if not f.is_file() or f.stat().st_size < 20000 and f.suffix.lower() not in MIDI:
                continue
            name = f"{pkg}__{f.stem}"
            if f.suffix.lower() in AUDIO:
                link = real / (name + f.suffix.lower())
                if not link.exists():
                    link.symlink_to(f.resolve())
                found.append(link)
            elif f.suffix.lower() in MIDI:
                wav = real / (name + ".wav")
                if not wav.exists():
                    from magicdance_core.audio.midi_render import render_midi

                    try:
                        render_midi(f, wav)
                    except Exception as e:  # a MIDI the synth cannot read: skip it, say so
                        print(f"warning: cannot render {f.name}: {e}", file=sys.stderr)
                        continue
                found.append(wav)
    return found


def make_generated(out: Path, per_style: int, seed: int) -> list:
    from magicdance_core.audio.midi_render import render_midi
    from magicdance_core.dataset.music_gen import STYLE_MUSIC, generate_song

    gen = out / "generated"
    gen.mkdir(parents=True, exist_ok=True)
    made = []
    for k, style in enumerate(STYLE_MUSIC):
        for i in range(per_style):
            name = f"{style}_{i:03d}"
            wav = gen / f"{name}.wav"
            if not wav.exists():
                song = generate_song(style, seed=seed * 1000 + k * 100 + i, duration_s=60.0)
                render_midi(song.midi, wav)
                (gen / f"{name}.beats.json").write_text(json.dumps({
                    "style": style, "bpm": song.bpm, "meter": song.meter,
                    "beats_s": [round(float(b), 6) for b in song.beats_s],
                    "downbeats_s": [round(float(b), 6) for b in song.downbeats_s]}))
            made.append(wav)
    return made


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / ".corpus"))
    ap.add_argument("--generated", type=int, default=3, help="generated songs per style (default 3)")
    ap.add_argument("--no-debian", action="store_true", help="skip the Debian packages")
    ap.add_argument("--packages", default=",".join(PACKAGES))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = Path(args.out)
    real = [] if args.no_debian else fetch_debian(out, [p for p in args.packages.split(",") if p])
    gen = make_generated(out, args.generated, args.seed) if args.generated > 0 else []
    print(f"{out}: {len(real)} real tracks in real/, {len(gen)} generated songs in generated/")
    if not args.no_debian and not real and shutil.which("apt-get") is None:
        print("error: apt-get is needed for the Debian music", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
