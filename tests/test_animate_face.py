"""MagicDance's face attention on the diffusion animator (tiny random weights, release layout)."""

import os

import numpy as np
import pytest
import torch

from magicdance_core.animate.diffusion.face import (FaceModule, densepose_head_box, face_crop, load_face_module,
                                                    photo_head_box, read_face_config)
from magicdance_core.animate.diffusion.framing import reference_image
from magicdance_core.animate.diffusion.pipeline import MagicAnimatePipeline
from magicdance_core.animate.diffusion.random_release import write_release
from magicdance_core.errors import BadInput, MissingModel


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
def pipe(release):
    return MagicAnimatePipeline.from_release(release)


def _inputs(n=5, size=64, seed=0):
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    poses = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]
    crop = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    return ref, poses, crop


def test_face_module_at_init_leaves_magicanimate_exactly(pipe):
    ref, poses, crop = _inputs()
    pipe.face = None
    plain = pipe(ref, poses, num_inference_steps=2, seed=3).frames
    pipe.face = FaceModule.for_unet(pipe.unet, face_size=32, patch=1)
    try:
        assert len(pipe.face.layers) == sum(k.endswith("attn2.processor") for k in pipe.unet.attn_processors)
        at_init = pipe(ref, poses, num_inference_steps=2, seed=3, face_image=crop).frames
        assert np.array_equal(plain, at_init)                     # zero output: bit for bit MagicAnimate
        with torch.no_grad():                                     # a trained module changes the frames...
            for layer in pipe.face.layers:
                layer.to_out.weight.normal_(0, 0.3, generator=torch.Generator().manual_seed(1))
        trained = pipe(ref, poses, num_inference_steps=2, seed=3, face_image=crop).frames
        assert np.abs(trained - plain).mean() > 1e-3
        other_face = pipe(ref, poses, num_inference_steps=2, seed=3, face_image=255 - crop).frames
        assert np.abs(other_face - trained).mean() > 1e-4         # ...and depends on the face
        no_face = pipe(ref, poses, num_inference_steps=2, seed=3).frames
        assert np.array_equal(no_face, plain)                     # no face in the photo: MagicAnimate
        # the processors are restored after each call
        assert not any("Face" in type(p).__name__ for p in pipe.unet.attn_processors.values())
    finally:
        pipe.face = None


def test_face_weights_file_round_trip_and_bad_files(pipe, tmp_path):
    fm = FaceModule.for_unet(pipe.unet, face_size=32, patch=1, scale=0.7, seed=5)
    path = fm.save(tmp_path / "face.safetensors")
    assert not list(tmp_path.glob("*.part*")) and read_face_config(path).scale == 0.7
    back = load_face_module(path, pipe.unet)
    a, b = fm.state_dict(), back.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(MissingModel, match="not found"):
        read_face_config(tmp_path / "nope.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a file of tensors")
    with pytest.raises(BadInput, match="not a safetensors file"):
        read_face_config(tmp_path / "junk.safetensors")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(BadInput, match="not a MagicDance face-attention file"):
        read_face_config(tmp_path / "other.safetensors")
    # trained for another UNet: one line naming the mismatch
    cfg = read_face_config(path)
    cfg.layers = cfg.layers[:-1]
    FaceModule(cfg).save(tmp_path / "short.safetensors")
    with pytest.raises(BadInput, match="another UNet") as e:
        load_face_module(tmp_path / "short.safetensors", pipe.unet)
    assert "\n" not in str(e.value)


def test_face_crop_follows_the_reference_framing():
    """The photo's face box lands on the face in the animator's square reference image, and the
    DensePose head parts give the same kind of box in training."""
    photo = np.full((300, 200, 3), 90, np.uint8)
    photo[40:80, 80:120] = (250, 20, 20)                   # the "face": a red 40 px square
    box = (80, 40, 120, 80)
    W, H = 180, 270                                        # the pass frame (same aspect, other size)
    ref = reference_image(photo, W, H, 64)
    head = photo_head_box(box, (200, 300), (W, H), 64)
    crop = face_crop(ref, head, 32)
    c = crop[12:20, 12:20].reshape(-1, 3).mean(0)
    assert c[0] > 200 and c[1] < 60                         # the crop is centred on the face
    assert (crop[..., 0] > 200).mean() < 0.6                # with the head's surroundings around it
    from magicdance_core.passes.colors import densepose_image

    ids = np.zeros((64, 64), np.int64)
    ids[10:20, 30:38] = 23
    ids[10:20, 38:44] = 24
    ids[20:50, 25:50] = 2
    assert densepose_head_box(densepose_image(ids)) == (30.0, 10.0, 44.0, 20.0)
    assert densepose_head_box(densepose_image(np.zeros((64, 64), np.int64))) is None


def test_batch_rows_carry_face_weights(pipe, release, tmp_path):
    """The manifest's face_weights column reaches the row's job (relative to the manifest), and a
    wrong file fails that row in one line before any work, as --face-weights does."""
    from pathlib import Path

    from magicdance_core.jobs.batch import check_row, read_manifest, row_options

    ex = Path(__file__).resolve().parents[1] / "examples"
    FaceModule.for_unet(pipe.unet, face_size=32, patch=1).save(tmp_path / "face.safetensors")
    (tmp_path / "notes.txt").write_text("not weights")
    song, photo = ex / "song.ogg", ex / "mannequin.png"
    (tmp_path / "m.csv").write_text(
        "music,photo,out,animator,animator_weights,face_weights\n"
        f"{song},{photo},a.mp4,diffusion,{release},face.safetensors\n"
        f"{song},{photo},b.mp4,diffusion,{release},notes.txt\n"
        f"{song},{photo},c.mp4,,,face.safetensors\n")
    a, b, c = read_manifest(tmp_path / "m.csv")
    assert a.face_weights == str((tmp_path / "face.safetensors").resolve())
    assert row_options(a).face_weights == a.face_weights
    for r in (a, b, c):
        check_row(r)
    assert a.error is None
    assert b.error and b.error.startswith("--face-weights") and "\n" not in b.error
    assert c.error and "diffusion animator" in c.error
