"""Small file helpers every stage uses: atomic writes and content hashes."""

from __future__ import annotations

import contextlib
import hashlib
import os
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
    fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=".part" + suffix, dir=final.parent)
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
