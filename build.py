#!/usr/bin/env python
"""Assemble the MagicDance Blender extension zip and validate it with Blender's validator.

Layout inside the zip (the extension package root):

    blender_manifest.toml, __init__.py, ... (blender_addon/)
    operators/...                           (operators/)
    ui/...                                  (ui/)

``magicdance_core`` and torch are not in the zip (see blender_addon/core_path.py).
Validation runs the ``validate`` command of ``bl_pkg/cli/blender_ext.py`` — the
code behind ``blender --command extension validate`` — from the bpy module's own
scripts, with this Python (no Blender binary needed).

    python build.py [-o dist/] [--no-validate]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SOURCES = ((ROOT / "blender_addon", ""), (ROOT / "operators", "operators/"), (ROOT / "ui", "ui/"))
SKIP_DIRS = {"__pycache__", ".pytest_cache"}


def manifest() -> dict:
    with open(ROOT / "blender_addon" / "blender_manifest.toml", "rb") as f:
        return tomllib.load(f)


def files_to_pack():
    for src, prefix in SOURCES:
        if not src.is_dir():
            raise SystemExit(f"error: missing folder {src}")
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                if name.endswith((".pyc", ".pyo")) or name.startswith("."):
                    continue
                p = Path(dirpath) / name
                yield p, prefix + p.relative_to(src).as_posix()


def build(out_dir: Path) -> Path:
    m = manifest()
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{m['id']}-{m['version']}.zip"
    tmp = out.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for p, arc in files_to_pack():
            z.write(p, arc)
    os.replace(tmp, out)   # never leave a half zip under the final name
    return out


def validator_script() -> Path | None:
    """bl_pkg's blender_ext.py inside the bpy module (found without importing bpy: it is slow)."""
    import importlib.util

    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        hits = sorted(Path(loc).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
        if hits:
            return hits[-1]
    return None


def validate(zip_path: Path) -> tuple[bool, str]:
    script = validator_script()
    if script is None:
        return False, "Blender's extension validator not found (install the bpy module)"
    r = subprocess.run([sys.executable, str(script), "validate", str(zip_path)], capture_output=True, text=True)
    text = (r.stdout + r.stderr).strip()
    return r.returncode == 0 and "error" not in text.lower(), text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out-dir", default=str(ROOT / "dist"))
    ap.add_argument("--no-validate", action="store_true")
    args = ap.parse_args(argv)
    out = build(Path(args.out_dir))
    print(out)
    if not args.no_validate:
        ok, text = validate(out)
        print(text)
        if not ok:
            print("error: the extension does not validate", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
