"""Finding ``magicdance_core`` (it is not inside the extension zip).

Under Blender-as-a-module and ``blender -b`` run from the project's environment
it is simply importable.  In the GUI the preferences name the MagicDance source
folder (the one holding ``magicdance_core/``); it is appended to ``sys.path`` on
demand.  Only numpy-level modules are imported into Blender's own Python; torch,
librosa and PyAV stay in the worker's environment.
"""

from __future__ import annotations

import importlib
import os
import sys

ROOT_PACKAGE = __package__ or "blender_addon"


def get_prefs(context=None):
    import bpy

    context = context or bpy.context
    addon = context.preferences.addons.get(ROOT_PACKAGE)
    return None if addon is None else addon.preferences


def ensure_core(context=None) -> str:
    """Make ``magicdance_core`` importable; returns '' or a one-line reason it is not."""
    try:
        importlib.import_module("magicdance_core")
        return ""
    except ImportError:
        pass
    prefs = get_prefs(context)
    src = getattr(prefs, "source_path", "") if prefs else ""
    src = bpy_abspath(src)
    if not src:
        return "set the MagicDance source folder in the add-on preferences"
    if not os.path.isdir(os.path.join(src, "magicdance_core")):
        return f"no magicdance_core folder in {src}"
    if src not in sys.path:
        sys.path.append(src)   # appended: Blender's own numpy stays first
    try:
        importlib.import_module("magicdance_core")
    except ImportError as e:
        return f"magicdance_core does not import: {e}"
    return ""


def bpy_abspath(p: str) -> str:
    if not p:
        return ""
    try:
        import bpy

        p = bpy.path.abspath(p)
    except Exception:
        pass
    return os.path.abspath(os.path.expanduser(p))


def core_source_dir() -> str:
    """The folder holding the importable magicdance_core (for the worker's PYTHONPATH)."""
    try:
        mod = importlib.import_module("magicdance_core")
        return os.path.dirname(os.path.dirname(os.path.abspath(mod.__file__)))
    except ImportError:
        return ""


def use_worker(context=None) -> bool:
    """True in the GUI when the preferences ask for the worker (the default)."""
    import bpy

    if bpy.app.background:
        return False
    prefs = get_prefs(context)
    return bool(prefs is None or getattr(prefs, "run_mode", "AUTO") != "IN_PROCESS")
