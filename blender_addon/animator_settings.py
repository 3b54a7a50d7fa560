"""Which image animator Animate Photo uses, and with which weights.

The scene chooses the animator (its ``magicdance.animator`` setting: it belongs to the video
being made); the diffusion animator's weights are the user's own download, named once in the
add-on preferences for every .blend. :func:`animator_fields` turns both into the dance job's
fields (``DanceOptions``; the worker's animate request carries the same keys), so the in-process
operator and the worker request cannot disagree.
"""

from __future__ import annotations

import importlib.util

from .core_path import bpy_abspath, get_prefs

# (enum id, core name, label, description, core module). The numbers stay fixed so a .blend
# keeps its choice when an animator is missing from another checkout.
ANIMATORS = (
    ("PUPPET", "puppet", "Puppet (CPU)", "The built-in CPU animator: the photo carried on the fitted body", "puppet"),
    ("SURFACE", "surface", "Surface (CPU)", "The CPU animator that redraws the body surface from the photo", "surface"),
    ("DIFFUSION", "diffusion", "Diffusion (MagicAnimate)",
     "MagicAnimate's diffusion model on the DensePose pass: needs its weights (add-on preferences) "
     "and is slow without a GPU", "diffusion"),
)


def _core_found() -> bool:
    try:
        return importlib.util.find_spec("magicdance_core") is not None
    except (ImportError, ValueError):
        return False


def animator_items(self, context):
    # Computed once the core is found (until then every animator is offered; the job checks);
    # Blender needs the strings kept alive between redraws.
    items = getattr(animator_items, "cache", None)
    if items is None:
        found = _core_found()
        items = [(ident, label, desc, "", number)
                 for number, (ident, _name, label, desc, module) in enumerate(ANIMATORS)
                 if not found or importlib.util.find_spec(f"magicdance_core.animate.{module}") is not None]
        if found:
            animator_items.cache = items
        else:
            animator_items.fallback = items
    return items


def core_name(enum_id: str) -> str:
    return {a[0]: a[1] for a in ANIMATORS}.get(enum_id, "puppet")


def animator_fields(scene, context=None) -> dict:
    """The dance job's animator fields for ``scene``: ``animator`` and, for the diffusion animator,
    ``animator_weights`` / ``face_weights`` from the preferences, steps and guidance when set,
    and the DensePose pass it is driven by."""
    s = getattr(scene, "magicdance", None)
    name = core_name(getattr(s, "animator", "PUPPET")) if s is not None else "puppet"
    fields = {"animator": name}
    if name == "diffusion":
        prefs = get_prefs(context)
        fields["animator_weights"] = bpy_abspath(getattr(prefs, "animator_weights_path", "")) or None
        face = bpy_abspath(getattr(prefs, "face_weights_path", ""))
        if face:
            fields["face_weights"] = face
        if s.animator_steps > 0:      # 0 = the weights' config (MagicAnimate's 25)
            fields["animator_steps"] = int(s.animator_steps)
        if s.animator_guidance > 0:   # 0 = the weights' config (7.5)
            fields["animator_guidance"] = float(s.animator_guidance)
        fields["passes"] = "densepose"
    return fields
