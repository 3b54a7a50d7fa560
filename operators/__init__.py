"""Operators (thin: check input -> call the Blender side / core -> report).

Inside the extension zip this is the subpackage ``<extension>.operators``; the
Blender-side modules are imported relatively from the extension root (``..``).
Other owners' operator modules (render_passes, animate_photo) are registered
too when present; each module exposes ``register()``/``unregister()`` or ``CLASSES``.
"""

import importlib

_MINE = ("common", "music_ops", "dancer_ops", "generate_ops", "take_ops", "export_ops")
_OTHERS = ("render_passes", "animate_photo", "photo_joints", "retarget_ops")


def _modules():
    mods = [importlib.import_module(f".{m}", __name__) for m in _MINE]
    for m in _OTHERS:
        try:
            mods.append(importlib.import_module(f".{m}", __name__))
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{m}":   # the module is there but broken: say so
                raise
    return mods


def _call(mod, what):
    import bpy

    fn = getattr(mod, what, None)
    if fn is not None:
        fn()
        return
    classes = getattr(mod, "CLASSES", ())
    for c in (classes if what == "register" else reversed(classes)):
        (bpy.utils.register_class if what == "register" else bpy.utils.unregister_class)(c)


def register():
    for m in _modules():
        _call(m, "register")


def unregister():
    for m in reversed(_modules()):
        _call(m, "unregister")
