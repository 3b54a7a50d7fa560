"""Drawn figures: no person found -> an editable skeleton file; --landmarks takes the user's joints."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from magicdance_core.errors import BadInput
from magicdance_core.photo.analyze import PhotoAnalysis
from magicdance_core.photo.landmarks_file import NAMES, read_landmarks_file

ROOT = Path(__file__).resolve().parents[1]
DRAWING = ROOT / "benchmarks" / "dance" / "photos" / "oc_woman_doctor.png"   # 164x477 RGBA, mediapipe finds no one
EX = ROOT / "examples"


def test_names_are_mediapipes():
    import mediapipe as mp

    assert NAMES == tuple(lm.name.lower() for lm in mp.solutions.pose.PoseLandmark)


def test_drawing_gets_a_skeleton_to_edit_then_uses_it(cli, tmp_path):
    out = tmp_path / "doc"
    r = cli("photo", DRAWING, "-o", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    line = r.stderr.strip().splitlines()[-1]
    edit = out / "landmarks_edit.json"
    assert line.startswith("error: no person found in PHOTO oc_woman_doctor.png") and f"--landmarks {edit}" in line
    d = json.loads(edit.read_text())
    assert d["source"] == "template" and d["image_size"] == [164, 477] and list(d["landmarks"]) == list(NAMES)
    assert (out / "landmarks_edit.png").stat().st_size > 0 and not (out / "mask.png").exists()
    # the default skeleton stands in the figure: every joint on its silhouette, head above hips above feet
    alpha = np.asarray(Image.open(DRAWING).convert("RGBA"))[:, :, 3] > 127
    pts = np.array([v[:2] for v in d["landmarks"].values()])
    on = [alpha[int(min(y, 476)), int(min(x, 163))] for x, y in pts]
    assert np.mean(on) == 1.0
    y = dict(zip(NAMES, pts[:, 1]))
    assert y["nose"] < y["left_shoulder"] < y["left_hip"] < y["left_knee"] < y["left_ankle"]
    assert pts[NAMES.index("left_shoulder"), 0] > pts[NAMES.index("right_shoulder"), 0]  # facing the viewer

    # the user moves a wrist and passes the file back
    d["landmarks"]["left_wrist"] = [120.0, 200.0]
    edit.write_text(json.dumps(d))
    r = cli("photo", DRAWING, "-o", out, "--landmarks", edit)
    assert r.returncode == 0, r.stderr
    a = PhotoAnalysis.load(out)
    f = a.image.shape[1] / 164
    np.testing.assert_allclose(a.landmarks[NAMES.index("left_wrist")], np.array([120.0, 200.0]) * f, atol=1e-6)
    assert json.loads((out / "landmarks.json").read_text())["source"] == "user"
    assert a.mask[alpha].mean() > 0.9 and a.mask[~alpha].mean() < 0.1   # the figure's own cutout
    assert json.loads(edit.read_text()) == d                             # the user's file untouched

    # a second run without --landmarks keeps the user's edits and points at them
    r = cli("photo", DRAWING, "-o", out)
    assert r.returncode == 2 and f"--landmarks {edit}" in r.stderr
    assert json.loads(edit.read_text()) == d


def _template(tmp_path):
    from magicdance_core.photo.analyze import analyze_photo

    t = tmp_path / "t.json"
    with pytest.raises(BadInput):
        analyze_photo(DRAWING, template_out=t)
    return t, json.loads(t.read_text())


def test_each_problem_in_a_landmarks_file_is_one_line(cli, tmp_path):
    t, d = _template(tmp_path)
    lm = d["landmarks"]
    lm["left_kne"] = lm.pop("left_knee")
    lm["nose"] = [500, 10]
    lm["right_wrist"] = ["a", 3]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    r = cli("photo", DRAWING, "-o", tmp_path / "o", "--landmarks", bad)
    assert r.returncode == 2 and "Traceback" not in r.stderr and not (tmp_path / "o").exists()
    lines = r.stderr.strip().splitlines()
    i = next(k for k, s in enumerate(lines) if s.startswith("error:"))
    assert lines[i] == "error: --landmarks bad.json: 4 problems"
    body = "\n".join(lines[i + 1:])
    assert len(lines) - i - 1 == 4
    assert "unknown joint 'left_kne' (did you mean 'left_knee'?)" in body and "missing joint: left_knee" in body
    assert "nose: [500, 10] is outside the picture (0..164, 0..477)" in body and "right_wrist: must be" in body


def test_landmarks_of_another_photo_or_not_json(tmp_path):
    t, d = _template(tmp_path)
    with pytest.raises(BadInput, match="is for a 164x477 picture, but PHOTO is 600x600"):
        read_landmarks_file(t, (600, 600))
    (tmp_path / "x.json").write_text("{nope")
    with pytest.raises(BadInput, match="not valid JSON"):
        read_landmarks_file(tmp_path / "x.json", (164, 477))
    # a joint below a half-body photo's edge is fine when marked not visible
    d["landmarks"]["left_ankle"] = [80, 600, 0]
    (tmp_path / "h.json").write_text(json.dumps(d))
    pts, vis, src = read_landmarks_file(tmp_path / "h.json", (328, 954))   # same photo, twice the size
    assert vis[NAMES.index("left_ankle")] == 0 and pts[NAMES.index("left_ankle"), 1] == 1200 and src == "template"


def test_dance_checks_landmarks_before_any_work(tmp_path):
    from magicdance_core.jobs.pipeline import DanceOptions, check_dance_inputs

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"landmarks": {"nose": [1, 2]}}))
    with pytest.raises(BadInput, match=r"--landmarks bad.json: 1 problem: missing joints: left_eye_inner"):
        check_dance_inputs(EX / "song.ogg", DRAWING, tmp_path / "v.mp4", DanceOptions(landmarks=str(bad)))


def _stick_figure(arms_out: bool):
    """A drawn figure on white: round head, body, arms out or down, two legs apart."""
    import cv2

    img = np.full((400, 300, 3), 255, np.uint8)
    c = (200, 60, 40)
    cv2.circle(img, (150, 60), 35, c, -1)
    cv2.rectangle(img, (140, 90), (160, 110), c, -1)                 # neck
    cv2.rectangle(img, (110, 110), (190, 230), c, -1)                # body
    if arms_out:
        cv2.rectangle(img, (30, 115), (270, 135), c, -1)
    else:
        cv2.rectangle(img, (90, 115), (108, 225), c, -1)
        cv2.rectangle(img, (192, 115), (210, 225), c, -1)
    cv2.rectangle(img, (115, 230), (140, 370), c, -1)                # the figure's right leg (image left)
    cv2.rectangle(img, (160, 230), (185, 370), c, -1)
    return img


@pytest.mark.parametrize("arms_out", [True, False])
def test_template_skeleton_follows_the_silhouette(arms_out):
    from magicdance_core.photo.template import figure_mask, template_skeleton

    img = _stick_figure(arms_out)
    m = figure_mask(img)
    truth = (img != 255).any(axis=2)
    assert m is not None and ((m > 0.5) == truth).mean() > 0.97
    P, vis = template_skeleton(m)
    J = dict(zip(NAMES, P))
    assert vis.min() == 1.0
    assert 25 < J["nose"][1] < 95 and 100 < J["left_shoulder"][1] < 160          # head, then shoulders
    assert J["left_knee"][0] > 150 > J["right_knee"][0] and J["left_ankle"][1] > 330   # on the two legs
    if arms_out:
        assert J["left_wrist"][0] > 230 and J["right_wrist"][0] < 70 and abs(J["left_wrist"][1] - 125) < 25
    else:
        assert 190 <= J["left_wrist"][0] <= 212 and J["left_wrist"][1] > 180
    assert all(m[int(y), int(x)] > 0.5 for x, y in P)          # every joint on the figure it found


def test_a_landscape_is_no_figure():
    from magicdance_core.photo.template import figure_mask

    y = np.linspace(0, 1, 300)[:, None, None]
    img = (np.array([120, 170, 230]) * (1 - y) + np.array([60, 140, 60]) * y) * np.ones((1, 400, 1))
    img[180:] = (70, 120, 50)
    assert figure_mask(np.clip(img, 0, 255).astype(np.uint8)) is None
