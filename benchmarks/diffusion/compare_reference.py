"""Our MagicAnimatePipeline vs MagicAnimate's own implementation: same weights, inputs, seed.

Not CI (it needs MagicAnimate's checkout and its pinned environment outside the repository):

    # once: MagicAnimate's public source (github.com/magic-research/magic-animate; measured at
    # d2bc3bc) in /tmp/ref-magicanimate/src -- only its code is needed: a checkout whose large
    # assets/ files are absent can be exported without them (git archive HEAD -- configs magicanimate ...)
    python3.11 -m venv /tmp/ref-magicanimate/venv
    /tmp/ref-magicanimate/venv/bin/pip install torch==2.13.0 diffusers==0.21.4 \
        transformers==4.32.0 tokenizers==0.13.3 huggingface-hub==0.16.4 safetensors==0.3.3 \
        einops==0.6.1 omegaconf==2.3.0 numpy==1.26.4 pillow==9.5.0 tqdm accelerate==0.22.0 imageio==2.9.0
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/diffusion/compare_reference.py \
        --reference-checkout /tmp/ref-magicanimate/src --reference-python /tmp/ref-magicanimate/venv/bin/python

The pins are MagicAnimate's requirements.txt for what its inference code imports, and all of them
install on Python 3.11 as written, except: torch 2.0.1 / torchvision 0.15.2 / xformers (its CUDA
builds) are replaced by the CPU wheel torch 2.13.0 (the pip above resolves ``torch==2.13.0`` to
2.13.0+cpu), with no torchvision or xformers (see reference_driver.py); and numpy is 1.26.4 (not its
1.24.4). Measured with exactly these versions (the unpinned tqdm resolved to 4.70.1).

It writes tiny random weights in the release layout, makes a short dance job with the puppet
animator (for the job's DensePose pass and photo analysis), prepares the 64² reference and pose
squares with our framing, runs both samplers (MagicAnimate's defaults: 25 DDIM steps, guidance
7.5, 16-frame windows overlapping by 4) and compares the frames in [0, 1] before quantisation.
The control: our frames from another seed against theirs (must be far off).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def make_job(work: Path, photo: Path, seconds: float) -> Path:
    import soundfile

    from magicdance_core.audio.decode import load_audio
    from magicdance_core.jobs.pipeline import DanceOptions, run_dance

    job = work / "job"
    if (job / "passes" / "densepose" / "000000.png").exists():
        return job
    y, sr = load_audio(ROOT / "examples" / "song.ogg")
    song = work / "song.wav"
    soundfile.write(song, y[: int(seconds * sr)], sr)
    run_dance(song, photo, work / "puppet.mp4", DanceOptions(size=128, scene=False, generator="choreo"), job_dir=job)
    return job


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference-checkout", required=True, help="MagicAnimate's source (magic-animate checkout)")
    ap.add_argument("--reference-python", required=True, help="python of a venv with MagicAnimate's pins")
    ap.add_argument("--work", default="/tmp/ref-magicanimate/work")
    ap.add_argument("--photo", default=str(ROOT / "examples" / "mannequin.png"))
    ap.add_argument("--seconds", type=float, default=2.0, help="song length: 2 s = 60 frames, padded to 64 = 6 windows")
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    import torch

    from magicdance_core.animate.diffusion.framing import PoseFrames, reference_image
    from magicdance_core.animate.diffusion.pipeline import MagicAnimatePipeline
    from magicdance_core.animate.diffusion.random_release import write_release
    from magicdance_core.photo.analyze import PhotoAnalysis

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MAGICDANCE_CACHE", str(work / "cache"))
    rel = work / "pretrained_models"
    if not (rel / "MagicAnimate").is_dir():
        write_release(rel, "tiny", seed=11)
    job = make_job(work, Path(args.photo), args.seconds)
    poses = PoseFrames(job / "passes" / "densepose", 64)
    pa = PhotoAnalysis.load(job / "photo")
    ref = reference_image(pa.image, poses.width, poses.height, 64)
    pose_arr = np.stack([poses[i] for i in range(len(poses))])
    np.savez_compressed(work / "inputs.npz", reference=ref, poses=pose_arr, seed=args.seed,
                        steps=args.steps, guidance=args.guidance)

    t0 = time.monotonic()
    env = dict(os.environ, PYTHONPATH=str(Path(args.reference_checkout).resolve()), HF_HOME=str(work / "hf"),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    r = subprocess.run([args.reference_python, str(Path(__file__).with_name("reference_driver.py")), str(work)],
                       env=env, capture_output=True, text=True)
    if r.returncode:
        print(r.stdout[-3000:], r.stderr[-3000:])
        return 1
    t_ref = time.monotonic() - t0
    theirs = np.load(work / "reference_frames.npz")["frames"]

    torch.manual_seed(0)
    pipe = MagicAnimatePipeline.from_release(rel)
    t0 = time.monotonic()
    ours = pipe(ref, pose_arr, num_inference_steps=args.steps, guidance_scale=args.guidance, seed=args.seed).frames
    t_ours = time.monotonic() - t0
    control = pipe(ref, pose_arr, num_inference_steps=args.steps, guidance_scale=args.guidance,
                   seed=args.seed + 1).frames
    d = np.abs(ours - theirs) * 255
    dc = np.abs(control - theirs) * 255
    res = {"frames": int(len(ours)), "size": int(ours.shape[1]), "steps": args.steps, "guidance": args.guidance,
           "seed": args.seed, "max_diff_255": float(d.max()), "mean_diff_255": float(d.mean()),
           "p999_diff_255": float(np.percentile(d, 99.9)), "worst_frame": int(d.reshape(len(d), -1).max(1).argmax()),
           "uint8_max_diff": int(np.abs((ours * 255 + .5).astype(int) - (theirs * 255 + .5).astype(int)).max()),
           "control_other_seed_max_255": float(dc.max()), "control_other_seed_mean_255": float(dc.mean()),
           "seconds_ours": round(t_ours, 1), "seconds_reference": round(t_ref, 1),
           "passes": bool(d.max() <= 2.0)}
    sheet = np.concatenate([np.concatenate([pose_arr[i] / 255, ours[i], theirs[i], np.clip(d[i] * 10 / 255, 0, 1)], 1)
                            for i in range(0, len(ours), max(1, len(ours) // 6))], 0)
    from PIL import Image

    Image.fromarray((sheet * 255).astype(np.uint8)).resize((sheet.shape[1] * 2, sheet.shape[0] * 2),
                                                          Image.NEAREST).save(work / "compare.png")
    (work / "compare.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    return 0 if res["passes"] else 3


if __name__ == "__main__":
    raise SystemExit(main())
