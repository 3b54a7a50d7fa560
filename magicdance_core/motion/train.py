"""Training the denoiser: EDGE's losses, EMA, resumable state, safetensors output.

Data: a folder of ``.npz`` shards (searched recursively) as written by
``magicdance dataset build`` / ``magicdance dataset aist``: ``music`` (N,150,35),
``poses`` (N,150,24,3), ``trans`` (N,150,3), ``contacts`` (N,150,4), optional
``style`` (N,) ids into the style list of ``index.json`` (or the
choreographer's STYLES); id < 0 or no style means "none".

Losses (EDGE, with its weights): x0 reconstruction (MSE), velocity of the
non-contact channels, forward-kinematics joint positions, and foot-contact
consistency (feet the model itself calls planted must not move). Unlike EDGE,
FK runs on un-normalised values, so the FK and foot terms are in metres.
Ours (``train.kinematic_loss`` > 0, off in EDGE): the *speed curve* — the mean joint
speed per frame from FK, whose minima are the dance's kinematic beats — matched to the
target's. Rhythm is where the body slows and speeds up; the per-channel terms weigh it
little against the pose itself, and a network can fit poses well with the beats smeared.

Outputs in ``--out``: ``model.safetensors`` (EMA weights + ``normalizer.*`` +
``music_norm.*``, config JSON in the metadata), ``model.json`` (config + training
summary), ``loss.png``, and ``train_state.pt`` (everything needed by
``--resume``; plain tensors and numbers, loadable with ``weights_only=True``).
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..errors import BadInput
from ..fileio import PathLike, atomic_path, atomic_write_text
from ..progress import ProgressFn, null_progress
from .kinematics import joint_positions, speed_curve
from .model import DanceDenoiser, DenoiserConfig, parameter_count
from .representation import FRAME_DIM, Normalizer, arrays_to_features

LOSS_WEIGHTS = (0.636, 2.964, 0.646, 10.942, 1.0)  # EDGE: recon, velocity, FK, foot; ours: kinematic (x train.kinematic_loss)
LOSS_NAMES = ("recon", "velocity", "fk", "foot", "kinematic")


@dataclass
class TrainSettings:
    steps: int = 2000
    batch_size: int = 32
    lr: float = 4e-4
    weight_decay: float = 0.02
    ema_decay: float = 0.999
    seed: int = 0
    threads: int = 2
    save_every: int = 200
    max_minutes: float = 0.0        # stop early after this much wall time (0: no limit)
    grad_clip: float = 1.0
    warmup: int = 100
    # Style dropped on its own (music kept) this often, so "music, no style" is seen in
    # training and the model must learn what the style adds (tied dropout alone left the
    # "none" style only ever paired with the null music: generating without a style was
    # out of distribution, and styles barely mattered).
    style_drop_prob: float = 0.0
    # Start from this checkpoint's weights, normaliser and music statistics (a new run's
    # optimiser and schedule): how the shipped checkpoint is continued.
    init_from: str = ""
    min_lr_frac: float = 0.1        # cosine decays to this fraction of lr
    loss_weight_cap: float = 0.0    # noise-level loss weighting, see noise_level_weight (0: EDGE's)
    # Weight of the speed-curve term (Losses; 0: off, EDGE). Its raw value is in (m/frame)^2,
    # about 1e-4 for these dances, hence weights in the thousands.
    kinematic_loss: float = 0.0


@dataclass
class TrainConfig:
    model: DenoiserConfig = field(default_factory=DenoiserConfig)
    train: TrainSettings = field(default_factory=TrainSettings)


def load_config(path: PathLike) -> TrainConfig:
    p = Path(path)
    if not p.is_file():
        raise BadInput(f"training config not found: {p}")
    text = p.read_text()
    try:
        if p.suffix in (".yaml", ".yml"):
            import yaml

            d = yaml.safe_load(text) or {}
        else:
            d = json.loads(text)
    except Exception as e:  # noqa: BLE001 - any parse error is the user's file
        raise BadInput(f"cannot parse training config {p}: {e.__class__.__name__}") from None
    if not isinstance(d, dict):
        raise BadInput(f"training config {p} must be a mapping with 'model' and 'train'")
    tr = {k: v for k, v in (d.get("train") or {}).items() if k in TrainSettings.__dataclass_fields__}
    return TrainConfig(model=DenoiserConfig.from_dict(d.get("model") or {}), train=TrainSettings(**tr))


# ---------------------------------------------------------------- data
@dataclass
class DanceData:
    motion: np.ndarray      # (N,150,151) float32, original units
    music: np.ndarray       # (N,150,F)
    style: np.ndarray       # (N,) int, -1 = none
    style_names: list
    phase: Optional[np.ndarray] = None   # (N,150,4) metrical phase; None when a shard lacks it


def load_dataset(folder: PathLike, progress: Optional[ProgressFn] = None) -> DanceData:
    progress = progress or null_progress
    root = Path(folder)
    if not root.is_dir():
        raise BadInput(f"dataset folder not found: {root}")
    shards = sorted(p for p in root.rglob("*.npz"))
    if not shards:
        raise BadInput(f"no .npz shards in dataset folder {root}")
    names: list = []
    for idx in sorted(root.rglob("index.json")):
        try:
            info = json.loads(idx.read_text())
        except json.JSONDecodeError:
            continue
        if isinstance(info, dict) and isinstance(info.get("styles"), list):
            names = [str(s) for s in info["styles"]]
            break
    if not names:
        try:
            from ..choreo.styles import STYLES

            names = list(STYLES)
        except ImportError:  # pragma: no cover
            names = []
    motions, musics, styles, phases = [], [], [], []
    for i, p in enumerate(shards):
        progress("data", i / len(shards), p.name)
        try:
            with np.load(p, allow_pickle=False) as z:
                if not {"music", "poses", "trans"} <= set(z.files):
                    continue
                poses, trans, music = z["poses"], z["trans"], z["music"]
                contacts = z["contacts"] if "contacts" in z.files else np.zeros(poses.shape[:2] + (4,), np.float32)
                style = z["style"].astype(np.int64) if "style" in z.files else np.full(len(poses), -1)
                phase = z["phase"].astype(np.float32) if "phase" in z.files else None
        except (OSError, ValueError) as e:
            raise BadInput(f"unreadable dataset shard {p}: {e.__class__.__name__}") from None
        N, W = poses.shape[:2]
        feats = arrays_to_features(poses.reshape(N * W, 24, 3), trans.reshape(N * W, 3),
                                   contacts.reshape(N * W, 4)).reshape(N, W, FRAME_DIM)
        motions.append(feats)
        musics.append(music.astype(np.float32))
        styles.append(style)
        phases.append(phase)
    if not motions:
        raise BadInput(f"no dance shards (music/poses/trans) in {root}")
    progress("data", 1.0, f"{sum(len(m) for m in motions)} windows")
    motion = np.concatenate(motions)
    music = np.concatenate(musics)
    style = np.concatenate(styles)
    style = np.where((style >= 0) & (style < len(names)), style, -1)
    phase = None if any(p is None for p in phases) else np.concatenate(phases)
    good = np.isfinite(motion).all(axis=(1, 2)) & np.isfinite(music).all(axis=(1, 2))
    return DanceData(motion[good], music[good], style[good], names, None if phase is None else phase[good])


# ---------------------------------------------------------------- losses
class Losses:
    def __init__(self, normalizer: Normalizer, kinematic: float = 0.0) -> None:
        self.norm = normalizer
        self.kinematic = float(kinematic)
        from ..body.skeleton import CONTACT_JOINTS

        self.feet = list(CONTACT_JOINTS)

    def __call__(self, pred, target, weight=None):
        """EDGE's weighted sum; ``weight`` (B,) weights each sample (normalised to mean 1)."""
        per = lambda v: v.flatten(1).mean(dim=1)  # noqa: E731 - per-sample mean
        recon = per((pred - target) ** 2)
        vel = per(((pred[:, 1:, 4:] - pred[:, :-1, 4:]) - (target[:, 1:, 4:] - target[:, :-1, 4:])) ** 2)
        p = self.norm.unnormalize(pred, clip=False)
        g = self.norm.unnormalize(target, clip=False)
        jp, jg = joint_positions(p), joint_positions(g)
        fk = per((jp - jg) ** 2)
        feet = jp[:, :, self.feet]
        fv = feet[:, 1:] - feet[:, :-1]
        static = (p[:, :-1, :4] > 0.95).unsqueeze(-1).to(fv.dtype)
        foot = per((fv * static) ** 2)
        kin = per((speed_curve(jp) - speed_curve(jg)) ** 2) if self.kinematic > 0 else recon.detach() * 0
        w = torch.ones_like(recon) if weight is None else weight / weight.mean()
        parts = tuple((w * v).mean() for v in (recon, vel, fk, foot, kin))
        scale = (1.0, 1.0, 1.0, 1.0, self.kinematic)
        total = sum(lw * k * v for lw, k, v in zip(LOSS_WEIGHTS, scale, parts))
        return total, parts


def noise_level_weight(alpha_bar: torch.Tensor, sigma_data: float, cap: float) -> torch.Tensor:
    """Per-sample loss weight: 1 at high noise rising to ``cap`` at low noise (0: uniform, EDGE).

    EDM weights the x0 error by 1/c_out^2 = (1 + SNR*sigma_data^2)/sigma_data^2; capped
    (as Min-SNR does) so the nearly clean steps cannot dominate. Uniform weighting
    leaves the low-noise steps, which decide the final detail, almost untrained.
    """
    if cap <= 0:
        return torch.ones_like(alpha_bar)
    snr = alpha_bar / (1 - alpha_bar).clamp(min=1e-8)
    return (1 + snr * sigma_data ** 2).clamp(max=cap)


# ---------------------------------------------------------------- checkpoint files
def save_model(path: PathLike, model: DanceDenoiser, normalizer: Normalizer, music_mean, music_std,
               extra_meta: Optional[dict] = None) -> Path:
    from safetensors.torch import save_file

    # clone: the shared rotary buffer appears under several names, safetensors wants distinct storage
    tensors = {f"model.{k}": v.detach().float().contiguous().clone() for k, v in model.state_dict().items()}
    for k, v in normalizer.state_dict().items():
        tensors[k] = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
    if music_mean is not None:
        tensors["music_norm.mean"] = torch.as_tensor(np.asarray(music_mean, np.float32))
        tensors["music_norm.std"] = torch.as_tensor(np.asarray(music_std, np.float32))
    meta = {"config": json.dumps(model.cfg.to_dict()), "format": "magicdance-motion-1"}
    for k, v in (extra_meta or {}).items():
        meta[k] = v if isinstance(v, str) else json.dumps(v)
    path = Path(path)
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def _lr_at(step: int, s: TrainSettings) -> float:
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    frac = (step - s.warmup) / max(1, s.steps - s.warmup)
    lo = s.min_lr_frac
    return s.lr * (lo + (1 - lo) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def plot_losses(history: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = np.asarray(history, dtype=np.float64)
    if len(h) == 0:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    k = max(1, len(h) // 50)
    smooth = lambda v: np.convolve(v, np.ones(k) / k, mode="valid")  # noqa: E731
    ax.plot(smooth(h[:, 1]), label="total", color="black")
    for i, name in enumerate(LOSS_NAMES):
        ax.plot(smooth(h[:, 2 + i] * LOSS_WEIGHTS[i]), label=f"{name} (weighted)", alpha=0.7)
    ax.set_yscale("log")
    ax.set_xlabel(f"step (moving average of {k})")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)


def grown_music_input(state: dict, old: DenoiserConfig, new: DenoiserConfig) -> dict:
    """``state`` with the music input projection widened from old's features to new's.

    The new columns start at zero, so the grown model computes exactly what the old one
    did until training teaches it to use them (fine-tuning a checkpoint onto
    ``edge35+beat`` or ``edge35+phase``). Columns are per packed frame: [frame 0 features, frame 1 features, ...].
    """
    f0, f1, p = old.cond_feature_dim, new.cond_feature_dim, new.frames_per_token
    if f0 == f1:
        return state
    w = state["cond_projection.weight"]
    grown = torch.zeros(w.shape[0], f1 * p, dtype=w.dtype)
    for i in range(p):
        grown[:, i * f1:i * f1 + f0] = w[:, i * f0:(i + 1) * f0]
    return {**state, "cond_projection.weight": grown}


# ---------------------------------------------------------------- the loop
def train(data_dir: PathLike, cfg: TrainConfig, out_dir: PathLike, *, resume: bool = False,
          progress: Optional[ProgressFn] = None) -> dict:
    """Train (or resume) and write the outputs; returns a summary dict."""
    progress = progress or null_progress
    s = cfg.train
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, int(s.threads)))
    data = load_dataset(data_dir, progress)
    mcfg = copy.deepcopy(cfg.model)
    if mcfg.music_feature == "edge35+beat" and data.music.shape[-1] == 35:
        from .music_input import add_beat_clock

        data.music = add_beat_clock(data.music)
    if mcfg.music_feature == "edge35+phase" and data.music.shape[-1] == 35:
        if data.phase is None:
            raise BadInput(f"dataset {data_dir} has no 'phase' in its shards (edge35+phase needs it): "
                           "rebuild it with 'magicdance dataset build'")
        data.music = np.concatenate([data.music, data.phase], axis=-1)
    if data.music.shape[-1] != mcfg.cond_feature_dim:
        raise BadInput(f"dataset music has {data.music.shape[-1]} features, config expects {mcfg.cond_feature_dim}")
    if data.motion.shape[1] != mcfg.seq_len:
        raise BadInput(f"dataset windows have {data.motion.shape[1]} frames, config expects {mcfg.seq_len}")
    if not mcfg.style_names:
        mcfg.style_names = list(data.style_names)

    state_path = out / "train_state.pt"
    state = None
    if resume and state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        mcfg = DenoiserConfig.from_dict(json.loads(state["config"]))
    init = None
    if state is None and s.init_from:
        from .api import load_model

        init = load_model(s.init_from)
        music_keys = {"music_feature": mcfg.music_feature, "cond_feature_dim": mcfg.cond_feature_dim}
        grow = init.cfg.music_feature == "edge35" and mcfg.music_feature in ("edge35+beat", "edge35+phase")
        sampling = {k: getattr(mcfg, k) for k in DenoiserConfig.SAMPLING_FIELDS}  # the yaml's values win
        same = {**init.cfg.to_dict(), **(music_keys if grow else {}), **sampling}
        if same != {**mcfg.to_dict(), "style_names": init.cfg.style_names} or init.music_mean is None:
            raise BadInput(f"--init-from checkpoint {s.init_from} does not match the config's model")
        mcfg = DenoiserConfig.from_dict({**init.cfg.to_dict(), **music_keys, **sampling})
    if state is not None:
        normalizer = Normalizer(state["norm_min"].numpy(), state["norm_max"].numpy())
        music_mean, music_std = state["music_mean"].numpy(), state["music_std"].numpy()
    elif init is not None:
        normalizer, music_mean, music_std = init.normalizer, init.music_mean, init.music_std
        if len(music_mean) < mcfg.cond_feature_dim:  # grown input: statistics of the new columns
            flat = data.music.reshape(-1, data.music.shape[-1])[:, len(music_mean):]
            music_mean = np.concatenate([music_mean, flat.mean(0)])
            music_std = np.concatenate([music_std, np.maximum(flat.std(0), 1e-4)])
    else:
        normalizer = Normalizer.fit(data.motion)
        flat = data.music.reshape(-1, data.music.shape[-1])
        music_mean, music_std = flat.mean(0), np.maximum(flat.std(0), 1e-4)

    torch.manual_seed(s.seed)
    model = DanceDenoiser(mcfg)
    if init is not None:
        model.load_state_dict(grown_music_input(init.model.state_dict(), init.cfg, mcfg))
    elif mcfg.skip and state is None:  # resuming loads the fitted axes with the weights
        from .schedule import frequency_stds, principal_axes

        windows = normalizer.normalize(data.motion)
        mean, basis, std = principal_axes(windows)
        model.set_principal_axes(mean, basis, std,
                                 frequency_stds(windows, mean, basis) if mcfg.skip_temporal else None)
    ema = copy.deepcopy(model)
    opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    step, history, elapsed_before = 0, [], 0.0
    gen = torch.Generator().manual_seed(s.seed)
    if state is not None:
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step = int(state["step"])
        history = [h + [0.0] * (2 + len(LOSS_NAMES) - len(h)) for h in state["history"].tolist()]  # older runs: fewer terms
        elapsed_before = float(state["elapsed"])
        gen.set_state(state["gen"])
    ema.eval()
    for p in ema.parameters():
        p.requires_grad_(False)

    motion_n = torch.from_numpy(normalizer.normalize(data.motion))
    music_n = torch.from_numpy(((data.music - music_mean) / music_std).astype(np.float32))
    style_t = torch.from_numpy(np.where(data.style < 0, mcfg.num_styles, data.style)).long()
    ac = model.alphas_cumprod
    losses = Losses(normalizer, s.kinematic_loss)
    N = len(motion_n)

    def save_state():
        st = {"config": json.dumps(mcfg.to_dict()), "model": model.state_dict(), "ema": ema.state_dict(),
              "opt": opt.state_dict(), "step": step, "history": torch.tensor(history, dtype=torch.float64).reshape(-1, 2 + len(LOSS_NAMES)),
              "elapsed": elapsed_before + (time.monotonic() - t_start), "gen": gen.get_state(),
              "norm_min": torch.from_numpy(normalizer.data_min), "norm_max": torch.from_numpy(normalizer.data_max),
              "music_mean": torch.from_numpy(np.asarray(music_mean, np.float32)),
              "music_std": torch.from_numpy(np.asarray(music_std, np.float32))}
        with atomic_path(state_path, suffix=".pt") as tmp:
            torch.save(st, tmp)
        summary = {"steps": step, "windows": N, "window_hours": N * mcfg.seq_len / 30.0 / 3600.0,  # windows may overlap
                   "parameters": parameter_count(model), "train_seconds": round(st["elapsed"], 1),
                   "final_loss": float(np.mean([h[1] for h in history[-50:]])) if history else None,
                   "data": Path(data_dir).name}  # the folder's name: no machine's path in a shipped file
        save_model(out / "model.safetensors", ema, normalizer, music_mean, music_std, {"training": summary})
        atomic_write_text(out / "model.json", json.dumps({"model": mcfg.to_dict(), "train": s.__dict__, "summary": summary}, indent=2))
        plot_losses(history, out / "loss.png")
        return summary

    t_start = time.monotonic()
    model.train()
    summary = None
    while step < s.steps:
        idx = torch.randint(0, N, (min(s.batch_size, N),), generator=gen)
        x0, mus, sty = motion_n[idx], music_n[idx], style_t[idx]
        t = torch.randint(0, mcfg.n_timestep, (len(idx),), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        a = ac[t][:, None, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        keep = torch.rand(len(idx), generator=gen) >= mcfg.cond_drop_prob
        if s.style_drop_prob > 0:
            drop = torch.rand(len(idx), generator=gen) < s.style_drop_prob
            sty = torch.where(drop, torch.full_like(sty, mcfg.num_styles), sty)
        pred = model.denoise(xt, t, model.encode(mus, sty, keep))
        total, parts = losses(pred, x0, noise_level_weight(ac[t], mcfg.sigma_data, s.loss_weight_cap))
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, s)
        opt.zero_grad(set_to_none=True)
        total.backward()
        if s.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
        opt.step()
        with torch.no_grad():
            d = min(s.ema_decay, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(d).add_(pm.detach(), alpha=1 - d)
        step += 1
        history.append([step, total.item()] + [v.item() for v in parts])
        progress("train", step / s.steps, f"step {step} loss {float(total):.4f}")
        over_time = s.max_minutes > 0 and (elapsed_before + time.monotonic() - t_start) > s.max_minutes * 60
        if step % max(1, s.save_every) == 0 or step >= s.steps or over_time:
            summary = save_state()
        if over_time:
            break
    if summary is None:
        summary = save_state()
    progress("train", 1.0, f"done at step {step}")
    return summary
