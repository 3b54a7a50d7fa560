"""Build the MagicDance scene inside Blender:  blender -b -P scripts/headless_scene.py -- SONG OUT.blend [--style S] [--seed N] [--photo P]

Needs a Python that has MagicDance's dependencies (librosa, PyAV, ...): run Blender with
``PYTHONPATH=<venv>/lib/python3.11/site-packages`` (same Python minor version as Blender's),
or use ``magicdance scene SONG -o OUT.blend`` (Blender as a module), which builds the same scene.
Also runs as ``python scripts/headless_scene.py SONG OUT.blend`` with the bpy module.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def main(argv) -> int:
    from magicdance_core.cli import main as cli_main

    return cli_main(["scene", argv[0], "-o", argv[1], *argv[2:]]) if len(argv) >= 2 else _usage()


def _usage() -> int:
    print(__doc__.splitlines()[0], file=sys.stderr)
    return 2


if __name__ == "__main__":
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    code = main(args)
    if code:
        sys.exit(code)
