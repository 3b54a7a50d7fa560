"""Panels, the takes list and the progress bar (``<extension>.ui`` inside the zip)."""

from . import panels, photo_joints_panel, retarget_panel


def register():
    panels.register()
    photo_joints_panel.register()
    retarget_panel.register()


def unregister():
    retarget_panel.unregister()
    photo_joints_panel.unregister()
    panels.unregister()
