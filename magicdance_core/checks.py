"""Up-front checks of what the user gave: numbers, seeds, choices, input files, output paths.

Every command (CLI, job, worker, batch) checks its inputs with these before any heavy work, so
a mistake costs one line naming the flag (``--fps must be between 1 and 240, got 1e-06``) and
never a traceback half way, a lost input or a result thrown away at the last step.
Each function returns the checked value (converted) or raises :class:`BadInput`.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence, Tuple, Union

from .errors import BadInput

PathLike = Union[str, os.PathLike]
Inputs = Union[Mapping[str, Optional[PathLike]], Iterable[Tuple[str, Optional[PathLike]]]]

# torch's and numpy's generators both take seeds in [0, 2**63); the same seed, the same dance.
SEED_MAX = 2**63 - 1


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def check_number(value, flag: str, lo: Optional[float] = None, hi: Optional[float] = None, *,
                 lo_open: bool = False, hi_open: bool = False, integer: bool = False):
    """``value`` as a finite float (or int with ``integer``) within [lo, hi]; nan and inf are refused.

    ``lo_open``/``hi_open`` exclude the bound itself (``check_number(fps, "--fps", 0, lo_open=True)``).
    """
    if value is None or isinstance(value, bool):
        raise BadInput(f"{flag} must be a number, got {value!r}")
    try:
        v = int(value) if integer and not isinstance(value, float) else float(value)
    except (TypeError, ValueError, OverflowError):
        raise BadInput(f"{flag} must be {'a whole number' if integer else 'a number'}, got {value!r}") from None
    if integer and isinstance(v, float):
        if not (math.isfinite(v) and v == int(v)):
            raise BadInput(f"{flag} must be a whole number, got {_fmt(v)}")
        v = int(v)
    if isinstance(v, float) and not math.isfinite(v):
        raise BadInput(f"{flag} must be a finite number, got {_fmt(v)}")
    below = lo is not None and (v <= lo if lo_open else v < lo)
    above = hi is not None and (v >= hi if hi_open else v > hi)
    if below or above:
        if lo is not None and hi is not None:
            rng = f"between {_fmt(lo)} and {_fmt(hi)}"
            if lo_open or hi_open:
                rng = f"in {'(' if lo_open else '['}{_fmt(lo)}, {_fmt(hi)}{')' if hi_open else ']'}"
        elif lo is not None:
            rng = f"{'>' if lo_open else '>='} {_fmt(lo)}"
        else:
            rng = f"{'<' if hi_open else '<='} {_fmt(hi)}"
        raise BadInput(f"{flag} must be {rng}, got {_fmt(v)}")
    return v


def check_int(value, flag: str, lo: Optional[int] = None, hi: Optional[int] = None) -> int:
    return check_number(value, flag, lo, hi, integer=True)


def check_seed(value, flag: str = "--seed") -> int:
    """A seed both torch and numpy accept: a whole number in [0, 2**63)."""
    return check_number(value, flag, 0, SEED_MAX, integer=True)


def check_choice(value, flag: str, choices: Sequence[str], what: str = "value") -> str:
    if value not in choices:
        raise BadInput(f"{flag}: unknown {what} {value!r}; one of: {', '.join(choices)}")
    return value


def check_input_file(path: Optional[PathLike], flag: str, what: str = "file") -> Path:
    """An existing, non-empty, readable file (not a folder)."""
    if path is None or str(path) == "":
        raise BadInput(f"{flag}: no {what} given")
    p = Path(path)
    if not p.exists():
        raise BadInput(f"{flag}: {what} not found: {p}")
    if p.is_dir():
        raise BadInput(f"{flag}: {what} is a folder, not a file: {p}")
    if not os.access(p, os.R_OK):
        raise BadInput(f"{flag}: cannot read the {what} {p} (permission denied)")
    if p.stat().st_size == 0:
        raise BadInput(f"{flag}: {what} is empty: {p}")
    return p


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _pairs(inputs: Optional[Inputs]):
    if not inputs:
        return []
    items = inputs.items() if isinstance(inputs, Mapping) else inputs
    return [(f, Path(p)) for f, p in items if p is not None and str(p) != ""]


def check_writable_dir(folder: PathLike, flag: str) -> Path:
    """``folder`` exists as a folder we can create files in, or can be created.

    Tried for real (a probe file), because as root ``os.access`` says yes to a read-only mount.
    """
    d = Path(os.path.abspath(folder))
    probe = d
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise BadInput(f"{flag}: cannot write {folder}: {probe} is a file, not a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".magicdance-probe-", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise BadInput(f"{flag}: cannot write into {probe} ({e.strerror or e})") from None
    return d


def check_output(path: Optional[PathLike], flag: str, *, inputs: Optional[Inputs] = None,
                 suffixes: Optional[Sequence[str]] = None, folder: bool = False,
                 writes: Sequence[str] = ()) -> Path:
    """An output path that can be written and overwrites none of ``inputs``.

    ``inputs``: {flag: path} (or pairs) of everything the command reads. ``suffixes``: the
    accepted extensions (``(".mp4",)``). ``folder``: the output is a folder; ``writes`` are the
    names the command writes inside it, none of which may be an input.
    """
    if path is None or str(path) == "":
        raise BadInput(f"{flag}: no output given")
    p = Path(path)
    if folder:
        if p.exists() and not p.is_dir():
            raise BadInput(f"{flag} must name a folder: {p} is a file, not a folder")
        for fl, inp in _pairs(inputs):
            if _same(p, inp):
                raise BadInput(f"{flag} {p} is the input {fl}: choose another output")
            for name in writes:
                if _same(p / name, inp):
                    raise BadInput(f"{flag} {p} would overwrite the input {fl} ({inp})")
        check_writable_dir(p, flag)
        return p
    if p.is_dir():
        raise BadInput(f"{flag} must name a file, but {p} is a folder")
    if str(path).endswith(("/", os.sep)):
        raise BadInput(f"{flag} must name a file, but {path} names a folder")
    if suffixes and p.suffix.lower() not in tuple(s.lower() for s in suffixes):
        raise BadInput(f"{flag} must be a {' or '.join(suffixes)} file, got {p.name}")
    for fl, inp in _pairs(inputs):
        if _same(p, inp):
            raise BadInput(f"{flag} {p} is also the input {fl}: it would be overwritten; choose another output")
    check_writable_dir(p.parent, flag)
    return p


def check_distinct(outputs: Inputs) -> None:
    """No two outputs (flag -> path) name the same file."""
    seen = []
    for fl, p in _pairs(outputs):
        for fl2, p2 in seen:
            if _same(p, p2):
                raise BadInput(f"{fl2} and {fl} name the same file {p}")
        seen.append((fl, p))


def check_song(path: Optional[PathLike], flag: str, *, analysis_ok: bool = False) -> Path:
    """A song that opens and lasts as long as the tools support, from its header alone (no decoding).

    ``analysis_ok``: a ``music.json`` from ``magicdance analyze`` is accepted as well (read later).
    Every refusal names ``flag``, before the song is analysed or a model is loaded.
    """
    p = check_input_file(path, flag, "song")
    if analysis_ok and p.suffix.lower() == ".json":
        return p
    from .audio.decode import MAX_DURATION_S, MIN_DURATION_S, _fmt_s, load_audio, probe_duration

    try:
        dur = probe_duration(p)
        if dur is not None and dur < MIN_DURATION_S:
            # Headers under-state some files (an Ogg without a final granule position): decode to be
            # sure. Cheap either way: the song is short, or the header was wrong and we find out.
            load_audio(p)
    except BadInput as e:
        raise BadInput(f"{flag}: {e}") from None
    if dur is not None and dur > MAX_DURATION_S + 1.0:   # (the decoder's words, as when it decodes)
        raise BadInput(f"{flag}: too long: {_fmt_s(dur)}, at most {_fmt_s(MAX_DURATION_S)} ({p.name})")
    return p


def photo_error(e: BadInput, flag: str) -> BadInput:
    """The photo module's message (which calls the photo PHOTO, the photo command's argument)
    with the caller's flag in its place: ``no person found in --photo me.png``."""
    msg = str(e)
    if msg.startswith("-"):  # already names its flag (--landmarks)
        return BadInput(msg)
    return BadInput(msg.replace("PHOTO", flag) if "PHOTO" in msg else f"{flag}: {msg}")


def check_photo(path: Optional[PathLike], flag: str):
    """A photo that exists and decodes (cheap); returns the loaded photo. The person in it is
    looked for later, by the photo stage."""
    check_input_file(path, flag, "photo")
    from .photo.load import load_photo

    try:
        return load_photo(path)
    except BadInput as e:
        raise photo_error(e, flag) from None
