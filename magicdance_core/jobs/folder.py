"""The job folder (DESIGN.md): job.json with inputs + sha256, options, versions, stage status.

A stage is skipped on a re-run when its key (a hash of its inputs' hashes and its options)
is the one recorded and its outputs still exist. job.json is rewritten atomically after every
stage change, so an interrupted job resumes at the stage it was in.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from pathlib import Path
from typing import Any, Optional

from .. import __version__
from ..errors import BadInput
from ..fileio import PathLike, atomic_write_text

JOB_FILE = "job.json"
FORMAT = 1


def key_of(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


class JobFolder:
    def __init__(self, root: PathLike):
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise BadInput(f"job folder is a file: {self.root}")
        self.root.mkdir(parents=True, exist_ok=True)
        self.data = self._read()

    def _read(self) -> dict:
        p = self.root / JOB_FILE
        if p.exists():
            try:
                d = json.loads(p.read_text())
                if isinstance(d, dict) and d.get("format") == FORMAT:
                    d.setdefault("stages", {})
                    return d
            except (ValueError, OSError):
                pass  # a damaged job.json: start over (stages are recomputed, nothing is lost)
        return dict(format=FORMAT, created=time.strftime("%Y-%m-%dT%H:%M:%S"), stages={}, inputs={}, options={})

    def path(self, *parts) -> Path:
        return self.root.joinpath(*parts)

    def save(self) -> None:
        self.data["versions"] = dict(magicdance=__version__, python=platform.python_version())
        atomic_write_text(self.root / JOB_FILE, json.dumps(self.data, indent=1, sort_keys=True))

    def set_inputs(self, inputs: dict, options: dict) -> None:
        self.data["inputs"], self.data["options"] = inputs, options
        self.save()

    def stage(self, name: str) -> dict:
        return self.data["stages"].get(name, {})

    def is_done(self, name: str, key: str, outputs) -> bool:
        st = self.stage(name)
        return (st.get("status") == "done" and st.get("key") == key
                and all(self.path(o).exists() for o in outputs))

    def mark(self, name: str, status: str, key: Optional[str] = None, **extra) -> None:
        st = dict(self.stage(name))
        st.update(status=status, updated=time.strftime("%Y-%m-%dT%H:%M:%S"), **extra)
        if key is not None:
            st["key"] = key
        self.data["stages"][name] = st
        self.save()

    @property
    def finished(self) -> bool:
        return self.data.get("status") == "done"
