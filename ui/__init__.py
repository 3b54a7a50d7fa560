"""Panels, the takes list and the progress bar (``<extension>.ui`` inside the zip)."""

from . import panels


def register():
    panels.register()


def unregister():
    panels.unregister()
