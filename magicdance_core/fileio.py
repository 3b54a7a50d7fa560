"""Small file helpers every stage uses: atomic writes, temp names owned by a process, hashes.

Every temporary file or folder is named ``.<name>.tmp-<pid>-<random>[.part<suffix>]`` beside its
final name: recognisable, and owned by the process that made it. A process killed with SIGKILL
(how the add-on cancels a worker) cannot clean up, so the next writer of the same folder removes
the temp items whose owner is gone (:func:`clean_stale_temps`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Union

from .errors import BadInput

PathLike = Union[str, os.PathLike]


@contextlib.contextmanager
def atomic_path(final: PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it over ``final`` on success.

    On any exception the temporary file is removed, so no half-written file is
    ever left under the final name. ``suffix`` defaults to the final name's
    suffix so that writers that look at the extension (PyAV, numpy) still work.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    suffix = final.suffix if suffix is None else suffix
    clean_stale_temps(final.parent, bases=(final.stem,))
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(final.stem), suffix=".part" + suffix, dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes 0600 files; outputs are the user's ordinary files (umask applies).
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp_path, 0o666 & ~mask)
        os.replace(tmp_path, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


TEMP_RE = re.compile(r"^\.(?P<base>.+?)\.tmp-(?P<pid>\d+)-[A-Za-z0-9_]+(?:\.part.*)?$")


def temp_prefix(base: str) -> str:
    """Start of a temp name for ``base`` owned by this process (a random part follows)."""
    return f".{base}.tmp-{os.getpid()}-"


def temp_dir_name(base: str) -> str:
    """A temp folder name for ``base`` owned by this process and thread."""
    import threading

    return f".{base}.tmp-{os.getpid()}-{threading.get_ident()}"


def process_alive(pid: int) -> bool:
    """True while process ``pid`` runs on this machine (a zombie, killed but not reaped, is gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def remove_path(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def clean_stale_temps(folder: PathLike, bases=None, recursive: bool = False, everyone: bool = False) -> list:
    """Remove temp items in ``folder`` whose owning process is gone; returns what was removed.

    ``bases``: only temps of these final names. ``everyone``: also those of live processes
    (the caller holds a lock on the folder, so none can be in use). Items of this process are kept.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    me = os.getpid()
    for e in entries:
        m = TEMP_RE.match(e.name)
        if m and (bases is None or m.group("base") in bases or m.group("base").split(".")[0] in bases):
            pid = int(m.group("pid"))
            if pid != me and (everyone or not process_alive(pid)):
                remove_path(Path(e.path))
                removed.append(Path(e.path))
                continue
        if recursive and e.is_dir(follow_symlinks=False):
            removed += clean_stale_temps(e.path, bases, recursive, everyone)
    return removed


def atomic_write_bytes(final: PathLike, data: bytes) -> None:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(final: PathLike, text: str) -> None:
    atomic_write_bytes(final, text.encode("utf-8"))


def sha256_file(path: PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def require_file(path: PathLike, what: str = "file") -> Path:
    """Return ``path`` as a Path, raising BadInput if it is missing or empty."""
    p = Path(path)
    if not p.exists():
        raise BadInput(f"{what} not found: {p}")
    if p.is_dir():
        raise BadInput(f"{what} is a folder, not a file: {p}")
    if p.stat().st_size == 0:
        raise BadInput(f"{what} is empty: {p}")
    return p
