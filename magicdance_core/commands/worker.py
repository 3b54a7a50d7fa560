"""``magicdance worker``: the JSON-lines worker the Blender add-on starts (see worker/protocol.py)."""

NAME = "worker"
HELP = "serve JSON-lines requests on stdin/stdout (used by the Blender add-on)"


def add_arguments(parser) -> None:
    pass


def run(args, progress) -> int:
    from ..worker.protocol import serve_stdio

    return serve_stdio()
