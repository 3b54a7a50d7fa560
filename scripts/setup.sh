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
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # --prefer-binary: several packages only build from source with system libraries we do not need.
  .venv/bin/python -m pip install -q --prefer-binary -r requirements.txt
  # tinysoundfont renders MIDI offline; its pyaudio dependency (live playback) does not build
  # without portaudio headers and is not needed, hence --no-deps.
  .venv/bin/python -m pip install -q --no-deps tinysoundfont==0.3.7
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
echo "magicdance ready: $(.venv/bin/magicdance --version)"
