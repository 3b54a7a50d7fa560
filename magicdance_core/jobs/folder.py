"""The job folder (DESIGN.md): job.json with inputs + sha256, options, versions, stage status.

A stage is skipped on a re-run when its key (a hash of its inputs' hashes and its options)
is the one recorded and its outputs still exist. job.json is rewritten atomically after every
stage change, so an interrupted job resumes at the stage it was in.

One process at a time works in a job folder: ``job.lock`` holds its pid. A run killed with
SIGKILL (the add-on's cancel) leaves its lock, job.json saying "running" and temp files; the next
run sees that the lock's process is gone, takes the folder over and removes those temps first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any, Optional

from .. import __version__
from ..errors import BadInput
from ..fileio import PathLike, atomic_write_text, clean_stale_temps, process_alive

JOB_FILE = "job.json"
LOCK_FILE = "job.lock"
# stage scratch folders (renamed into place when a stage finishes): left only by a killed run
SCRATCH = ("photo.part", "passes.part")
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

    @property
    def status(self) -> Optional[str]:
        """job.json's status; "interrupted" for a "running" job whose process is gone."""
        st = self.data.get("status")
        if st == "running" and not process_alive(int(self.data.get("pid") or 0)):
            return "interrupted"
        return st

    def _lock_owner(self) -> int:
        try:
            return int((self.root / LOCK_FILE).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    @contextlib.contextmanager
    def locked(self):
        """Hold the folder for this process; clean what a killed run left; mark it running."""
        lock = self.root / LOCK_FILE
        me = os.getpid()
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._lock_owner()
                if owner and owner != me and process_alive(owner):
                    raise BadInput(f"job folder {self.root} is in use by process {owner} "
                                   "(another magicdance run): wait for it, or use another --job") from None
                lock.unlink(missing_ok=True)  # its process is gone
                continue
            with os.fdopen(fd, "w") as f:
                f.write(f"{me}\n")
            break
        else:
            raise BadInput(f"cannot lock the job folder {self.root}")
        try:
            # nobody else works here now: every temp item and stage scratch folder is stale
            clean_stale_temps(self.root, recursive=True, everyone=True)
            for name in SCRATCH:
                shutil.rmtree(self.root / name, ignore_errors=True)
            for st in self.data["stages"].values():
                if st.get("status") == "running":
                    st["status"] = "interrupted"
            self.data.pop("error", None)
            self.data.update(status="running", pid=me)
            self.save()
            yield self
        finally:
            if self._lock_owner() == me:
                lock.unlink(missing_ok=True)

    def finish(self, status: str, **extra) -> None:
        """The job's final status ("done", "failed", "cancelled"); no pid is running it any more."""
        for st in self.data["stages"].values():
            if st.get("status") == "running":
                st["status"] = "cancelled" if status == "cancelled" else "failed"
        self.data.pop("pid", None)
        self.data.update(status=status, **extra)
        self.save()
