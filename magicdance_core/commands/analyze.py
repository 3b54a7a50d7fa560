"""``magicdance analyze SONG``: beats, downbeats, tempo and 30 fps features -> music.json (+ plot)."""

from __future__ import annotations

from pathlib import Path

NAME = "analyze"
HELP = "analyse a song: tempo, beats, downbeats, 30 fps features (music.json) and an optional plot"
DESCRIPTION = (
    "Decode SONG (wav, flac, ogg, mp3, m4a/aac; 2 s to 20 min), track tempo, beats and bars, and "
    "write music.json with the per-frame features (.features.npz) beside it."
)


def add_arguments(p) -> None:
    p.add_argument("song", help="audio file")
    p.add_argument("--json", dest="json_out", default=None,
                   help="where to write music.json (default: ./<song-stem>.music.json)")
    p.add_argument("--plot", default=None, help="also write a PNG plot: waveform, onset strength, beats, bars")


def plot_analysis(analysis, samples, sr, out_png) -> Path:
    """Waveform, onset strength, beats (thin) and downbeats (thick) on one time axis; atomic PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ..fileio import atomic_path

    dur = analysis.duration_s
    width = float(np.clip(dur / 3.0, 10, 40))  # ~3 s per inch keeps beats apart on long songs
    fig, (ax_w, ax_o) = plt.subplots(2, 1, figsize=(width, 5), sharex=True, gridspec_kw={"height_ratios": [1, 1]})
    # Envelope of the waveform (min/max per pixel column) instead of every sample: fast and readable.
    cols = 4000
    n = samples.size // cols * cols
    if n >= cols:
        blk = samples[:n].reshape(cols, -1)
        t = (np.arange(cols) + 0.5) * (n / cols) / sr
        ax_w.fill_between(t, blk.min(axis=1), blk.max(axis=1), color="0.45", lw=0)
    else:
        ax_w.plot(np.arange(samples.size) / sr, samples, color="0.45", lw=0.5)
    ax_w.set_ylabel("waveform")
    t_f = np.arange(analysis.onset_env.size) / analysis.fps
    ax_o.plot(t_f, analysis.onset_env, color="tab:blue", lw=0.8, label="onset strength")
    ax_o.plot(t_f, analysis.rms / max(float(analysis.rms.max()), 1e-9), color="tab:green", lw=0.8, alpha=0.7, label="RMS (scaled)")
    for ax in (ax_w, ax_o):
        ax.vlines(analysis.beats_s, 0, 1, transform=ax.get_xaxis_transform(), color="tab:orange", lw=0.6, alpha=0.8)
        ax.vlines(analysis.downbeats_s, 0, 1, transform=ax.get_xaxis_transform(), color="tab:red", lw=1.8)
    ax_o.plot([], [], color="tab:orange", label="beats")
    ax_o.plot([], [], color="tab:red", lw=1.8, label="downbeats (bar starts)")
    ax_o.legend(loc="upper right", fontsize=8, ncol=4)
    ax_o.set_xlabel("time (s)")
    ax_o.set_xlim(0, dur)
    fig.suptitle(f"{analysis.source or 'music'} - {analysis.tempo_bpm:.1f} BPM, {analysis.meter}/4, "
                 f"{len(analysis.beats_s)} beats, {dur:.1f} s")
    fig.tight_layout()
    out_png = Path(out_png)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return out_png


def run(args, progress) -> int:
    from ..audio.analysis import TRACK_SR, analyze_samples, features_path
    from ..audio.decode import load_audio
    from ..fileio import sha256_file

    from ..checks import check_distinct, check_output, check_song

    song = check_song(args.song, "SONG")
    out = Path(args.json_out) if args.json_out else Path.cwd() / f"{song.stem}.music.json"
    inputs = {"SONG": song}
    check_output(out, "--json", inputs=inputs, suffixes=(".json",))
    check_output(features_path(out), "--json (its features file)", inputs=inputs)
    outputs = {"--json": out, "--json (its features file)": features_path(out)}
    if args.plot:
        outputs["--plot"] = check_output(args.plot, "--plot", inputs=inputs, suffixes=(".png",))
    check_distinct(outputs)
    y, sr = load_audio(song, sr=TRACK_SR, progress=progress)
    import av

    with av.open(str(song)) as c:
        source_sr = c.streams.audio[0].codec_context.sample_rate
    analysis = analyze_samples(y, sr, source_sr=source_sr, progress=progress)
    analysis.source = song.name
    analysis.source_sha256 = sha256_file(song)
    if args.plot:
        plot_analysis(analysis, y, sr, args.plot)
    analysis.to_json(out)
    print(f"{out}  ({analysis.tempo_bpm:.1f} BPM, {analysis.meter}/4, {len(analysis.beats_s)} beats, "
          f"{len(analysis.downbeats_s)} bars; features: {features_path(out).name})")
    if args.plot:
        print(args.plot)
    return 0
