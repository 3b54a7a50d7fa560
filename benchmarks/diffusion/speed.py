"""Seconds per frame and peak memory of MagicAnimatePipeline (random weights; speed does not
depend on the values).

    # CPU, tiny weights at 64², the whole run (25 steps, 60 frames padded to 64 = 6 windows)
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/diffusion/speed.py --model tiny --size 64 --frames 60
    # CPU, full SD-1.5 size at 512²: one denoising step of one 16-frame window timed, x 25
    .venv/bin/python benchmarks/diffusion/speed.py --model sd15 --size 512 --frames 16 --one-step
    # GPU (H200-class), fp16, 512², 25 steps: a 16-frame window and 30 s (900 frames)
    .venv/bin/python benchmarks/diffusion/speed.py --model sd15 --size 512 --frames 16 --device cuda
    .venv/bin/python benchmarks/diffusion/speed.py --model sd15 --size 512 --frames 900 --device cuda

``--one-step`` runs the real ``__call__`` and stops it after its first step (the appearance
encoder, the ControlNet and the denoiser on every window, the scheduler step), then decodes one
frame; the figure is that step x steps / frames + the decode per frame, all from the same run.
A song longer than one window costs (step per window) x steps / 12 per frame (windows advance
12 frames), which the output gives as ``per_frame_long_song_s``.

Each time is given twice: wall clock (``*_s``) and this process's CPU time (``*_cpu_s``). On a
machine shared with other jobs the wall clock counts their time too; with one torch thread
(``OMP_NUM_THREADS=1``) the CPU time is what the run costs on a core of its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


class _Stop(Exception):
    pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=("tiny", "sd15"), default="tiny")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--one-step", action="store_true", help="time the first step only and multiply")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import torch

    from magicdance_core.animate.diffusion.context import context_windows, padded_length
    from magicdance_core.animate.diffusion.random_release import random_pipeline

    dev = torch.device(args.device)
    dtype = torch.float16 if dev.type == "cuda" else torch.float32
    t0, c0 = time.monotonic(), time.process_time()
    pipe = random_pipeline(args.model).to(dev, dtype)
    t_build, c_build = time.monotonic() - t0, time.process_time() - c0
    rng = np.random.default_rng(0)
    S = args.size
    ref = rng.integers(0, 256, (S, S, 3), dtype=np.uint8)
    poses = [rng.integers(0, 256, (S, S, 3), dtype=np.uint8) for _ in range(args.frames)]
    n_windows = len(context_windows(padded_length(args.frames, 16), 16, 4))
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    res = dict(model=args.model, size=S, frames=args.frames, steps=args.steps, device=str(dev), dtype=str(dtype),
               windows_per_step=n_windows, threads=torch.get_num_threads(), build_s=round(t_build, 1),
               build_cpu_s=round(c_build, 1))
    t0, c0 = time.monotonic(), time.process_time()
    if args.one_step:
        def stop(step, latents):
            raise _Stop
        try:
            pipe(ref, poses, num_inference_steps=args.steps, seed=0, output_type="latent", callback_on_step_end=stop)
        except _Stop:
            pass
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t_step, c_step = time.monotonic() - t0, time.process_time() - c0
        z = torch.zeros((1, 4, S // 8, S // 8))
        t1, c1 = time.monotonic(), time.process_time()
        with torch.no_grad():
            list(pipe.decode_frames(z, 1))
        t_dec, c_dec = time.monotonic() - t1, time.process_time() - c1
        for sfx, st, dec in (("s", t_step, t_dec), ("cpu_s", c_step, c_dec)):
            res.update({f"step_{sfx}": round(st, 2), f"decode_per_frame_{sfx}": round(dec, 3),
                        f"per_frame_{sfx}": round(st * args.steps / args.frames + dec, 2),
                        f"per_frame_long_song_{sfx}": round(st / n_windows * args.steps / 12 + dec, 2)})
    else:
        out = pipe(ref, poses, num_inference_steps=args.steps, seed=0).frames
        if dev.type == "cuda":
            torch.cuda.synchronize()
        total, ctotal = time.monotonic() - t0, time.process_time() - c0
        assert len(out) == args.frames
        res.update(total_s=round(total, 1), per_frame_s=round(total / args.frames, 3),
                   total_cpu_s=round(ctotal, 1), per_frame_cpu_s=round(ctotal / args.frames, 3))
    res["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20, 2)
    if dev.type == "cuda":
        res["peak_gpu_gb"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
        res["gpu"] = torch.cuda.get_device_name()
    print(json.dumps(res, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
