"""Change a motion checkpoint's sampling-only settings, weights untouched.

    .venv/bin/python scripts/set_sampling.py magicdance_core/motion/checkpoints/default.safetensors \
        max_root_turn=20 smooth=1.0

Only fields that training never reads may change (``DenoiserConfig.SAMPLING_FIELDS``): they tune what
``generate_dance`` does after the network (smoothing, guidance, the pelvis turn limit).
The config in the safetensors metadata and the ``.json`` beside it (when present) are
rewritten atomically.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv) -> int:
    from safetensors import safe_open
    from safetensors.torch import save_file

    from magicdance_core.errors import BadInput
    from magicdance_core.fileio import atomic_path, atomic_write_text
    from magicdance_core.motion.model import DenoiserConfig

    SAMPLING_ONLY = set(DenoiserConfig.SAMPLING_FIELDS)

    if len(argv) < 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: set_sampling.py CHECKPOINT key=value [key=value ...]", file=sys.stderr)
        return 2
    path = Path(argv[0])
    changes = {}
    for kv in argv[1:]:
        key, _, value = kv.partition("=")
        if key not in SAMPLING_ONLY or not value:
            print(f"error: {kv!r}: settable are {', '.join(sorted(SAMPLING_ONLY))} as key=number", file=sys.stderr)
            return 2
        try:
            changes[key] = float(value)
        except ValueError:
            print(f"error: {kv!r}: not a number", file=sys.stderr)
            return 2
        try:
            DenoiserConfig.check_sampling(key, changes[key])
        except BadInput as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if not path.is_file():
        print(f"error: checkpoint not found: {path}", file=sys.stderr)
        return 2
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for a file that is not one
        print(f"error: not a readable safetensors checkpoint: {path} ({e.__class__.__name__})", file=sys.stderr)
        return 2
    if "config" not in meta:
        print(f"error: {path} is not a MagicDance motion checkpoint (no config)", file=sys.stderr)
        return 2
    cfg = json.loads(meta["config"])
    cfg.update(changes)
    meta["config"] = json.dumps(cfg)
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    side = path.with_suffix(".json")
    if side.is_file():
        doc = json.loads(side.read_text())
        doc.setdefault("model", {}).update(changes)
        atomic_write_text(side, json.dumps(doc, indent=2) + "\n")
    print(f"{path}: " + ", ".join(f"{k}={v:g}" for k, v in changes.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
