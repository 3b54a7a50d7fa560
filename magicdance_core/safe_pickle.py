"""Read pickles a user hands us without letting them run code.

A pickle names Python callables (``module.name``) that the loader calls while it
rebuilds objects; a pickle naming ``os.system`` runs a command. AIST++ motions,
EDGE outputs and SMPL model files are pickles, so they are read here with an
unpickler that resolves only a short allow-list: plain containers and numpy's
own array/scalar/dtype reconstructors (under numpy 1.x's ``numpy.core`` and
numpy 2.x's ``numpy._core`` names, since files are written by either). Any
other global is refused with :class:`BadInput` naming it.

Callers that need more (the motion owner's torch tensors, the chumpy arrays in
SMPL's original ``.pkl``) pass ``extra_globals``: a mapping from
``(module, name)`` to the object to hand back -- a vetted function or a harmless
stand-in class, never an import of whatever the file names.
"""

from __future__ import annotations

import collections
import importlib
import io
import os
import pickle
import struct
from typing import Any, Mapping, Optional, Tuple, Union

import numpy as np

from .errors import BadInput
from .fileio import require_file


def _numpy_module(sub: str):
    """numpy's ``_core.<sub>`` (numpy >= 1.26 / 2.x) or ``core.<sub>`` (older)."""
    for name in (f"numpy._core.{sub}", f"numpy.core.{sub}"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError(f"numpy has no {sub} module")  # pragma: no cover


def _allowed() -> dict[Tuple[str, str], Any]:
    multiarray = _numpy_module("multiarray")
    numeric = _numpy_module("numeric")
    table: dict[Tuple[str, str], Any] = {
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "complex"): complex,
        ("builtins", "bytearray"): bytearray,
        ("builtins", "list"): list,
        ("builtins", "dict"): dict,
        ("builtins", "tuple"): tuple,
        ("builtins", "slice"): slice,
        ("collections", "OrderedDict"): collections.OrderedDict,
        # Protocol-2 pickles written by Python 3 spell bytes as _codecs.encode(str, 'latin1').
        ("_codecs", "encode"): _codecs_encode,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for mod in ("numpy.core", "numpy._core"):
        table[(f"{mod}.multiarray", "_reconstruct")] = multiarray._reconstruct
        table[(f"{mod}.multiarray", "scalar")] = multiarray.scalar
        table[(f"{mod}.numeric", "_frombuffer")] = numeric._frombuffer  # protocol 5
    return table


def _codecs_encode(obj, encoding="utf-8", errors="strict"):
    # Only str -> bytes; the real _codecs.encode also accepts codec names like 'zlib'.
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8", "ascii"):
        raise BadInput(f"refused _codecs.encode with encoding {encoding!r} in a pickle")
    return obj.encode(encoding, errors)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, table: Mapping[Tuple[str, str], Any], what: str):
        # latin1 lets Python 2 pickles (SMPL model files) carry numpy byte buffers.
        super().__init__(file, encoding="latin1")
        self._table = table
        self._what = what

    def find_class(self, module: str, name: str) -> Any:
        if module == "__builtin__":  # Python 2 name; the default find_class maps it, ours must too
            module = "builtins"
        try:
            return self._table[(module, name)]
        except KeyError:
            raise BadInput(f"refused to read {self._what}: it asks for {module}.{name}, "
                           "which is not plain data (pickles can run code)") from None

    def persistent_load(self, pid):
        raise BadInput(f"refused to read {self._what}: it uses persistent ids (not plain data)")


PathOrBytes = Union[str, os.PathLike, bytes, bytearray, memoryview]


def safe_load(path_or_bytes: PathOrBytes, *, what: str = "pickle",
              extra_globals: Optional[Mapping[Tuple[str, str], Any]] = None) -> Any:
    """Unpickle plain data (containers, numbers, str/bytes, numpy arrays) only.

    ``what`` names the input in error messages ("AIST++ motion", ...).
    ``extra_globals`` maps further ``(module, name)`` pairs to the objects to use.
    Raises BadInput for a missing, empty, corrupt or code-carrying pickle.
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data = bytes(path_or_bytes)
        if not data:
            raise BadInput(f"{what} is empty")
        label = what
    else:
        p = require_file(path_or_bytes, what)
        data = p.read_bytes()
        label = f"{what} {p}"
    table = _allowed()
    if extra_globals:
        table.update(extra_globals)
    try:
        return _RestrictedUnpickler(io.BytesIO(data), table, label).load()
    except BadInput:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, struct.error, UnicodeDecodeError, MemoryError, OverflowError, RecursionError) as e:
        raise BadInput(f"not a readable {label} ({e.__class__.__name__})") from None
