"""``magicdance train-animator --data DIR --config CFG``: train MagicDance's face attention (and
optionally MagicAnimate's appearance encoder, ControlNet, temporal modules) on dance clips."""

from __future__ import annotations

NAME = "train-animator"
HELP = "fine-tune the diffusion animator's face attention on dance clips with DensePose (dataset animator)"
DESCRIPTION = (
    "Train on the clips in --data (per clip frames/ and densepose/, as 'magicdance dataset animator' "
    "writes them and the TikTok dataset holds them, or job folders) with the YAML/JSON --config "
    "(configs/animator_face.yaml; docs/diffusion_training.md), in MagicAnimate's image then video stage. "
    "Writes face.safetensors (for 'magicdance dance --face-weights'), loss.png, log.jsonl, "
    "validation/*.mp4 and checkpoint/ (for --resume) to --out."
)


def add_arguments(p) -> None:
    p.add_argument("--data", required=True, metavar="DIR", help="clips folder (dataset animator's, TikTok layout, or job folders)")
    p.add_argument("--config", required=True, metavar="CFG", help="training config (.yaml or .json), e.g. configs/animator_face.yaml")
    p.add_argument("--out", default="runs/animator", metavar="DIR", help="output folder (default runs/animator)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint/")
    p.add_argument("--animator-weights", default=None, metavar="DIR",
                   help="MagicAnimate's pretrained_models folder (overrides the config's animator_weights)")


def run(args, progress) -> int:
    import os

    from ..checks import check_input_file, check_output
    from ..animate.diffusion.clips import find_clips
    from ..animate.diffusion.training import AnimatorTrainer, load_train_config

    check_input_file(args.config, "--config", "training config")
    check_output(args.out, "--out", folder=True, inputs={"--data": args.data, "--config": args.config})
    cfg = load_train_config(args.config)
    if args.animator_weights:
        cfg["animator_weights"] = os.path.abspath(args.animator_weights)
    find_clips(args.data)                         # a wrong data folder: one line, before any weights load
    from ..animate.diffusion.layout import find_release

    try:
        find_release(cfg["animator_weights"])
    except Exception as e:  # noqa: BLE001  MissingModel: name where the setting comes from
        from ..errors import MagicDanceError

        if isinstance(e, MagicDanceError):
            raise type(e)(f"animator_weights: {e}") from None
        raise
    trainer = AnimatorTrainer(cfg, args.data, args.out, progress=progress)
    state = trainer.train(resume=args.resume)
    ev = state.get("eval") or []
    figs = f", fixed-batch loss {ev[0][1]:.4f} -> {ev[-1][1]:.4f}" if len(ev) > 1 else ""
    print(f"trained {state['step']} steps ({state['seconds_per_step']:.2f} s/step){figs}; "
          f"wrote {os.path.join(args.out, 'face.safetensors')}")
    return 0
