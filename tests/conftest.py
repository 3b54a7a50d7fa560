import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("OMP_NUM_THREADS", "2")


def run_cli(*args, cwd=None, timeout=600):
    """Run ``python -m magicdance_core.cli ARGS`` as a user would; returns CompletedProcess."""
    import subprocess

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "magicdance_core.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or ROOT, env=env, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli
