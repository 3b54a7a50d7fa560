"""Many dance jobs on Ray: a manifest CSV (music, photo, style, seed, out) -> one video per row.

Local Ray by default (a few CPUs); a Ray cluster when an address is given. Every row is one
job folder beside its video, so the folders must be on storage every node sees (NFS, a shared
volume) when running on a cluster, and the paths in the manifest must be valid on every node.
A bad row is reported and the others go on; a re-run skips rows whose job finished with the
same inputs and options. Every row is checked (files, options, its output inside --out) before
Ray starts, and the Ray address is tried with a time-out, so a mistake never hangs the batch.

Optional columns ``animator,animator_weights,steps,guidance,face_weights`` choose the diffusion
animator per row (``face_weights``: MagicDance's face-attention file); Ray schedules those rows
with ``num_gpus`` (one GPU each by default) when the cluster has GPUs, so they land on GPU
workers while CPU-animator rows stay on CPUs. ``snap_to_beat`` (true/false) retimes that row's dance
onto the beats (``magicdance dance --snap-to-beat``).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import BadInput
from ..fileio import PathLike, atomic_write_text, require_file, sha256_file

COLUMNS = ("music", "photo", "style", "seed", "out", "animator", "animator_weights", "steps", "guidance",
           "face_weights", "snap_to_beat")
_TRUE, _FALSE = ("1", "true", "yes"), ("", "0", "false", "no")


@dataclass
class Row:
    index: int
    music: str
    photo: str
    style: Optional[str]
    seed: int
    out: str
    error: Optional[str] = None
    animator: str = "surface"
    animator_weights: Optional[str] = None
    steps: Optional[int] = None
    guidance: Optional[float] = None
    face_weights: Optional[str] = None
    snap_to_beat: bool = False


def read_manifest(path: PathLike, out_dir: Optional[PathLike] = None) -> list:
    p = require_file(path, "manifest")
    base = p.parent
    out_base = Path(out_dir) if out_dir else base
    try:
        with open(p, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            fields = [c.strip().lower() for c in (reader.fieldnames or [])]
            if "music" not in fields or "photo" not in fields:
                raise BadInput(f"manifest {p.name} needs a header with at least music,photo (columns: {', '.join(COLUMNS)})")
            raw = [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items()} for r in reader]
    except (UnicodeDecodeError, csv.Error) as e:
        raise BadInput(f"manifest {p.name} is not a CSV file we can read ({e})") from None
    rows = []
    for i, r in enumerate(raw, start=1):
        def resolve(v, root):
            return str((root / v).resolve()) if v and not os.path.isabs(v) else v
        err = None
        seed = 0
        try:
            seed = int(r.get("seed") or 0)
        except ValueError:
            err = f"seed must be an integer, got {r.get('seed')!r}"
        out = r.get("out") or f"dance_{i:04d}.mp4"
        row = Row(i, resolve(r.get("music", ""), base), resolve(r.get("photo", ""), base),
                  r.get("style") or None, seed, resolve(out, out_base), err)
        if not row.music or not row.photo:
            row.error = row.error or "music and photo are required"
        inside = os.path.realpath(out_base)
        if not row.error and os.path.commonpath([os.path.realpath(row.out), inside]) != inside:
            row.error = f"out {out!r} is outside the output folder {out_base}"
        row.animator = r.get("animator") or "surface"
        row.animator_weights = resolve(r.get("animator_weights", ""), base) or None
        row.face_weights = resolve(r.get("face_weights", ""), base) or None
        try:
            row.steps = int(r["steps"]) if r.get("steps") else None
            row.guidance = float(r["guidance"]) if r.get("guidance") else None
        except ValueError:
            row.error = row.error or f"steps/guidance must be numbers, got {r.get('steps')!r}/{r.get('guidance')!r}"
        snap = r.get("snap_to_beat", "").lower()
        if snap not in _TRUE + _FALSE:
            row.error = row.error or f"snap_to_beat must be true or false, got {r.get('snap_to_beat')!r}"
        row.snap_to_beat = snap in _TRUE
        rows.append(row)
    if not rows:
        raise BadInput(f"manifest {p.name} has no rows")
    return rows


def row_options(row: Row, size: int = 512, scene: bool = False, passes: str = ""):
    from .pipeline import DanceOptions

    if row.animator == "diffusion" and "densepose" not in passes:
        passes = ",".join(p for p in (passes, "densepose") if p)   # the diffusion animator's input
    return DanceOptions(style=row.style, seed=row.seed, size=size, scene=scene, passes=passes,
                        animator=row.animator, animator_weights=row.animator_weights,
                        animator_steps=row.steps, animator_guidance=row.guidance, face_weights=row.face_weights,
                        snap_to_beat=row.snap_to_beat)


# options a finished job must share with the row to be skipped (the rest do not change the video)
RESUME_OPTIONS = ("style", "seed", "size", "scene", "passes", "generator", "animator", "animator_weights",
                  "animator_steps", "animator_guidance", "face_weights", "snap_to_beat")


def finished(row: Row, size: int = 512, scene: bool = False, passes: str = "") -> bool:
    """True when the row's job is done for the same inputs, options (style, seed, --size,
    --scene, --passes), generator and motion checkpoint, and its video exists."""
    from dataclasses import asdict

    from .pipeline import default_job_dir, motion_checkpoint_sha, motion_sampling_sha

    out = Path(row.out)
    jf = default_job_dir(out) / "job.json"
    if not (out.exists() and jf.exists()):
        return False
    want = asdict(row_options(row, size, scene, passes))
    try:
        d = json.loads(jf.read_text())
        have = d["options"]
        have.setdefault("generator", "choreo")  # jobs from before the model was the default
        same = all(have.get(k, want[k]) == want[k] for k in RESUME_OPTIONS)
        return (same and d.get("status") == "done" and d["inputs"]["music"]["sha256"] == sha256_file(row.music)
                and d["inputs"]["photo"]["sha256"] == sha256_file(row.photo)
                and d["inputs"].get("motion_checkpoint", {}).get("sha256") == motion_checkpoint_sha(want["generator"])
                and d["inputs"].get("motion_checkpoint", {}).get("sampling_sha256") == motion_sampling_sha(want["generator"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def check_row(row: Row, size: int = 512, scene: bool = False, passes: str = "") -> None:
    """The row's files and options, as `magicdance dance` checks them, before any work."""
    from ..errors import MagicDanceError
    from .pipeline import check_dance_inputs, make_animator

    if row.error:
        return
    try:
        opt = row_options(row, size, scene, passes)
        check_dance_inputs(row.music, row.photo, row.out, opt)
        make_animator(opt).check()   # its weights folder is complete (cheap: no weights are read)
    except MagicDanceError as e:
        row.error = str(e).splitlines()[0]


def check_address(address: str, timeout_s: float = 5.0) -> None:
    """Refuse a Ray address nothing answers at, within ``timeout_s`` (ray.init would wait forever)."""
    import socket
    from urllib.parse import urlsplit

    if address in ("auto", "local"):
        return
    u = urlsplit(address if "://" in address else f"ray://{address}")
    try:
        host, port = u.hostname, u.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise BadInput(f"--address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as e:
        why = "timed out" if isinstance(e, socket.timeout) else (e.strerror or type(e).__name__)
        raise BadInput(f"--address {address}: no Ray cluster answers there ({why})") from None


def check_rows(rows: list, manifest: PathLike, size: int = 512, scene: bool = False, passes: str = "") -> None:
    """Every row as `magicdance dance` checks it, then across rows (they run at once): no two rows
    write one video, and no row writes over another row's song, photo or weights, or the manifest."""
    inputs = [(f"{k} of row {r.index}", v) for r in rows for k in ("music", "photo", "face_weights", "animator_weights")
              if (v := getattr(r, k))] + [("MANIFEST", manifest)]
    outs: dict = {}
    for r in rows:
        check_row(r, size, scene, passes)
        key = os.path.realpath(r.out)
        if not r.error and key in outs:
            r.error = f"out {r.out} is also row {outs[key]}'s"
        outs.setdefault(key, r.index)
        if not r.error:
            r.error = _overwrites(r, inputs)


def _overwrites(row: Row, inputs) -> Optional[str]:
    """Why the row's video or job folder would overwrite one of ``inputs`` (None: it does not)."""
    from ..checks import check_output
    from .pipeline import check_job_folder, default_job_dir

    try:
        check_output(row.out, "out", inputs=inputs)
        check_job_folder(default_job_dir(Path(row.out)), "its job folder", inputs)
    except BadInput as e:
        return str(e)
    return None


def run_row(row: Row, size: int = 512, scene: bool = False, passes: str = "") -> dict:
    """Run one row in this process; never raises for a user error (returns it)."""
    import time

    from ..errors import MagicDanceError
    from .pipeline import run_dance

    t0 = time.monotonic()
    if row.error:
        return dict(row=row.index, status="error", error=row.error, out=row.out)
    try:
        res = run_dance(row.music, row.photo, row.out, row_options(row, size, scene, passes))
        return dict(row=row.index, status="done", out=row.out, seconds=round(time.monotonic() - t0, 1),
                    warnings=res.warnings)
    except MagicDanceError as e:
        return dict(row=row.index, status="error", error=str(e).splitlines()[0], out=row.out)
    except Exception as e:  # a bug on one row must not stop the batch; it is reported with its type
        return dict(row=row.index, status="error", error=f"internal error: {type(e).__name__}: {e}", out=row.out)


def row_resources(row: Row, cluster_gpus: float, gpus_per_row: float = 1.0) -> dict:
    """Ray task options of a row: a diffusion row asks for ``gpus_per_row`` GPUs when the cluster
    has any (so Ray puts it on a GPU worker), else it runs on a CPU like the others."""
    if row.animator == "diffusion" and cluster_gpus > 0:
        return {"num_cpus": 1, "num_gpus": min(float(gpus_per_row), float(cluster_gpus))}
    return {"num_cpus": 1}


def run_batch(manifest: PathLike, address: Optional[str] = None, out_dir: Optional[PathLike] = None,
              num_cpus: int = 2, size: int = 512, scene: bool = False, passes: str = "",
              log=print, gpus_per_row: float = 1.0) -> list:
    from ..checks import check_int, check_number, check_output

    check_int(num_cpus, "--num-cpus", 1, 1024)
    # Ray's rule for a task's num_gpus: a share of one GPU (0.5: two rows per GPU) or whole GPUs
    g = check_number(gpus_per_row, "--gpus-per-row", 0, 64, lo_open=True)
    if g > 1 and g != int(g):
        raise BadInput(f"--gpus-per-row above 1 must be a whole number of GPUs, got {g:g}")
    if int(check_int(size, "--size", 128, 2048)) % 2:
        raise BadInput(f"--size must be an even number of pixels in 128..2048, got {size}")
    if passes:
        from ..passes.sequence import parse_passes

        try:
            parse_passes(passes)
        except BadInput as e:
            raise BadInput(f"--passes: {e}") from None
    rows = read_manifest(manifest, out_dir)
    report = Path(out_dir) if out_dir else Path(manifest).parent
    check_output(report, "--out", folder=True, inputs={"MANIFEST": manifest}, writes=("batch_report.json",))
    if address:
        check_address(address)
    results, todo = [], []
    check_rows(rows, manifest, size, scene, passes)
    for r in rows:
        if r.error:
            results.append(dict(row=r.index, status="error", error=r.error, out=r.out))
        elif finished(r, size, scene, passes):
            results.append(dict(row=r.index, status="skipped", out=r.out))
        else:
            todo.append(r)
    for res in results:
        log(_line(res))
    if todo:
        import ray

        root = str(Path(__file__).resolve().parents[2])
        env = {"env_vars": {"PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", ""),
                            "OMP_NUM_THREADS": "1"}}
        try:
            if address:
                ray.init(address=address, runtime_env=env, log_to_driver=False)
            else:
                ray.init(num_cpus=num_cpus, include_dashboard=False, runtime_env=env, log_to_driver=False,
                         configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as e:
            where = f"--address {address}" if address else "a local Ray"
            raise BadInput(f"{where}: Ray did not start ({str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__})") from None
        try:
            task = ray.remote(num_cpus=1, max_retries=0)(run_row)
            gpus = float(ray.cluster_resources().get("GPU", 0))
            if gpus == 0 and any(r.animator == "diffusion" for r in todo):
                log("warning: the Ray cluster has no GPU: diffusion rows run on CPUs (slow)")
            pending = {task.options(**row_resources(r, gpus, gpus_per_row)).remote(r, size, scene, passes): r
                       for r in todo}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    r = pending.pop(ref)
                    try:
                        res = ray.get(ref)
                    except Exception as e:  # the worker died (out of memory, node lost)
                        res = dict(row=r.index, status="error", error=f"worker failed: {type(e).__name__}", out=r.out)
                    results.append(res)
                    log(_line(res))
        finally:
            ray.shutdown()
    results.sort(key=lambda d: d["row"])
    report.mkdir(parents=True, exist_ok=True)
    atomic_write_text(report / "batch_report.json", json.dumps(results, indent=1))
    return results


def _line(res: dict) -> str:
    if res["status"] == "error":
        return f"row {res['row']}: error: {res['error']}"
    return f"row {res['row']}: {res['status']} -> {res['out']}"
