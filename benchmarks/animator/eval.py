"""Face attention before / after a short training, on held-out generated clips (CPU, tiny).

    .venv/bin/python benchmarks/animator/eval.py [--out runs/bench_animator] [--clips 8]

1. `magicdance dataset animator` clips (64 px, the last one in eight held out, plus a second
   seed's clips as the test set: tune on one set, report on another);
2. a tiny random release in MagicAnimate's layout (no real weights exist here);
3. `train-animator` with configs/animator_face_tiny.yaml (face module only);
4. every test clip animated from its reference frame along its DensePose frames by the diffusion
   animator without the face module ("before" = MagicAnimate), with the trained face module
   ("after"), and scored against the clip's own frames (PSNR, SSIM, L1, head SSIM, face identity vs
   the reference); the CPU animator (puppet) on the same clips, given the clip's exact photo
   analysis and dancer (dataset.animator.puppet_inputs); controls: another clip's frames (should
   score badly) and the clip itself (best).
Writes RESULTS.md rows to stdout and a JSON beside --out. The weights are a demonstration: a random
tiny UNet cannot animate anybody, so only the relative figures mean anything.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench_animator"))
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--test-clips", type=int, default=4)
    ap.add_argument("--steps", type=int, default=4, help="DDIM steps of the animations")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MAGICDANCE_CACHE", str(out / "cache"))

    from magicdance_core.animate.diffusion.clips import find_clips, square_frame, square_pose
    from magicdance_core.animate.diffusion.face import densepose_head_box, face_crop, load_face_module
    from magicdance_core.animate.diffusion.pipeline import MagicAnimatePipeline
    from magicdance_core.animate.diffusion.random_release import write_release
    from magicdance_core.animate.diffusion.training import AnimatorTrainer, load_train_config
    from magicdance_core.dataset.animator import make_animator_dataset
    from magicdance_core.metrics.reconstruction import reconstruction_metrics

    t0 = time.perf_counter()
    train_dir, test_dir = out / "train_clips", out / "test_clips"
    if not (train_dir / "index.json").exists():
        make_animator_dataset(train_dir, clips=args.clips, size=64, frames=12, seed=0)
    if not (test_dir / "index.json").exists():
        make_animator_dataset(test_dir, clips=args.test_clips, size=64, frames=12, seed=1, val_clips=0)
    rel = out / "pretrained_models"
    if not (rel / "MagicAnimate").exists():
        write_release(rel)
    cfg = load_train_config(ROOT / "configs" / "animator_face_tiny.yaml")
    cfg["animator_weights"] = str(rel)
    run = out / "train"
    if not (run / "face.safetensors").exists():
        state = AnimatorTrainer(cfg, train_dir, run).train()
    else:
        state = json.loads((run / "checkpoint" / "state.json").read_text())
        state["seconds_per_step"] = float("nan")
    t_train = time.perf_counter() - t0

    pipe = MagicAnimatePipeline.from_release(rel)
    trained = load_face_module(run / "face.safetensors", pipe.unet)
    rows = {"before (MagicAnimate)": [], "after (face trained)": [], "CPU animator (puppet)": [],
            "control: another clip": [], "control: the clip itself": []}
    from magicdance_core.dataset.animator import puppet_frames
    clips = find_clips(test_dir)
    for ci, clip in enumerate(clips):
        S = 64
        frames = [square_frame(clip.frame(i), S) for i in range(len(clip))]
        poses = [square_pose(clip.pose(i), S) for i in range(len(clip))]
        ref_rgb, ref_dp = clip.reference_pair(np.random.default_rng(0))
        ref = square_frame(ref_rgb, S)
        box = densepose_head_box(square_pose(ref_dp, S))
        crop = face_crop(ref, box, trained.cfg.face_size)
        kw = dict(densepose=poses, photo=ref, photo_head_box=box, pose=False)
        for name, module in (("before (MagicAnimate)", None), ("after (face trained)", trained)):
            pipe.face = module
            gen = pipe(ref, poses, num_inference_steps=args.steps, guidance_scale=2.0, seed=0, face_image=crop).frames
            gen = list((np.clip(gen, 0, 1) * 255 + 0.5).astype(np.uint8))
            rows[name].append(reconstruction_metrics(gen, frames, **kw))
        rows["CPU animator (puppet)"].append(reconstruction_metrics(puppet_frames(clip.root, S), frames, **kw))
        other = clips[(ci + 1) % len(clips)]
        rows["control: another clip"].append(reconstruction_metrics(
            [square_frame(other.frame(i), S) for i in range(min(len(other), len(clip)))], frames, **kw))
        rows["control: the clip itself"].append(reconstruction_metrics(frames, frames, **kw))

    keys = ("psnr_mean", "psnr_min", "ssim_mean", "ssim_min", "l1_mean", "l1_max", "body_psnr_mean", "body_l1_mean",
            "face_ssim_mean",
            "face_ssim_min", "face_identity_mean")
    summary = {}
    for name, rs in rows.items():
        s = {}
        for k in keys:
            vals = [r[k] for r in rs if r.get(k) is not None]
            if not vals:
                continue
            worst = max(vals) if "l1" in k else min(vals)
            s[k] = (round(float(np.mean(vals)), 4), round(float(worst), 4))
        summary[name] = s
    ev = state.get("eval") or []
    info = dict(machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), torch threads 1",
                seconds_per_step=state.get("seconds_per_step"), train_steps=state.get("step"),
                eval_loss_first=ev[0][1] if ev else None, eval_loss_last=ev[-1][1] if ev else None,
                total_seconds=round(time.perf_counter() - t0, 1), train_seconds=round(t_train, 1),
                test_clips=len(clips), summary=summary)
    (out / "results.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info, indent=1))
    print("\n| run | PSNR mean (worst clip) | SSIM mean (worst) | L1 mean (worst) | body PSNR (worst) | body L1 (worst) "
          "| head SSIM mean (worst) | face identity vs reference (worst) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, s in summary.items():
        def f(k):
            return f"{s[k][0]:.3f} ({s[k][1]:.3f})" if k in s else "-"
        print(f"| {name} | {f('psnr_mean')} | {f('ssim_mean')} | {f('l1_mean')} | {f('body_psnr_mean')} | "
              f"{f('body_l1_mean')} | {f('face_ssim_mean')} | {f('face_identity_mean')} |")


if __name__ == "__main__":
    main()
