"""MagicDance core: everything that is not Blender (never imports bpy).

Stages live in subpackages (audio, body, motion, choreo, photo, animate, video,
metrics, jobs); the pipeline in ``jobs`` only chains them.
"""

__version__ = "0.1.0"
FPS = 30.0  # the one frame rate of the project (EDGE's rate)
