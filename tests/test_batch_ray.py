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
    assert any("row 2: error: --music: song not found" in l for l in lines)
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


def test_resume_redoes_rows_danced_by_another_generator_or_checkpoint(tmp_path):
    """A finished job from before the model became the default (or from another checkpoint)
    is not skipped: its dance is not what this version would make."""
    from magicdance_core.fileio import sha256_file
    from magicdance_core.jobs.batch import Row, finished
    from magicdance_core.jobs.pipeline import default_job_dir, motion_checkpoint_sha, motion_sampling_sha

    music, photo, out = EX / "song.ogg", EX / "astronaut.jpg", tmp_path / "a.mp4"
    out.write_bytes(b"video")
    row = Row(1, str(music), str(photo), None, 3, str(out), None)
    job = default_job_dir(out)
    job.mkdir()

    def write(generator, ckpt, sampling=None, **options):
        inputs = {"music": {"sha256": sha256_file(music)}, "photo": {"sha256": sha256_file(photo)}}
        if ckpt:
            inputs["motion_checkpoint"] = {"sha256": ckpt, "sampling_sha256": sampling}
        (job / "job.json").write_text(json.dumps({"status": "done", "inputs": inputs,
                                                  "options": {"style": None, "seed": 3, "generator": generator,
                                                              **options}}))

    write("model", motion_checkpoint_sha("model"), motion_sampling_sha("model"))
    assert finished(row)
    write("model", motion_checkpoint_sha("model"), None)        # danced with other sampling settings
    assert not finished(row)
    write("model", motion_checkpoint_sha("model"), motion_sampling_sha("model"), snap_to_beat=True)
    assert not finished(row)                                    # the row does not ask to snap to the beat
    row.snap_to_beat = True
    assert finished(row)
    row.snap_to_beat = False
    write("choreo", None)
    assert not finished(row)
    write("model", "0" * 64)
    assert not finished(row)


def test_manifest_snap_to_beat_column(tmp_path):
    from magicdance_core.jobs.batch import read_manifest, row_options

    (tmp_path / "m.csv").write_text(f"music,photo,snap_to_beat\n{EX / 'song.ogg'},{EX / 'astronaut.jpg'},yes\n"
                                    f"{EX / 'song.ogg'},{EX / 'astronaut.jpg'},\n"
                                    f"{EX / 'song.ogg'},{EX / 'astronaut.jpg'},maybe\n")
    a, b, c = read_manifest(tmp_path / "m.csv")
    assert row_options(a).snap_to_beat is True and row_options(b).snap_to_beat is False
    assert a.error is None and b.error is None and "snap_to_beat must be true or false" in c.error
