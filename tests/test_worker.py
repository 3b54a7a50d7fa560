"""The worker's JSON-lines protocol and generator plumbing (no bpy)."""

from __future__ import annotations

import io
import json

import numpy as np

from magicdance_core.audio.analysis import MusicAnalysis
from magicdance_core.body.fk import forward_kinematics
from magicdance_core.body.motion_file import Motion
from magicdance_core.body.skeleton import CONTACT_JOINTS
from magicdance_core.worker import protocol
from magicdance_core.worker.generate import generate_motion, slice_analysis


def _serve(*lines):
    out = io.StringIO()
    protocol.serve(io.StringIO("".join(lines)), out)
    return [json.loads(x) for x in out.getvalue().splitlines()]


def test_protocol_ping_check_and_errors(tmp_path):
    msgs = _serve('{"op":"ping"}\n', "\n", "not json\n", '{"op":"nope"}\n', '[1,2]\n',
                  json.dumps({"op": "generate", "music": str(tmp_path / "none.wav"), "out": str(tmp_path / "m.npz")}) + "\n",
                  '{"op":"generate"}\n', '{"op":"check"}\n')
    assert msgs[0] == {"type": "result", "pong": True}
    assert msgs[1]["type"] == "error" and msgs[1]["kind"] == "BadRequest"
    assert msgs[2]["type"] == "error" and "unknown op" in msgs[2]["message"]
    assert msgs[3]["type"] == "error"
    assert msgs[4]["type"] == "error" and msgs[4]["kind"] == "BadInput" and "none.wav" in msgs[4]["message"]
    assert msgs[5]["type"] == "error" and "needs 'music'" in msgs[5]["message"]
    rep = msgs[6]["report"]
    assert rep["ok"] and rep["missing"] == [] and "numpy" in rep["have"] and rep["have"]["generator"]
    assert not (tmp_path / "m.npz").exists()


def _analysis(seconds=6.0, bpm=120.0):
    n = int(seconds * 30)
    beats = np.arange(0, seconds, 60 / bpm)
    onehot = np.zeros(n, np.float32)
    onehot[np.rint(beats * 30).astype(int)[np.rint(beats * 30) < n]] = 1
    return MusicAnalysis(duration_s=seconds, sample_rate=22050, tempo_bpm=bpm, beats_s=beats,
                         downbeats_s=beats[::4], onset_env=onehot.copy(), rms=np.full(n, 0.1, np.float32),
                         edge35=np.zeros((n, 35), np.float32), beat_onehot=onehot, downbeat_onehot=onehot * 0)


def test_generate_through_protocol_writes_motion(tmp_path):
    a = _analysis()
    mj = tmp_path / "music.json"
    a.to_json(mj)
    out = tmp_path / "take.npz"
    msgs = _serve(json.dumps({"op": "generate", "music": str(mj), "out": str(out), "seed": 4}) + "\n")
    assert msgs[-1]["type"] == "result" and msgs[-1]["paths"]["motion"] == str(out)
    from magicdance_core.body.motion_file import load_motion

    m = load_motion(out)
    assert m.num_frames == a.n_frames and m.meta["seed"] == 4 and m.meta["generator"]
    ref = generate_motion(MusicAnalysis.from_json(mj), seed=4)
    np.testing.assert_allclose(m.poses, ref.poses, atol=1e-6)


def test_snap_to_beat_and_beat_pulse_reach_the_model_through_the_protocol(tmp_path):
    a = _analysis(seconds=8.0, bpm=90.0)
    mj = tmp_path / "music.json"
    a.to_json(mj)
    req = {"op": "generate", "music": str(mj), "seed": 2}
    snap = {**req, "snap_to_beat": True}
    msgs = _serve(json.dumps({**req, "out": str(tmp_path / "own.npz")}) + "\n",
                  json.dumps({**snap, "out": str(tmp_path / "p0.npz"), "beat_pulse": 0.0}) + "\n",
                  json.dumps({**snap, "out": str(tmp_path / "p5.npz"), "beat_pulse": 0.5}) + "\n",
                  json.dumps({**snap, "out": str(tmp_path / "bad.npz"), "beat_pulse": "lots"}) + "\n",
                  json.dumps({**snap, "out": str(tmp_path / "big.npz"), "beat_pulse": 3}) + "\n",
                  json.dumps({**req, "out": str(tmp_path / "flag.npz"), "snap_to_beat": "yes"}) + "\n")
    from magicdance_core.body.motion_file import load_motion

    errors = [x["message"] for x in msgs if x["type"] == "error"]
    assert len(errors) == 3 and "must be a number" in errors[0] and "'beat_pulse' must be between" in errors[1]
    assert "'snap_to_beat' must be true or false" in errors[2]
    for bad in ("bad", "big", "flag"):
        assert not (tmp_path / f"{bad}.npz").exists()
    own, p0, p5 = (load_motion(tmp_path / f"{n}.npz") for n in ("own", "p0", "p5"))
    assert own.meta["beat_sync"] == 0.0 and own.meta["beat_guidance"] > 0    # the model's own timing by default
    assert p0.meta["beat_sync"] == p5.meta["beat_sync"] == 1.0              # retimed when asked
    assert p0.meta["beat_pulse"] == 0.0 and p5.meta["beat_pulse"] == 0.5     # the shipped model ran
    assert np.abs(p0.poses - p5.poses).max() > 1e-3 and np.abs(own.poses - p0.poses).max() > 1e-3


def test_slice_analysis_shifts_beats_and_features():
    a = _analysis(10.0)
    s = slice_analysis(a, 2.0, 5.0)
    assert s.n_frames == 90 and s.duration_s == 3.0
    assert np.allclose(s.beats_s, np.arange(0, 3.0, 0.5))
    assert np.array_equal(s.beat_onehot, a.beat_onehot[60:150])
    m = generate_motion(a, seed=1, start_s=2.0, end_s=5.0)
    assert m.num_frames == 90


def test_build_constraints_from_locks():
    from magicdance_core.body.skeleton import JOINT_INDEX
    from magicdance_core.worker.generate import build_constraints

    T = 40
    rng = np.random.default_rng(0)
    ref = Motion(rng.normal(0, 0.2, (T, 24, 3)), np.tile([0, 0.97, 0], (T, 1)))
    lock = np.zeros((T, 24), bool)
    lock[5, JOINT_INDEX["left_elbow"]] = True
    cons = build_constraints(ref, lock, np.zeros(24, bool))
    assert cons.mask[5].any() and not cons.mask[np.arange(T) != 5].any()
    both = build_constraints(ref, lock, np.zeros(24, bool), edges=(True, True))
    assert both.mask[0].sum() > cons.mask[5].sum() and both.mask[T - 1].any() and not both.mask[20].any()
    keep = np.zeros(24, bool)
    keep[JOINT_INDEX["right_knee"]] = True
    k = build_constraints(ref, np.zeros((T, 24), bool), keep)
    assert k.mask.any(1).all()
    assert build_constraints(ref, np.zeros((T, 24), bool), np.zeros(24, bool)) is None
    # a locked pelvis location is the root position at that frame, rotations stay free
    root = np.zeros(T, bool)
    root[12] = True
    r = build_constraints(ref, np.zeros((T, 24), bool), np.zeros(24, bool), root_mask=root)
    assert r.mask[12, 4:7].all() and r.mask[12].sum() == 3 and not r.mask[np.arange(T) != 12].any()
    np.testing.assert_allclose(r.values[12, 4:7], ref.trans[12])
    assert both.mask[0, 4:7].all() and both.mask[T - 1, 4:7].all()   # the range's ends: where the take is


def test_passes_op(tmp_path):
    from magicdance_core.body.motion_file import save_motion

    T = 4
    save_motion(Motion(np.zeros((T, 24, 3)), np.tile([0, 0.97, 0], (T, 1))), tmp_path / "m.npz")
    msgs = _serve(json.dumps({"op": "passes", "motion": str(tmp_path / "m.npz"), "out": str(tmp_path / "p"),
                              "passes": "densepose", "size": 64, "video": False}) + "\n")
    res = msgs[-1]
    assert res["type"] == "result" and res["frames"] == T
    assert (tmp_path / "p" / "camera.json").exists() and res["paths"]["camera"].endswith("camera.json")
