"""The worker: long work for the Blender GUI in a subprocess, speaking JSON lines.

``protocol`` holds the message format and the serve loop (``magicdance worker``);
``generate`` resolves the dance generator (the motion model, or the
choreographer until the model lands) and runs it, whole song or a time range.
"""
