"""Batch on a local Ray: two tiny jobs and two bad rows; a re-run resumes."""

import json
from pathlib import Path

import pytest

EX = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow
def test_batch_local_ray(tmp_path):
    import soundfile

    from magicdance_core.audio.decode import load_audio
    from magicdance_core.jobs.batch import run_batch

    y, sr = load_audio(EX / "song.ogg")
    soundfile.write(tmp_path / "s.wav", y[: int(2.5 * sr)], sr)
    (tmp_path / "m.csv").write_text(
        "music,photo,style,seed,out\n"
        f"s.wav,{EX / 'astronaut.jpg'},,1,a.mp4\n"
        f"missing.wav,{EX / 'astronaut.jpg'},,0,b.mp4\n"
        f"s.wav,{EX / 'fireman.png'},,notanumber,c.mp4\n"
        f"s.wav,{EX / 'fireman.png'},,2,d.mp4\n")
    lines = []
    res = run_batch(tmp_path / "m.csv", num_cpus=2, size=128, log=lines.append)
    st = {r["row"]: r["status"] for r in res}
    assert st == {1: "done", 2: "error", 3: "error", 4: "done"}, res
    assert (tmp_path / "a.mp4").exists() and (tmp_path / "d.mp4").exists()
    assert not (tmp_path / "b.mp4").exists()
    assert any("music file not found" in l for l in lines)
    report = json.loads((tmp_path / "batch_report.json").read_text())
    assert len(report) == 4
    # re-run: finished rows are skipped without starting Ray
    res2 = run_batch(tmp_path / "m.csv", num_cpus=2, size=128, log=lines.append)
    assert {r["row"]: r["status"] for r in res2} == {1: "skipped", 2: "error", 3: "error", 4: "skipped"}


def test_manifest_errors(tmp_path, cli):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    r = cli("batch", tmp_path / "bad.csv")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("error: manifest bad.csv needs a header")
    r = cli("batch", tmp_path / "none.csv")
    assert r.returncode == 2 and "manifest not found" in r.stderr
