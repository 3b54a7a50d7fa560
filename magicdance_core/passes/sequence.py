"""Render a whole clip's passes to ``<out>/<name>/%06d.png`` + ``<out>/<name>.mp4``.

Layout (DESIGN.md, job folder ``passes/``)::

    densepose/000000.png  densepose.mp4     RGB, MagicAnimate's colours
    iuv/000000.png        iuv.mp4           16-bit RGB PNG: R = part 0..24, G = U*65535, B = V*65535
                                            (the MP4 is an 8-bit preview: I*255/24, U*255, V*255)
    semantic/ depth/ normal/ mask/ skeleton/  (+ .mp4 each)
    keypoints/000000.json                   OpenPose JSON, one file per frame
    camera.json  passes.json  (alignment.json with a photo)

Every directory is written under a temporary name and renamed when complete, MP4s
through the video writer's atomic path: a cancelled or failed run leaves the
previous results (or nothing), never a half sequence.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import cv2
import numpy as np

from ..camera import Camera
from ..errors import BadInput, Cancelled
from ..fileio import atomic_write_text, clean_stale_temps, temp_dir_name
from ..progress import null_progress
from .png import write_png
from .render import ALL_PASSES, IMAGE_PASSES, PassRenderer, iuv_preview

_END = object()
_ABORT = object()


def parse_passes(spec) -> tuple:
    """'densepose,iuv' or a sequence -> validated tuple in canonical order ('all' = every pass)."""
    if spec is None:
        return ALL_PASSES
    parts = spec.split(",") if isinstance(spec, str) else spec
    if not all(isinstance(s, str) for s in parts):  # a list from a request: names only
        raise BadInput(f"passes must be names, got {list(parts)!r}; choose from {', '.join(ALL_PASSES)}")
    items = [s.strip() for s in parts if s.strip()]
    if "all" in items:
        return ALL_PASSES
    bad = [s for s in items if s not in ALL_PASSES]
    if bad or not items:
        raise BadInput(f"unknown pass {', '.join(bad) or '(none)'}; choose from {', '.join(ALL_PASSES)}")
    return tuple(p for p in ALL_PASSES if p in items)


class _VideoSink:
    """Feeds frames to write_video in its own thread (PyAV/x264 release the GIL)."""

    def __init__(self, path: Path, fps: float, n_frames: int):
        from ..video.writer import write_video

        self.q: queue.Queue = queue.Queue(maxsize=6)
        self.err: Optional[BaseException] = None
        self.th = threading.Thread(
            target=self._run, args=(write_video, path, fps, n_frames), daemon=True)
        self.th.start()

    def _frames(self):
        while True:
            item = self.q.get()
            if item is _END:
                return
            if item is _ABORT:
                raise Cancelled("passes cancelled")
            yield item

    def _run(self, write_video, path, fps, n):
        try:
            write_video(self._frames(), path, fps=fps, n_frames=n)
        except BaseException as e:  # re-raised in the main thread
            self.err = e

    def put(self, frame):
        while True:
            if self.err is not None:
                raise self.err
            try:
                self.q.put(frame, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self):
        self.put(_END)
        self.th.join()
        if self.err is not None:
            raise self.err

    def abort(self):
        while self.th.is_alive():
            try:
                self.q.put(_ABORT, timeout=0.2)
                break
            except queue.Full:
                try:
                    self.q.get_nowait()
                except queue.Empty:
                    pass
        self.th.join()


def _write_png(path: str, img: np.ndarray) -> None:
    write_png(path, img)


@dataclass
class PassesResult:
    out_dir: Path
    passes: tuple
    frames: int
    fps: float
    camera: Camera
    seconds: float
    files: dict = field(default_factory=dict)


_FRAME_FILE = re.compile(r"^\d{6}\.(png|json)$")


def check_pass_folders(out_dir, passes) -> None:
    """Refuse an output whose pass folders hold files this renderer did not write: re-rendering
    replaces ``OUT/<pass>/`` whole, and a user's own files there must not go with it."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BadInput(f"{out} exists and is not a folder")
    for p in parse_passes(passes):
        d = out / p
        if not d.exists():
            continue
        if not d.is_dir():
            raise BadInput(f"{d} is a file, not a pass folder: move it or choose another output folder")
        foreign = sorted(e.name for e in os.scandir(d) if not _FRAME_FILE.match(e.name))
        if foreign:
            more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
            raise BadInput(f"{d} holds files the passes did not write ({foreign[0]}{more}); "
                           "they would be replaced: choose another output folder")


def render_sequence(frames: Iterable, n_frames: int, renderer: PassRenderer, out_dir, *,
                    passes=ALL_PASSES, fps: float = 30.0, video: bool = True, progress=None,
                    extra_json: Optional[dict] = None) -> PassesResult:
    """Render ``frames`` (iterable of (verts (V,3), joints (24,3), global_rots (24,3,3) or None))."""
    progress = progress or null_progress
    passes = parse_passes(passes)
    out = Path(out_dir)
    check_pass_folders(out, passes)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"cannot create the output folder {out}: {e.strerror or e}") from None
    t0 = time.perf_counter()
    # what a killed run (SIGKILL: nothing of it could clean up) left of these passes
    clean_stale_temps(out, bases=tuple(passes))
    dirs = {p: out / temp_dir_name(p) for p in passes}
    for d in dirs.values():
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    sinks = {}
    pool = ThreadPoolExecutor(max_workers=2)
    pending = []
    ok = False
    count = 0
    try:
        if video:
            for p in passes:
                if p in IMAGE_PASSES:
                    sinks[p] = _VideoSink(out / f"{p}.mp4", fps, n_frames)
        progress("passes", 0.0, f"rendering {len(passes)} passes")
        for i, (verts, joints, rots) in enumerate(frames):
            imgs = renderer.render(verts, joints, rots, passes)
            name = f"{i:06d}"
            for p, img in imgs.items():
                if p == "keypoints":
                    (dirs[p] / f"{name}.json").write_text(json.dumps(img))
                    continue
                pending.append(pool.submit(_write_png, str(dirs[p] / f"{name}.png"), img))
                if p in sinks:
                    if p == "iuv":
                        img = iuv_preview(img)
                    elif img.ndim == 2:
                        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
                    sinks[p].put(img)
            if len(pending) > 64:
                for fut in pending[:32]:
                    fut.result()
                pending = pending[32:]
            count = i + 1
            progress("passes", min(count / max(n_frames, 1), 0.999), f"frame {count}/{n_frames}")
        if count == 0:
            raise BadInput("no frames to render")
        for fut in pending:
            fut.result()
        for s in sinks.values():
            s.close()
        sinks = {}
        files = {}
        for p, d in dirs.items():
            final = out / p
            if final.exists():
                trash = out / temp_dir_name(f"{p}.old")
                final.rename(trash)
                d.rename(final)
                shutil.rmtree(trash, ignore_errors=True)
            else:
                d.rename(final)
            files[p] = str(final)
            if p in IMAGE_PASSES and video:
                files[p + ".mp4"] = str(out / f"{p}.mp4")
        camera = renderer.camera
        camera.save(out / "camera.json")
        manifest = dict(passes=list(passes), frames=count, fps=fps, width=camera.width,
                        height=camera.height, files=files, **(extra_json or {}))
        atomic_write_text(out / "passes.json", json.dumps(manifest, indent=1))
        ok = True
        progress("passes", 1.0, f"{count} frames")
        return PassesResult(out, passes, count, fps, camera, time.perf_counter() - t0, files)
    finally:
        pool.shutdown(wait=True)
        if not ok:
            for s in sinks.values():
                s.abort()
            for d in dirs.values():
                shutil.rmtree(d, ignore_errors=True)
