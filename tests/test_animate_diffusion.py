"""The diffusion animator on tiny random weights written in MagicAnimate's exact release layout."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from magicdance_core.animate.diffusion import weights as W
from magicdance_core.animate.diffusion.context import context_windows
from magicdance_core.animate.diffusion.framing import from_square, reference_image, to_square
from magicdance_core.animate.diffusion.layout import TEMPORAL_CKPT, find_release
from magicdance_core.animate.diffusion.pipeline import MagicAnimatePipeline
from magicdance_core.animate.diffusion.random_release import write_release
from magicdance_core.errors import BadInput, Cancelled, MissingModel

EX = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module", autouse=True)
def _one_thread_and_own_cache(tmp_path_factory):
    # tiny tensors: threads only add overhead; the conversion cache goes to a private folder
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
def pipe(release):
    return MagicAnimatePipeline.from_release(release)


def _inputs(n=20, size=64, seed=0):
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    poses = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]
    return ref, poses


def test_release_layout_is_magicanimates(release):
    rel = find_release(release)
    assert rel.unet.weights.name == "diffusion_pytorch_model.bin"
    assert rel.text_encoder.weights.name == "pytorch_model.bin"
    assert rel.vae.folder.name == "sd-vae-ft-mse"
    keys = torch.load(release / TEMPORAL_CKPT, weights_only=True).keys()
    assert "down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.attention_blocks.1.to_q.weight" in keys
    assert "up_blocks.3.motion_modules.2.temporal_transformer.proj_out.bias" in keys
    assert not any("mid_block" in k for k in keys)
    from safetensors.torch import load_file

    vae_keys = load_file(release / "sd-vae-ft-mse/diffusion_pytorch_model.safetensors").keys()
    assert "decoder.mid_block.attentions.0.query.weight" in vae_keys        # the legacy spelling
    app = load_file(release / "MagicAnimate/appearance_encoder/diffusion_pytorch_model.safetensors")
    assert "up_blocks.3.attentions.2.transformer_blocks.0.norm1.weight" in app
    assert "up_blocks.3.attentions.2.transformer_blocks.0.attn1.to_q.weight" not in app   # pruned as released


def test_variants_load_to_the_same_weights(release, pipe, tmp_path, monkeypatch):
    """safetensors instead of .bin, current VAE names, the .ckpt wrapped in state_dict with
    module. prefixes: the same model; the scheduler is DDIM with MagicAnimate's settings although
    SD's folder holds a PNDM config."""
    from safetensors.torch import load_file, save_file

    from diffusers import DDIMScheduler

    alt = tmp_path / "pretrained_models"
    shutil.copytree(release, alt)
    unet_dir = alt / "stable-diffusion-v1-5/unet"
    save_file(torch.load(unet_dir / "diffusion_pytorch_model.bin", weights_only=True),
              unet_dir / "diffusion_pytorch_model.safetensors")
    (unet_dir / "diffusion_pytorch_model.bin").unlink()
    vae_file = alt / "sd-vae-ft-mse/diffusion_pytorch_model.safetensors"
    vsd = load_file(vae_file)
    ren = {".query.": ".to_q.", ".key.": ".to_k.", ".value.": ".to_v.", ".proj_attn.": ".to_out.0."}
    cur = {}
    for k, v in vsd.items():
        for a, b in ren.items():
            k = k.replace(a, b)
        cur[k] = v
    save_file(cur, vae_file)
    ck = alt / TEMPORAL_CKPT
    flat = torch.load(ck, weights_only=True)
    torch.save({"state_dict": {"module." + k: v for k, v in flat.items()}, "global_step": 7}, ck)
    other = MagicAnimatePipeline.from_release(alt)
    for name in ("unet", "vae", "temporal", "controlnet", "appearance_encoder", "text_encoder"):
        a, b = getattr(pipe, name).state_dict(), getattr(other, name).state_dict()
        assert a.keys() == b.keys(), name
        assert all(torch.equal(a[k], b[k]) for k in a), name
    assert isinstance(pipe.scheduler, DDIMScheduler)
    c = pipe.scheduler.config
    assert (c.beta_schedule, c.steps_offset, c.clip_sample, c.set_alpha_to_one) == ("linear", 1, False, True)
    # the pickles were converted once: a second start reads the safetensors cache only
    monkeypatch.setattr(W, "read_pickled_tensors", lambda p: (_ for _ in ()).throw(AssertionError(p)))
    MagicAnimatePipeline.from_release(release)
    assert len(list(W.cache_dir().glob("*.safetensors"))) >= 3


def test_unet_prefixed_ckpt_and_fp16_file_names_load(release, pipe, tmp_path):
    """Two more spellings real folders have: motion-module keys saved with a ``unet.`` prefix (a
    training run's checkpoint) and diffusers' ``.fp16`` weight file names."""
    alt = tmp_path / "pretrained_models"
    shutil.copytree(release, alt)
    ck = alt / TEMPORAL_CKPT
    torch.save({"unet." + k: v for k, v in torch.load(ck, weights_only=True).items()}, ck)
    cn = alt / "MagicAnimate/densepose_controlnet"
    (cn / "diffusion_pytorch_model.safetensors").rename(cn / "diffusion_pytorch_model.fp16.safetensors")
    assert find_release(alt).controlnet.weights.name == "diffusion_pytorch_model.fp16.safetensors"
    other = MagicAnimatePipeline.from_release(alt, use_cache=False)
    for name in ("temporal", "controlnet"):
        a, b = getattr(pipe, name).state_dict(), getattr(other, name).state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name


def test_malicious_ckpt_is_refused_and_runs_nothing(release, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "pretrained_models"
    shutil.copytree(release, bad)
    torch.save({"down_blocks.0.motion_modules.0.x": torch.zeros(1), "evil": Payload()}, bad / TEMPORAL_CKPT)
    with pytest.raises(BadInput) as e:
        MagicAnimatePipeline.from_release(bad, use_cache=False)
    msg = str(e.value)
    assert "refused" in msg and "system" in msg and "\n" not in msg
    assert not marker.exists()


def test_missing_part_is_one_line(release, tmp_path):
    part = tmp_path / "pretrained_models"
    shutil.copytree(release, part)
    shutil.rmtree(part / "MagicAnimate/densepose_controlnet")
    with pytest.raises(MissingModel) as e:
        find_release(part)
    assert "MagicAnimate/densepose_controlnet/" in str(e.value) and "\n" not in str(e.value)
    # a weight file of the wrong model: missing/unexpected keys named in one line
    shutil.copytree(release / "MagicAnimate/densepose_controlnet", part / "MagicAnimate/densepose_controlnet")
    shutil.copy(release / "MagicAnimate/appearance_encoder/diffusion_pytorch_model.safetensors",
                part / "MagicAnimate/densepose_controlnet/diffusion_pytorch_model.safetensors")
    with pytest.raises(MissingModel, match=r"controlnet weights .* missing key\(s\): .*unexpected key") as e:
        MagicAnimatePipeline.from_release(part)
    assert "\n" not in str(e.value)


def test_context_windows_are_magicanimates():
    assert context_windows(16) == [list(range(16))]
    assert context_windows(32) == [list(range(16)), list(range(12, 28)), list(range(24, 32)) + list(range(8))]
    covered = {f for w in context_windows(912) for f in w}
    assert covered == set(range(912))


def test_framing_round_trip_and_photo_alignment():
    pose = np.full((120, 80, 3), 200, np.uint8)
    sq = to_square(pose, 64, fill=(68, 1, 84))
    assert sq.shape == (64, 64, 3) and tuple(sq[32, 1]) == (68, 1, 84) and tuple(sq[32, 32]) == (200, 200, 200)
    back = from_square(sq.astype(np.float32) / 255.0, 80, 120)
    assert back.shape == (120, 80, 3) and abs(int(back[60, 40, 0]) - 200) <= 1
    # a photo 2x the pass size lands where the passes' letterboxed camera put it: a dot at the
    # photo's (x=40, y=60) of a 160x240 photo is at (20, 30) of the 80x120 pass frame
    photo = np.zeros((240, 160, 3), np.uint8)
    photo[56:64, 36:44] = 255
    ref = reference_image(photo, 80, 120, 120)        # square side 120: no rescale, pads 20 left
    ys, xs = np.nonzero(ref[..., 0] > 128)
    assert abs(xs.mean() - (20 + 20)) < 1.5 and abs(ys.mean() - 30) < 1.5


def test_frames_equal_diffusers_controlnet_pipeline(tmp_path):
    """Temporal modules zeroed, window-pooled norms and reference attention off: every frame is
    exactly Stable Diffusion + ControlNet on that frame, as diffusers' own pipeline makes it."""
    from PIL import Image

    from diffusers import StableDiffusionControlNetPipeline

    rel = write_release(tmp_path / "pm", zero_temporal=True, settings={"temporal": {"norm_across_frames": False}})
    p = MagicAnimatePipeline.from_release(rel)
    ref, poses = _inputs(5)
    ours = p(ref, poses, num_inference_steps=3, seed=3, reference_attention=False).frames
    sd = StableDiffusionControlNetPipeline(vae=p.vae, text_encoder=p.text_encoder, tokenizer=p.tokenizer,
                                           unet=p.unet, controlnet=p.controlnet, scheduler=p.scheduler,
                                           safety_checker=None, feature_extractor=None,
                                           requires_safety_checker=False)
    sd.set_progress_bar_config(disable=True)
    noise = p.initial_noise(16, 16, 8, 8, 3)
    for k in range(5):
        theirs = sd("", image=Image.fromarray(poses[k]), negative_prompt="", num_inference_steps=3,
                    guidance_scale=7.5, latents=noise[k:k + 1], output_type="np", height=64, width=64).images[0]
        assert np.abs(theirs - ours[k]).max() < 1e-4, k
    assert ours.std() > 0.05                     # not a degenerate image


def test_weights_and_settings_change_the_frames(release, pipe, tmp_path):
    ref, poses = _inputs(6)
    base = pipe(ref, poses, num_inference_steps=2, seed=1).frames
    assert np.array_equal(base, pipe(ref, poses, num_inference_steps=2, seed=1).frames)    # reproducible
    assert np.abs(base - pipe(ref, poses, num_inference_steps=2, seed=2).frames).max() > 0.05
    assert np.abs(base - pipe(ref, poses, num_inference_steps=2, seed=1, reference_attention=False).frames).max() > 0.05
    other = write_release(tmp_path / "pm", seed=0)
    cn = other / "MagicAnimate/densepose_controlnet/diffusion_pytorch_model.safetensors"
    from safetensors.torch import load_file, save_file

    sd = load_file(cn)
    sd["controlnet_mid_block.weight"] = sd["controlnet_mid_block.weight"] * 3 + 0.1
    save_file(sd, cn)
    changed = MagicAnimatePipeline.from_release(other)(ref, poses, num_inference_steps=2, seed=1).frames
    assert np.abs(base - changed).max() > 0.05
    # frames of a window see each other (temporal modules, pooled norms): one pose changed
    # changes the other frames too
    moved = list(poses)
    moved[5] = np.roll(moved[5], 16, axis=1)
    assert np.abs(base[0] - pipe(ref, moved, num_inference_steps=2, seed=1).frames[0]).max() > 1e-3


def test_cancel_inside_sampling_stops_within_a_window(pipe):
    ref, poses = _inputs(30)
    calls = []

    def progress(stage, f, m=""):
        calls.append(m)
        if len(calls) == 2:
            raise Cancelled("cancelled")

    with pytest.raises(Cancelled):
        pipe(ref, poses, num_inference_steps=3, seed=0, progress=progress)
    assert calls == ["step 1/3 window 1/3", "step 1/3 window 2/3"]
    assert pipe.temporal.frames.num_frames in (1, 16)
    # the processors are restored: a plain call afterwards matches a fresh pipeline's
    again = pipe(ref, poses[:4], num_inference_steps=1, seed=0).frames
    assert np.isfinite(again).all()


# -- the whole job, as a user runs it ---------------------------------------------------------
@pytest.fixture(scope="module")
def song(tmp_path_factory):
    import soundfile

    from magicdance_core.audio.decode import load_audio

    y, sr = load_audio(EX / "song.ogg")
    p = tmp_path_factory.mktemp("song") / "short.wav"
    soundfile.write(p, y[: int(2.0 * sr)], sr)
    return p


@pytest.fixture(scope="module")
def cli_run(release, song, tmp_path_factory):
    from conftest import run_cli

    out = tmp_path_factory.mktemp("dance") / "dance.mp4"
    env_threads = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        r = run_cli("dance", "--music", song, "--photo", EX / "mannequin.png", "-o", out, "--size", "128",
                    "--no-scene", "--generator", "choreo", "--animator", "diffusion",
                    "--animator-weights", release, "--steps", "2", "--seed", "4")
    finally:
        if env_threads is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = env_threads
    return r, out


def _video(path):
    import av

    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        a = c.streams.audio[0]
        dur = float(a.duration * a.time_base) if a.duration else None
    return np.stack(frames), dur


@pytest.mark.slow
def test_dance_cli_with_the_diffusion_animator(cli_run, song):
    import soundfile

    r, out = cli_run
    assert r.returncode == 0, r.stderr[-2000:]
    frames, audio_s = _video(out)
    seconds = soundfile.info(str(song)).duration
    assert len(frames) == round(seconds * 30) and abs(audio_s - seconds) < 0.05
    assert frames.shape[1:] == (128, 76, 3)           # the pass's frame (the photo's 384x640 aspect, long side 128), mapped back from 64²
    assert frames.std() > 10 and np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 1
    job = json.loads((out.parent / "dance.job" / "job.json").read_text())
    assert job["stages"]["animate"]["status"] == "done"
    assert not (out.parent / "dance.job" / "animate_state.safetensors").exists()


def test_cli_bad_weights_fail_before_any_work(cli, song, tmp_path):
    r = cli("dance", "--music", song, "--photo", EX / "mannequin.png", "-o", tmp_path / "v.mp4",
            "--animator", "diffusion", "--animator-weights", tmp_path)
    assert r.returncode == 2 and r.stderr.strip().startswith("error:") and len(r.stderr.strip().splitlines()) == 1
    assert "lacks" in r.stderr and not (tmp_path / "v.job").exists()
    r = cli("dance", "--music", song, "--photo", EX / "mannequin.png", "-o", tmp_path / "v.mp4", "--steps", "3")
    assert r.returncode == 2 and "diffusion animator" in r.stderr


@pytest.mark.slow
def test_cancelled_sampling_resumes_to_the_same_video(cli_run, release, song, tmp_path, request):
    import torch

    from magicdance_core.jobs.pipeline import DanceOptions, run_dance

    r, out = cli_run
    assert r.returncode == 0, r.stderr[-2000:]
    job = tmp_path / "dance.job"
    shutil.copytree(out.parent / "dance.job", job)
    (job / "video.mp4").unlink()                      # animate must run again; the rest is done
    opt = DanceOptions(size=128, scene=False, generator="choreo", seed=4, animator="diffusion",
                       animator_weights=str(release), animator_steps=2)
    seen = []
    # The reference video came from the CLI under OMP_NUM_THREADS=1; torch's CPU reductions sum in
    # another order with another thread count, so the resumed run must use one thread too to be
    # comparable bit for bit.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    request.addfinalizer(lambda: torch.set_num_threads(threads))

    def cancel_in_step_2(stage, fraction, message=""):
        seen.append(message)
        if stage == "animate" and message.startswith("step 2/2 window 2"):
            raise Cancelled("cancelled")

    with pytest.raises(Cancelled):
        run_dance(song, EX / "mannequin.png", tmp_path / "v.mp4", opt, job_dir=job, progress=cancel_in_step_2)
    state = json.loads((job / "job.json").read_text())
    assert state["stages"]["animate"]["status"] == "cancelled"
    assert (job / "animate_state.safetensors").exists() and not (job / "video.mp4").exists()
    assert not list(tmp_path.rglob("*.part*")) and not (tmp_path / "v.mp4").exists()
    seen.clear()
    res = run_dance(song, EX / "mannequin.png", tmp_path / "v.mp4", opt, job_dir=job,
                    progress=lambda s, f, m="": seen.append(m))
    assert set(res.skipped) >= {"analyze", "photo", "motion", "passes"} and "animate" in res.ran
    assert not any(m.startswith("step 1/2") for m in seen)          # resumed at step 2
    assert not (job / "animate_state.safetensors").exists()
    resumed, whole = _video(tmp_path / "v.mp4")[0], _video(out)[0]
    diff = np.abs(resumed.astype(int) - whole.astype(int))
    assert diff.max() == 0, f"resumed video differs: max {diff.max()}, {np.mean(diff > 0):.4f} of values"  # as if never interrupted


def test_batch_rows_choose_the_animator_and_get_gpus(tmp_path, release):
    from magicdance_core.jobs.batch import read_manifest, row_resources

    (tmp_path / "m.csv").write_text(
        "music,photo,out,animator,animator_weights,steps,guidance\n"
        f"s.wav,p.png,a.mp4,diffusion,{release},10,5\n"
        "s.wav,p.png,b.mp4,,,,\n"
        "s.wav,p.png,c.mp4,diffusion,w,ten,\n")
    a, b, c = read_manifest(tmp_path / "m.csv")
    assert (a.animator, a.animator_weights, a.steps, a.guidance) == ("diffusion", str(release), 10, 5.0)
    assert b.animator == "surface" and b.error is None and c.error and "steps" in c.error
    assert row_resources(a, cluster_gpus=8) == {"num_cpus": 1, "num_gpus": 1.0}
    assert row_resources(a, cluster_gpus=8, gpus_per_row=0.5)["num_gpus"] == 0.5
    assert row_resources(b, cluster_gpus=8) == {"num_cpus": 1}
    assert row_resources(a, cluster_gpus=0) == {"num_cpus": 1}       # no GPU: runs on a CPU, never waits
