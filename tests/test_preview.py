"""`magicdance preview`: frames, beat flashes, left/right colours, music, bad input."""

import numpy as np
import pytest

from magicdance_core.body.motion_file import Motion, save_motion
from magicdance_core.body.skeleton import JOINT_INDEX as J
from magicdance_core.body.skeleton import REST_PELVIS_HEIGHT
from magicdance_core.video.preview import PreviewRenderer, beat_flash
from magicdance_core.video.reader import probe, read_frames


def t_pose(frames=45, wave=False):
    poses = np.zeros((frames, 24, 3))
    if wave:
        poses[:, J["left_elbow"], 1] = 0.6 * np.sin(np.arange(frames) / 5)
    trans = np.zeros((frames, 3))
    trans[:, 1] = REST_PELVIS_HEIGHT
    return Motion(poses, trans)


def click_track(path, seconds=3.0, period=0.5, sr=22050):
    import soundfile as sf

    y = np.zeros(int(sr * seconds))
    n = np.arange(1500)
    for b in np.arange(period, seconds - 0.1, period):
        i = int(b * sr)
        y[i:i + 1500] += 0.8 * np.sin(2 * np.pi * 1000 * n / sr) * np.exp(-n / 300)
    sf.write(str(path), y, sr)
    return path


def _blue(img):
    i = img.astype(int)
    return (i[..., 2] > i[..., 0] + 50) & (i[..., 2] > 120)


def _orange(img):
    i = img.astype(int)
    return (i[..., 0] > i[..., 2] + 60) & (i[..., 0] > 120) & (i[..., 1] < i[..., 0] - 30)


def test_body_drawn_with_left_on_image_right():
    r = PreviewRenderer(t_pose(5).joints, 256)
    img = r.frame(0)
    changed = np.abs(img.astype(int) - r.background).sum(axis=2) > 30
    assert changed.mean() > 0.03  # the body and its shadow cover a good part of the frame
    blue, orange = _blue(img), _orange(img)
    assert blue.sum() > 200 and orange.sum() > 200
    # Facing the camera, the person's left (blue) is on the image's right.
    assert np.nonzero(blue)[1].mean() > np.nonzero(orange)[1].mean() + 20


def test_flash_lights_the_border_only():
    r = PreviewRenderer(t_pose(5).joints, 128)
    on, off = r.frame(2, 1.0), r.frame(2, 0.0)
    b = r.border
    diff = np.abs(on.astype(int) - off).sum(axis=2) > 0
    assert diff[:b].all() and diff[-b:].all() and diff[:, :b].all()
    assert not diff[b + 2:-b - 2, b + 2:-b - 2].any()
    f = beat_flash(30, [0.5], 30.0)
    assert f[15] == 1.0 and 0 < f[16] < 1 and f[14] == 0 and f[20] == 0


def test_camera_is_fixed_over_the_clip():
    m = t_pose(60, wave=True)
    r = PreviewRenderer(m.joints, 128)
    a, b = r.frame(0), r.frame(59)
    # The legs and trunk do not move, so the lower half of the picture is identical.
    assert np.array_equal(a[80:], b[80:])


def test_preview_cli_without_music(cli, tmp_path):
    src = save_motion(t_pose(40, wave=True), tmp_path / "d.npz")
    out = tmp_path / "p.mp4"
    r = cli("-q", "preview", src, "-o", out, "--size", "160")
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert info.n_frames == 40 and (info.width, info.height) == (160, 160) and not info.has_audio


@pytest.mark.slow  # music analysis in a subprocess
def test_preview_cli_with_music_flashes_beats(cli, tmp_path):
    src = save_motion(t_pose(30), tmp_path / "d.npz")
    song = click_track(tmp_path / "click.wav", seconds=3.0)
    out = tmp_path / "p.mp4"
    r = cli("-q", "preview", src, "-o", out, "--music", song, "--size", "128")
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert info.has_audio and info.n_frames == 90  # the song's length, not the motion's 30 frames
    frames = list(read_frames(out))
    border = np.array([f[1:3, 20:-20].reshape(-1, 3).mean(axis=0) for f in frames])
    yellow = (border[:, 0] > 180) & (border[:, 1] > 160) & (border[:, 2] < 130)
    lit = np.nonzero(yellow)[0]
    # Beats every 0.5 s -> flashes about every 15 frames, and dark frames between them.
    assert 4 <= len(set(lit // 15)) and (~yellow).sum() > 45


def test_preview_bad_input(cli, tmp_path):
    out = tmp_path / "p.mp4"
    r = cli("-q", "preview", tmp_path / "nope.npz", "-o", out)
    assert r.returncode == 2 and r.stderr.startswith("error:") and not out.exists()
    src = save_motion(t_pose(10), tmp_path / "d.npz")
    junk = tmp_path / "song.mp3"
    junk.write_text("no music here\n" * 10)
    r = cli("-q", "preview", src, "-o", out, "--music", junk)
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".part" in p.name]
