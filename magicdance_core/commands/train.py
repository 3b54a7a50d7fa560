"""``magicdance train --data DIR --config CFG``: train the motion diffusion model."""

from __future__ import annotations

NAME = "train"
HELP = "train the motion diffusion model on a dataset folder (dataset build / dataset aist)"
DESCRIPTION = (
    "Train the EDGE-style denoiser on the .npz shards in --data with the yaml/json --config. Writes "
    "model.safetensors (EMA weights + normaliser + config), model.json, loss.png and train_state.pt "
    "(for --resume) to --out."
)


def add_arguments(p) -> None:
    p.add_argument("--data", required=True, help="dataset folder (shards .npz + index.json)")
    p.add_argument("--config", required=True, help="training config (.yaml or .json), e.g. configs/default.yaml")
    p.add_argument("--out", default="runs/train", help="output folder (default runs/train)")
    p.add_argument("--resume", action="store_true", help="continue from --out/train_state.pt")
    p.add_argument("--steps", type=int, default=None, help="override the config's number of steps")


def run(args, progress) -> int:
    from ..checks import check_input_file, check_int, check_output
    from ..motion.train import load_config, train

    check_input_file(args.config, "--config", "training config")
    if args.steps is not None:
        check_int(args.steps, "--steps", 1)
    check_output(args.out, "--out", folder=True, inputs={"--data": args.data, "--config": args.config})
    cfg = load_config(args.config)
    if args.steps is not None:
        cfg.train.steps = int(args.steps)
    summary = train(args.data, cfg, args.out, resume=args.resume, progress=progress)
    print(f"trained {summary['steps']} steps on {summary['windows']} windows "
          f"({summary['window_hours']:.2f} h of windows), final loss {summary['final_loss']:.4f}; wrote {args.out}/model.safetensors")
    return 0
