"""MagicDance extension root (register/unregister).

Inside the built zip (see build.py) this folder is the package root and
``operators/`` and ``ui/`` sit beside this file as subpackages, so they are
imported relatively here, only when Blender registers the extension.  In the
source tree ``blender_addon`` is importable on its own (tests use its modules
directly); ``magicdance_core`` comes from the Python environment (see
core_path.py), never from the zip.
"""

import importlib

_MODULES = ("props", "preferences", "operators", "ui")


def _submodules():
    return [importlib.import_module(f".{m}", __name__) for m in _MODULES]


def register():
    for m in _submodules():
        m.register()


def unregister():
    for m in reversed(_submodules()):
        m.unregister()
