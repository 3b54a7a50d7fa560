"""Establish beat annotations for the real excerpts (real_tracks.py) without listening.

Our own tracker takes no part (it is what gets scored). For each excerpt:

1. three independent trackers: essentia RhythmExtractor2013 "multifeature" (E1), essentia
   BeatTrackerDegara (E2), both run in their own venv (AGPL, never imported by MagicDance), and
   librosa's dynamic programme seeded with E1's tempo and a stiff tightness (L);
2. agreement: mir_eval F-measure (+-70 ms) of E2 and L against E1; a track is kept only if both
   are >= 0.90, i.e. all three trackers put the beats in the same places at the same level;
3. reference = E1's beats, each moved to the mean position of the beats the other trackers put
   within 50 ms of it (beats nobody confirms stay as E1 has them);
4. a click-overlay check in numbers: the mean of an independent onset envelope (librosa spectral
   flux, 2048-point) over the reference beats shifted by -80..+80 ms must peak within 30 ms of
   zero shift, and beats must stand out from the half-beat points between them.

Writes annotations/NAME.beats.txt and annotations/NAME.json (tempo, agreement, checks) for kept
tracks and prints a table of all of them.

    .venv/bin/python benchmarks/beats/annotate_real.py [--excerpts DIR] [--essentia-python PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

ESSENTIA = r"""
import json, sys
import essentia.standard as es
out = {}
for path in sys.argv[1:]:
    a = es.MonoLoader(filename=path, sampleRate=44100)()
    bpm, beats, conf, _, _ = es.RhythmExtractor2013(method="multifeature")(a)
    degara = es.BeatTrackerDegara()(a)
    out[path] = {"bpm": float(bpm), "conf": float(conf), "multifeature": [float(b) for b in beats],
                 "degara": [float(b) for b in degara]}
print(json.dumps(out))
"""


def refine(base, others, tol=0.05):
    ref = np.asarray(base, float).copy()
    for i, b in enumerate(ref):
        near = [o[np.argmin(np.abs(o - b))] for o in others if o.size and np.min(np.abs(o - b)) <= tol]
        ref[i] = np.mean([b] + near)
    return ref


def onset_checks(y, sr, beats):
    import librosa

    hop = 256
    env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop)
    env = env / (env.mean() + 1e-9)

    def mean_at(t):
        f = np.clip(np.round(np.asarray(t) * sr / hop).astype(int), 0, env.size - 1)
        return float(env[f].mean())

    shifts = np.arange(-0.08, 0.0801, 0.005)
    prof = np.array([mean_at(beats + s) for s in shifts])
    mids = (beats[1:] + beats[:-1]) / 2
    return {"best_shift_ms": round(float(shifts[prof.argmax()]) * 1000, 1),
            "beat_over_halfbeat": round(mean_at(beats) / max(mean_at(mids), 1e-9), 2)}


def main():
    import librosa
    import mir_eval

    import real_tracks

    ap = argparse.ArgumentParser()
    ap.add_argument("--excerpts", default="/tmp/realmusic/excerpts")
    ap.add_argument("--essentia-python", default="/tmp/essvenv/bin/python")
    a = ap.parse_args()
    wavs = real_tracks.extract(Path(a.excerpts))
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(ESSENTIA)
    res = subprocess.run([a.essentia_python, f.name, *map(str, wavs)], capture_output=True, text=True, check=True)
    ess = json.loads(res.stdout.strip().splitlines()[-1])
    real_tracks.ANNOTATIONS.mkdir(exist_ok=True)
    print("| track | E1 BPM | F(E2,E1) | F(L,E1) | onset peak shift ms | beat/half-beat onset | kept |")
    print("|---|---|---|---|---|---|---|")
    for t, wav in zip(real_tracks.TRACKS, wavs):
        e = ess[str(wav)]
        e1, e2 = np.array(e["multifeature"]), np.array(e["degara"])
        y, sr = librosa.load(wav, sr=22050)
        _, lb = librosa.beat.beat_track(y=y, sr=sr, start_bpm=e["bpm"], tightness=400, units="time")
        f2 = mir_eval.beat.f_measure(mir_eval.beat.trim_beats(e1), mir_eval.beat.trim_beats(e2))
        fl = mir_eval.beat.f_measure(mir_eval.beat.trim_beats(e1), mir_eval.beat.trim_beats(lb))
        ref = refine(e1, [e2, lb])
        chk = onset_checks(y, sr, ref)
        keep = f2 >= 0.9 and fl >= 0.9 and abs(chk["best_shift_ms"]) <= 30 and chk["beat_over_halfbeat"] > 1.0
        print(f"| {t.name} | {e['bpm']:.1f} | {f2:.3f} | {fl:.3f} | {chk['best_shift_ms']} | {chk['beat_over_halfbeat']} | {'yes' if keep else 'no'} |")
        txt = real_tracks.ANNOTATIONS / f"{t.name}.beats.txt"
        meta = real_tracks.ANNOTATIONS / f"{t.name}.json"
        if keep:
            txt.write_text("".join(f"{b:.3f}\n" for b in ref))
            meta.write_text(json.dumps({"track": t.name, "package": f"{t.package}={t.version}", "member": t.member,
                                        "excerpt_s": [t.start_s, t.dur_s], "licence": t.licence,
                                        "essentia_bpm": round(e["bpm"], 2), "f_degara_vs_multifeature": round(f2, 3),
                                        "f_librosa_seeded_vs_multifeature": round(fl, 3), **chk}, indent=1))
        else:
            txt.unlink(missing_ok=True)
            meta.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
