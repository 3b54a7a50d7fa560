"""Reading the release's weight files safely, once, and building diffusers/transformers modules from them.

* ``.safetensors`` are read as they are. ``.bin``/``.ckpt`` files are pickles: they are read with
  ``torch.load(weights_only=True)`` (torch's own restricted unpickler: tensors, containers and
  numbers only), so a file that would run code is refused with one line naming what it asked
  for, and nothing in it runs. The plain tensors are then written once to a safetensors cache
  (``$MAGICDANCE_CACHE`` or ``~/.cache/magicdance``), keyed by the file's path, size and time,
  so the next start reads safetensors and never unpickles again.
* Key spellings that vary between real folders are normalised here: ``module.`` prefixes and a
  ``state_dict`` wrapper (training checkpoints), ``unet.`` prefixes on temporal keys, the VAE's
  legacy attention names (``query/key/value/proj_attn``, converted by diffusers' own
  ``_fix_state_dict_keys_on_load``).
* Modules are built on the ``meta`` device from their config and the tensors assigned into
  them, so no random initialisation is paid for (27 s for SD's UNet on 2 cores) and no second
  copy of the weights is held. Missing or unexpected keys are one line naming the first few.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional

import torch

from ...errors import BadInput, MissingModel
from ...fileio import atomic_path

StateDict = Dict[str, torch.Tensor]


def cache_dir() -> Path:
    root = os.environ.get("MAGICDANCE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "magicdance")
    return Path(root) / "animator"


def _numpy_safe_globals() -> list:
    """numpy's array/scalar reconstructors: data, not code (training checkpoints carry them)."""
    import numpy as np

    out = [np.ndarray, np.dtype]
    for mod in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            m = __import__(mod, fromlist=["_reconstruct"])
            out += [m._reconstruct, m.scalar]
            break
        except (ImportError, AttributeError):
            continue
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        out += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")]
    return out


def _refusal(path: Path, err: Exception) -> BadInput:
    m = re.search(r"GLOBAL ([\w.]+)", str(err))
    what = f"it asks for {m.group(1)}, which is not plain tensor data" if m else "it is not plain tensor data"
    return BadInput(f"refused to read {path}: {what} (pickles can run code; nothing in it was run)")


def read_pickled_tensors(path: Path) -> dict:
    """``torch.load(weights_only=True)`` with a one-line error for refused or broken files."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # "pickle protocol 4" notes
            with torch.serialization.safe_globals(_numpy_safe_globals()):
                mmap = zipfile.is_zipfile(path)
                return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as e:
        if "Weights only load failed" in str(e):
            raise _refusal(path, e) from None
        raise BadInput(f"not a readable weights file: {path} (UnpicklingError)") from None
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile, OSError) as e:
        raise BadInput(f"not a readable weights file: {path} ({type(e).__name__})") from None


def tensors_of(obj, path: Path) -> StateDict:
    """The tensors of a loaded checkpoint: flat, or under ``state_dict``; ``module.`` stripped."""
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise BadInput(f"{path} holds a {type(obj).__name__}, not a state dict of tensors")
    out = {}
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            out[k[len("module."):] if k.startswith("module.") else k] = v
    if not out:
        raise BadInput(f"{path} holds no tensors")
    return out


def _cache_file(path: Path, tag: str) -> Path:
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{tag}"
    return cache_dir() / f"{path.stem}-{hashlib.sha256(key.encode()).hexdigest()[:20]}.safetensors"


def _unshared(sd: StateDict) -> StateDict:
    # safetensors refuses tensors sharing storage (tied weights); give each its own
    seen, out = set(), {}
    for k, v in sd.items():
        ptr = (v.untyped_storage().data_ptr(), v.storage_offset()) if v.numel() else None
        out[k] = v.contiguous() if ptr not in seen else v.clone().contiguous()
        if ptr is not None:
            seen.add(ptr)
    return out


def load_state_dict(path: Path, tag: str = "", select: Optional[Callable[[StateDict], StateDict]] = None,
                    use_cache: bool = True) -> StateDict:
    """The tensors of ``path`` (safetensors or a pickle), through the safetensors cache for pickles.

    ``select`` post-processes the tensors before they are cached (e.g. keep the temporal keys).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file

    path = Path(path)
    if path.suffix == ".safetensors":
        try:
            sd = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise BadInput(f"not a readable safetensors file: {path} ({e})") from None
        return select(sd) if select else sd
    cached = _cache_file(path, tag) if use_cache else None
    if cached is not None and cached.is_file():
        try:
            return load_file(str(cached))
        except (SafetensorError, OSError, ValueError):
            cached.unlink(missing_ok=True)          # a damaged cache entry is rebuilt
    sd = tensors_of(read_pickled_tensors(path), path)
    if select:
        sd = select(sd)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(cached) as tmp:
                save_file(_unshared(sd), str(tmp), metadata={"source": str(path.resolve())})
        except OSError:
            pass                                     # a read-only cache only costs speed
    return sd


def _first(keys: Iterable[str], n: int = 3) -> str:
    keys = list(keys)
    more = f" (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def assign_weights(model: torch.nn.Module, sd: StateDict, what: str, path: Path,
                   allow_missing: Callable[[str], bool] = lambda k: False,
                   ignore_unexpected: Callable[[str], bool] = lambda k: False,
                   fix_buffers: Optional[Callable[[torch.nn.Module], None]] = None) -> torch.nn.Module:
    """Load ``sd`` into ``model`` (built on the meta device) by assignment; strict, one-line errors.

    Keys ``allow_missing`` accepts stay zero (parts the release prunes because nothing reads them);
    ``fix_buffers`` recomputes the model's non-persistent buffers (not in any file).
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd and not allow_missing(k)]
    unexpected = [k for k in sd if k not in expected and not ignore_unexpected(k)]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s): {_first(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {_first(unexpected)}")
        raise MissingModel(f"{what} weights {path} do not match its config: {'; '.join(parts)}")
    for k, v in expected.items():
        if k in sd and tuple(sd[k].shape) != tuple(v.shape):
            raise MissingModel(f"{what} weights {path} do not match its config: {k} has shape "
                               f"{tuple(sd[k].shape)}, the config makes {tuple(v.shape)}")
    model.load_state_dict({k: sd[k] for k in expected if k in sd}, strict=False, assign=True)
    if fix_buffers is not None:
        fix_buffers(model)
    _materialise(model)
    return model


def _materialise(model: torch.nn.Module) -> None:
    """Zero-fill parameters the file did not have (allowed missing) and leave no meta tensor."""
    for name, p in list(model.named_parameters()):
        if p.is_meta:
            mod_name, _, attr = name.rpartition(".")
            mod = model.get_submodule(mod_name) if mod_name else model
            setattr(mod, attr, torch.nn.Parameter(torch.zeros(p.shape, dtype=torch.float32),
                                                  requires_grad=p.requires_grad))
    for name, b in list(model.named_buffers()):
        if b.is_meta:
            raise RuntimeError(f"buffer {name} was left on the meta device")  # a bug, not a user error


def read_config(folder: Path) -> dict:
    p = Path(folder) / "config.json"
    try:
        cfg = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise BadInput(f"not a readable config: {p} ({e})") from None
    if not isinstance(cfg, dict):
        raise BadInput(f"not a config object: {p}")
    return cfg


def on_meta(factory: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """Build a module without allocating or initialising its weights."""
    with torch.device("meta"):
        return factory()
