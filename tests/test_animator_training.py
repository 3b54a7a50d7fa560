"""Training the face attention on clips the project makes itself (CPU, tiny sizes)."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from magicdance_core.animate.diffusion.random_release import write_release
from magicdance_core.animate.diffusion.training import AnimatorTrainer, load_train_config
from magicdance_core.dataset.animator import make_animator_dataset
from magicdance_core.errors import BadInput, Cancelled

EX = Path(__file__).resolve().parents[1] / "examples"

CONFIG = """
size: 64
seed: 3
face: {face_size: 32, patch: 1}
stages:
  - {name: image, steps: 16, batch_size: 2, lr: 2.0e-3, train: [face]}
  - {name: video, steps: 4, frames: 4, lr: 1.0e-3, train: [face]}
ema: {decay: 0.8}
checkpoint_every: 8
eval_batches: 2
validation: {every: 20, frames: 4, steps: 2, guidance: 2.0}
"""


@pytest.fixture(scope="module", autouse=True)
def _one_thread_and_own_cache(tmp_path_factory):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    old = os.environ.get("MAGICDANCE_CACHE")
    os.environ["MAGICDANCE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    torch.set_num_threads(n)
    if old is None:
        os.environ.pop("MAGICDANCE_CACHE", None)
    else:
        os.environ["MAGICDANCE_CACHE"] = old


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return write_release(tmp_path_factory.mktemp("rel") / "pretrained_models")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips") / "set"
    make_animator_dataset(d, clips=4, size=64, frames=6, seed=1)
    return d


@pytest.fixture(scope="module")
def config(tmp_path_factory, release):
    p = tmp_path_factory.mktemp("cfg") / "face.yaml"
    p.write_text(CONFIG + f"animator_weights: {release}\n")
    return p


@pytest.fixture(scope="module")
def trained(clips, config, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    state = AnimatorTrainer(load_train_config(config), clips, out).train()
    return out, state


def test_dataset_animator_clips(clips, tmp_path):
    from magicdance_core.passes.colors import part_ids_from_densepose
    from magicdance_core.animate.diffusion.face import densepose_head_box
    import cv2

    idx = json.loads((clips / "index.json").read_text())
    assert [c["split"] for c in idx["clips"]] == ["train", "train", "train", "val"]
    c0 = clips / "clip_0000"
    assert len(list((c0 / "frames").glob("*.png"))) == 6 == len(list((c0 / "densepose").glob("*.png")))
    frame = cv2.cvtColor(cv2.imread(str(c0 / "frames/000000.png")), cv2.COLOR_BGR2RGB)
    dp = cv2.cvtColor(cv2.imread(str(c0 / "densepose/000000.png")), cv2.COLOR_BGR2RGB)
    ids = part_ids_from_densepose(dp)
    assert (ids >= 0).all() and (ids > 0).mean() > 0.02            # MagicAnimate's exact colours, a body
    ref_dp = cv2.cvtColor(cv2.imread(str(c0 / "reference_densepose.png")), cv2.COLOR_BGR2RGB)
    assert densepose_head_box(ref_dp) is not None
    body = ids > 0
    assert frame.shape == dp.shape
    # clips differ (clothes, people, cameras); the same seed makes the same clips
    f1 = cv2.imread(str(clips / "clip_0001/frames/000000.png"))
    assert np.abs(f1.astype(int) - frame[..., ::-1].astype(int)).mean() > 10
    again = tmp_path / "again"
    make_animator_dataset(again, clips=1, size=64, frames=6, seed=1)
    assert (again / "clip_0000/frames/000003.png").read_bytes() == (c0 / "frames/000003.png").read_bytes()
    assert body.any()


def test_training_lowers_the_loss_and_writes_its_outputs(trained):
    out, state = trained
    ev = state["eval"]
    assert [s for s, _ in ev] == [0, 8, 16, 20]
    assert ev[-1][1] < 0.95 * ev[0][1], ev                         # fixed batches: the weights improved
    assert len(state["losses"]) == 20 and np.isfinite(state["losses"]).all()
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in log] == ["image"] * 16 + ["video"] * 4
    for name in ("face.safetensors", "loss.png", "validation/step_000020.mp4", "checkpoint/state.json"):
        assert (out / name).is_file(), name
    assert not [p for p in out.rglob("*") if ".part" in p.name or p.name.startswith(".")]


def test_resume_continues_the_same_run(clips, config, trained, tmp_path):
    _, full = trained
    out = tmp_path / "run"
    calls = []

    def stop_after_11(stage, fraction, message=""):
        calls.append(message)
        if "step 11/16" in message:
            raise Cancelled("cancelled")

    with pytest.raises(Cancelled):
        AnimatorTrainer(load_train_config(config), clips, out, progress=stop_after_11).train()
    saved = json.loads((out / "checkpoint/state.json").read_text())
    assert saved["step"] == 11
    with pytest.raises(BadInput, match="--resume"):                 # a finished run is never overwritten
        AnimatorTrainer(load_train_config(config), clips, out).train()
    state = AnimatorTrainer(load_train_config(config), clips, out).train(resume=True)
    assert state["step"] == 20
    assert np.allclose(state["losses"], full["losses"], rtol=1e-5, atol=1e-6)
    assert np.allclose([e for _, e in state["eval"]], [e for _, e in full["eval"]], rtol=1e-5)


def test_wrong_data_or_config_is_one_line(cli, tmp_path, clips, config):
    bad = tmp_path / "data" / "clip_a"
    (bad / "frames").mkdir(parents=True)
    shutil.copy(clips / "clip_0000/frames/000000.png", bad / "frames")
    r = cli("train-animator", "--data", tmp_path / "data", "--config", config, "--out", tmp_path / "o")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "no densepose/" in r.stderr and "clip_a" in r.stderr
    (bad / "densepose").mkdir()
    r = cli("train-animator", "--data", tmp_path / "data", "--config", config, "--out", tmp_path / "o")
    assert "densepose lacks 000000.png" in r.stderr
    cfg = tmp_path / "c.yaml"
    cfg.write_text("size: 64\nstages: [{name: image, steps: 2, train: [unet]}]\n")
    r = cli("train-animator", "--data", clips, "--config", cfg, "--out", tmp_path / "o")
    assert r.returncode == 2 and "train must list some of face" in r.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_trained_face_weights_drive_the_dance(trained, release, tmp_path):
    """--face-weights: the trained file loads into the dance job and changes the video; without it
    the video is the plain diffusion animator's."""
    import soundfile

    from magicdance_core.audio.decode import load_audio
    from magicdance_core.jobs.pipeline import DanceOptions, run_dance
    from magicdance_core.video.reader import read_frames

    out, _ = trained
    y, sr = load_audio(EX / "song.ogg")
    song = tmp_path / "s.wav"
    soundfile.write(song, y[: int(2.0 * sr)], sr)
    base = dict(size=128, scene=False, generator="choreo", seed=2, animator="diffusion",
                animator_weights=str(release), animator_steps=2)
    plain = run_dance(song, EX / "mannequin.png", tmp_path / "a.mp4", DanceOptions(**base))
    shutil.copytree(plain.job, tmp_path / "b.job")
    with_face = run_dance(song, EX / "mannequin.png", tmp_path / "b.mp4",
                          DanceOptions(**base, face_weights=str(out / "face.safetensors")), job_dir=tmp_path / "b.job")
    assert "animate" in with_face.ran and "passes" in with_face.skipped
    a = np.stack(list(read_frames(tmp_path / "a.mp4"))).astype(int)
    b = np.stack(list(read_frames(tmp_path / "b.mp4"))).astype(int)
    assert a.shape == b.shape and np.abs(a - b).mean() > 0.5
    with pytest.raises(BadInput, match="--face-weights"):
        run_dance(song, EX / "mannequin.png", tmp_path / "c.mp4",
                  DanceOptions(**base, face_weights=str(out / "log.jsonl")))
    # the dance's job folder is itself training data (video.mp4 + passes/densepose/)
    from magicdance_core.animate.diffusion.clips import find_clips

    (clip,) = find_clips(plain.job)
    assert len(clip) == len(a) == len(list((plain.job / "passes" / "densepose").glob("*.png")))
    assert clip.frame(5).shape == clip.pose(5).shape == a.shape[1:]
    cfg = tmp_path / "job.json"
    cfg.write_text(json.dumps({"animator_weights": str(release), "size": 64, "face": {"face_size": 32, "patch": 1},
                               "stages": [{"name": "image", "steps": 2, "batch_size": 1, "lr": 1e-3}],
                               "eval_batches": 0, "validation": {"every": 0}}))
    state = AnimatorTrainer(load_train_config(cfg), plain.job, tmp_path / "job_run").train()
    assert state["step"] == 2 and np.isfinite(state["losses"]).all()
    assert (tmp_path / "job_run" / "face.safetensors").is_file()


def test_dataset_animator_cli(cli, tmp_path):
    """``magicdance dataset animator`` as a user runs it; a bad flag is one line and writes nothing."""
    r = cli("-q", "dataset", "animator", "--out", tmp_path / "bad", "--size", "100")
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [r.stderr.strip()]
    assert r.stderr.startswith("error: --size") and not (tmp_path / "bad").exists()
    r = cli("-q", "dataset", "animator", "--out", tmp_path / "set", "--clips", "1", "--size", "64",
            "--frames", "3", "--seed", "5")
    assert r.returncode == 0, r.stderr
    assert "1 clips of 3 frames at 64" in r.stdout
    from magicdance_core.animate.diffusion.clips import find_clips

    (clip,) = find_clips(tmp_path / "set")
    assert len(clip) == 3 and clip.reference is not None and clip.frame(0).shape == (64, 64, 3)


def test_train_animator_cli_runs_and_never_overwrites_a_run(cli, clips, release, tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"size": 64, "face": {"face_size": 32, "patch": 1}, "eval_batches": 1,
                               "stages": [{"name": "image", "steps": 3, "batch_size": 1, "lr": 1e-3}],
                               "checkpoint_every": 3, "validation": {"every": 0}}))
    out = tmp_path / "run"
    r = cli("-q", "train-animator", "--data", clips, "--config", cfg, "--out", out, "--animator-weights", release)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("trained 3 steps") and "fixed-batch loss" in r.stdout and "face.safetensors" in r.stdout
    assert (out / "face.safetensors").is_file() and (out / "loss.png").is_file()
    before = (out / "face.safetensors").read_bytes()
    r = cli("-q", "train-animator", "--data", clips, "--config", cfg, "--out", out, "--animator-weights", release)
    assert r.returncode == 2 and "--resume" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (out / "face.safetensors").read_bytes() == before


def test_eval_video_scores_held_out_frames(cli, clips, tmp_path):
    c0, c1 = clips / "clip_0000", clips / "clip_0001"
    args = ("--densepose", c0 / "densepose", "--photo", c0 / "reference.png",
            "--photo-densepose", c0 / "reference_densepose.png", "--no-pose")
    r = cli("-q", "eval-video", c0 / "frames", "--reference", c0 / "frames", *args, "--json", tmp_path / "same.json")
    assert r.returncode == 0, r.stderr
    same = json.loads((tmp_path / "same.json").read_text())
    assert same["frames"] == 6 and same["psnr_min"] == 100.0 and same["ssim_min"] == 1.0 and same["l1_max"] == 0.0
    assert same["face_ssim_min"] == 1.0 and same["face_frames"] == 6
    r = cli("-q", "eval-video", c1 / "frames", "--reference", c0 / "frames", *args)
    other = json.loads(r.stdout)
    assert other["psnr_mean"] < 25 and other["ssim_mean"] < 0.8 and other["l1_mean"] > 0.03  # the control scores badly
    assert other["face_ssim_mean"] < same["face_ssim_mean"]
    r = cli("-q", "eval-video", tmp_path / "nope.mp4", "--reference", c0 / "frames")
    assert r.returncode == 2 and r.stderr.strip() == f"error: GEN: not found: {tmp_path / 'nope.mp4'}"


def test_clips_carry_the_cpu_animators_exact_inputs(clips):
    """motion.npz + camera.json + background.png reproduce the clip: the puppet animator, given
    the clip's own photo analysis and dancer, draws the frames closely; another clip's dancer
    does clearly worse (the control)."""
    import cv2

    from magicdance_core.dataset.animator import puppet_frames, puppet_inputs
    from magicdance_core.metrics.reconstruction import reconstruction_metrics

    c0 = clips / "clip_0000"
    photo, dancer = puppet_inputs(c0)
    gt = [cv2.cvtColor(cv2.imread(str(c0 / f"frames/{k:06d}.png")), cv2.COLOR_BGR2RGB) for k in range(6)]
    dp = [cv2.cvtColor(cv2.imread(str(c0 / f"densepose/{k:06d}.png")), cv2.COLOR_BGR2RGB) for k in range(6)]
    assert dancer.num_frames == 7 and photo.face_box is not None          # the reference pose, then the clip
    good = reconstruction_metrics(puppet_frames(c0, 64), gt, densepose=dp, pose=False)
    other = puppet_inputs(clips / "clip_0001")[1]
    bad = reconstruction_metrics(puppet_frames(c0, 64, dancer=other), gt, densepose=dp, pose=False)
    assert good["frames"] == 6 and good["psnr_mean"] > 20 and good["ssim_mean"] > 0.6, good
    # on the dancer's own pixels the wrong dance is plainly worse
    assert bad["body_l1_mean"] > 1.25 * good["body_l1_mean"] and bad["body_psnr_mean"] < good["body_psnr_mean"] - 1, \
        (good, bad)


def test_trained_release_parts_load_as_a_release(clips, release, tmp_path):
    """Training the ControlNet, the appearance encoder and the temporal modules too writes them in
    the release's layout: copied over the release, the animator loads exactly the trained weights."""
    from magicdance_core.animate.diffusion.pipeline import MagicAnimatePipeline

    cfg = tmp_path / "all.json"
    cfg.write_text(json.dumps({
        "animator_weights": str(release), "size": 64, "face": {"face_size": 32, "patch": 1},
        "stages": [{"name": "image", "steps": 2, "batch_size": 1, "lr": 1e-3,
                    "train": ["face", "controlnet", "appearance_encoder"]},
                   {"name": "video", "steps": 1, "frames": 3, "lr": 1e-3, "train": ["temporal"]}],
        "condition_drop": 0.0, "ema": None, "eval_batches": 0, "validation": {"every": 0}}))
    out = tmp_path / "run"
    trainer = AnimatorTrainer(load_train_config(cfg), clips, out)
    trainer.train()
    mixed = tmp_path / "pretrained_models"
    shutil.copytree(release, mixed)
    shutil.copytree(out / "MagicAnimate", mixed / "MagicAnimate", dirs_exist_ok=True)
    loaded = MagicAnimatePipeline.from_release(mixed, use_cache=False)
    before = MagicAnimatePipeline.from_release(release)
    for name in ("controlnet", "appearance_encoder", "temporal"):
        mine, theirs, old = (getattr(p, name).state_dict() for p in (trainer.pipe, loaded, before))
        assert all(torch.equal(mine[k].cpu(), theirs[k]) for k in theirs), name
        assert any(not torch.equal(old[k], theirs[k]) for k in theirs), name      # it did train
