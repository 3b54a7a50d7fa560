"""The main job: a song and one photo in, a dance video of that person out.

Stages, each skipped on a re-run when its inputs (hashes) and options did not change:
  photo (photo/) -> fit (photo/body_fit.json) -> analyze (music.json) -> motion (motion.npz)
  -> scene (scene.blend) -> passes (passes/) -> animate (video.mp4, music muxed while encoding)
  -> mux (OUT.mp4)
The fit stage fits the body (pose, proportions, camera) to the photo; the passes and the video
are both rendered from that body dancing, seen by the fit's camera through the job's framing
(animate.placement: the photo's aspect ratio, or --crop around the person), so the DensePose
pass shows where the video shows the person. The scene and passes are products for the user and
the diffusion animator; the CPU animators need neither, so if the Blender side or the passes
fail the job warns and still makes the video.
"""

from __future__ import annotations

import functools
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .. import FPS, __version__
from ..errors import BadInput, Cancelled, MagicDanceError
from ..fileio import PathLike, atomic_path, require_file, sha256_file
from ..progress import ProgressFn, null_progress
from .folder import JobFolder, key_of

STAGES = ("photo", "fit", "analyze", "motion", "scene", "passes", "animate", "mux")
PASSES_ALL = "densepose,iuv,semantic,depth,normal,mask,skeleton,keypoints"


@dataclass
class DanceOptions:
    style: Optional[str] = None
    seed: int = 0
    size: int = 512
    yaw_limit_deg: float = 30.0
    # The shipped diffusion model ("choreo": the procedural choreographer, the fallback when no
    # checkpoint exists); benchmarks/motion/RESULTS.md compares the two.
    generator: str = "model"
    travel_limit_m: float = 0.15   # pelvis stays within ~this of where the photo's person stands
    # The dance pipeline's clean-up preset (motion/cleanup.py); "stage" adds the two limits above.
    cleanup: str = "stage"
    # the CPU animator on the fitted body (benchmarks/dance/RESULTS.md decides the default)
    animator: str = "surface"
    animator_weights: Optional[str] = None
    animator_steps: Optional[int] = None       # diffusion animator: denoising steps (None: its config)
    animator_guidance: Optional[float] = None  # diffusion animator: guidance scale (None: its config)
    face_weights: Optional[str] = None         # diffusion animator: MagicDance face attention (.safetensors)
    scene: bool = True
    passes: str = "densepose"      # "" = none; MagicAnimate's driving pass by default
    crop: bool = False             # frame the video around the person instead of the whole photo
    landmarks: Optional[str] = None  # the user's joints (photo/landmarks_file.py) instead of detection
    snap_to_beat: bool = False     # retime the dance onto the beats (motion/beatsync.py) after sampling


@dataclass
class DanceResult:
    video: Path
    job: Path
    ran: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)


def default_job_dir(out: Path) -> Path:
    return out.with_name(out.stem + ".job")


PHOTO_TEMPLATE = "landmarks_edit.json"   # the skeleton to edit when the photo shows no person (a drawing)
JOB_WRITES = ("job.json", "music.json", "music.features.npz", "motion.npz", "scene.blend", "video.mp4")


# folders a stage replaces whole (written beside, then swapped in)
JOB_FOLDERS = ("photo", "passes")


def check_job_folder(job: Path, flag: str, inputs) -> None:
    """The job folder can be written and what the job writes there overwrites none of ``inputs``
    ({flag: path}): neither a file it writes nor anything inside a folder it replaces."""
    import os

    from ..checks import check_output

    check_output(job, flag, folder=True, inputs=inputs, writes=JOB_WRITES)
    items = inputs.items() if isinstance(inputs, dict) else inputs
    for fl, p in items:
        if p is None or str(p) == "":
            continue
        real = os.path.realpath(p)
        for sub in JOB_FOLDERS:
            d = os.path.realpath(job / sub)
            if real == d or real.startswith(d + os.sep):
                raise BadInput(f"{flag} {job}: the job replaces its {sub}/ folder, which holds the input {fl} "
                               f"({p}): choose another job folder or move the input")


def check_dance_inputs(music: PathLike, photo: PathLike, out: PathLike, opt: DanceOptions,
                       job_dir: Optional[PathLike] = None, motion_file: Optional[PathLike] = None) -> tuple:
    """Every input of the job checked before any work, each mistake one line naming its flag:
    the song and photo open, the options are in range, OUT and the job folder can be written and
    overwrite no input. Returns (music, photo, out, job_dir) as Paths."""
    from ..checks import (check_choice, check_input_file, check_number, check_output, check_photo, check_seed,
                          check_song)
    from ..passes.sequence import parse_passes

    music = check_input_file(music, "--music", "song")
    photo = check_input_file(photo, "--photo", "photo")
    inputs = {"--music": music, "--photo": photo, "--landmarks": opt.landmarks, "--face-weights": opt.face_weights,
              "--animator-weights": opt.animator_weights}
    out = check_output(out, "-o", inputs={**inputs, "--motion": motion_file}, suffixes=(".mp4",))
    job = Path(job_dir) if job_dir else default_job_dir(out)
    # (a --motion inside the job folder is fine: the job's own motion.npz, e.g. an edited take)
    check_job_folder(job, "--job", {**inputs, "-o": out})
    if motion_file is not None:
        check_input_file(motion_file, "--motion", "motion file")
    check_seed(opt.seed, "--seed")
    if int(check_number(opt.size, "--size", 128, 2048, integer=True)) % 2:
        raise BadInput(f"--size must be an even number of pixels in 128..2048, got {opt.size}")
    check_choice(opt.generator, "--generator", ("model", "choreo"), "generator")
    if opt.yaw_limit_deg is not None:
        check_number(opt.yaw_limit_deg, "--yaw-limit", 0, 180)
    if opt.travel_limit_m is not None:
        check_number(opt.travel_limit_m, "--travel-limit", 0, 10)
    if opt.style is not None:
        from ..choreo.styles import STYLES

        check_choice(opt.style, "--style", sorted(STYLES), "style")
    from ..motion.cleanup import check_preset

    check_preset(opt.cleanup)
    if opt.passes:
        try:
            parse_passes(opt.passes)
        except BadInput as e:
            raise BadInput(f"--passes: {e}") from None
    from ..animate.base import available

    check_choice(opt.animator, "--animator", available(), "animator")
    # the diffusion animator's sampling options by their flags, before its weights are looked at
    # (the ranges are the animator's own, from its config module)
    from ..animate.diffusion.config import RANGES

    if opt.animator_steps is not None:
        check_number(opt.animator_steps, "--steps", *RANGES["num_inference_steps"], integer=True)
    if opt.animator_guidance is not None:
        check_number(opt.animator_guidance, "--guidance", *RANGES["guidance_scale"])
    # The files themselves, cheaply (header / one decode), before the song is analysed.
    loaded = check_photo(photo, "--photo")
    if opt.landmarks:
        from ..photo.landmarks_file import read_landmarks_file

        read_landmarks_file(check_input_file(opt.landmarks, "--landmarks", "landmarks JSON"), loaded.original_size)
    check_song(music, "--music")
    return music, photo, out, job


def make_animator(opt: DanceOptions):
    """The job's animator, with the options that belong to it (checked when the job starts)."""
    from ..animate.base import get_animator

    if opt.animator == "diffusion":
        if opt.crop:
            raise BadInput("--crop frames the CPU animators' video; the diffusion animator shows the whole photo")
        if "densepose" not in (opt.passes or ""):
            raise BadInput("the diffusion animator is driven by the densepose pass: keep --passes densepose")
        return get_animator("diffusion", weights=opt.animator_weights, steps=opt.animator_steps,
                            guidance=opt.animator_guidance, face_weights=opt.face_weights)
    if opt.animator_steps is not None or opt.animator_guidance is not None or opt.face_weights is not None:
        raise BadInput("--steps, --guidance and --face-weights are settings of the diffusion animator "
                       "(--animator diffusion)")
    return get_animator(opt.animator)


def motion_checkpoint_sha(generator: str) -> Optional[str]:
    """sha256 of the motion checkpoint ``generator`` dances with (None: the choreographer)."""
    from ..motion.pipeline import DEFAULT_CHECKPOINT

    if generator != "model" or not DEFAULT_CHECKPOINT.is_file():
        return None
    st = DEFAULT_CHECKPOINT.stat()
    return _sha_of_version(str(DEFAULT_CHECKPOINT), st.st_mtime_ns, st.st_size)


def motion_sampling_sha(generator: str) -> Optional[str]:
    """sha256 of the checkpoint's sampling settings file (None: none, or the choreographer)."""
    from ..motion.pipeline import DEFAULT_CHECKPOINT
    from ..motion.sampling import sampling_path

    side = sampling_path(DEFAULT_CHECKPOINT)
    if generator != "model" or not side.is_file():
        return None
    st = side.stat()
    return _sha_of_version(str(side), st.st_mtime_ns, st.st_size)


def motion_limits(opt: DanceOptions) -> dict:
    """The job's facing and travel limits as the pipeline's settings (None: off)."""
    out = {"yaw_limit": 0.0 if opt.yaw_limit_deg is None else float(opt.yaw_limit_deg),
           "travel_limit": 0.0 if opt.travel_limit_m is None else float(opt.travel_limit_m)}
    if opt.snap_to_beat:
        out["beat_sync"] = 1.0
    return out


@functools.lru_cache(maxsize=4)
def _sha_of_version(path: str, mtime_ns: int, size: int) -> str:
    # a batch asks once per row: hash each version of the file once
    return sha256_file(path)


def run_dance(music: PathLike, photo: PathLike, out: PathLike, options: Optional[DanceOptions] = None,
              job_dir: Optional[PathLike] = None, progress: Optional[ProgressFn] = None,
              log: Callable[[str], None] = lambda s: None, motion_file: Optional[PathLike] = None) -> DanceResult:
    """Run (or resume) the job; ``motion_file``: use this dance (e.g. an edited Blender take)
    instead of generating one.

    One process at a time works in a job folder (a lock file); what a killed run left there
    (temp files, half stages) is removed first, and job.json ends "done", "failed" or "cancelled".
    """
    opt = options or DanceOptions()
    music, photo, out, job_root = check_dance_inputs(music, photo, out, opt, job_dir, motion_file)
    animator = make_animator(opt)
    animator.check()       # the animator's own needs (weights folder, ...) before any work
    if not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    job = JobFolder(job_root)
    with job.locked():
        try:
            return _run_job(job, music, photo, out, opt, animator, progress or null_progress, log, motion_file)
        except (KeyboardInterrupt, Cancelled):
            job.finish("cancelled")
            raise
        except BaseException as e:
            job.finish("failed", error=str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)
            raise


def _run_job(job: JobFolder, music: Path, photo: Path, out: Path, opt: DanceOptions, animator, prog: ProgressFn,
             log: Callable[[str], None], motion_file: Optional[PathLike]) -> DanceResult:
    music_sha, photo_sha = sha256_file(music), sha256_file(photo)
    inputs = dict(music=dict(path=str(music.resolve()), sha256=music_sha),
                  photo=dict(path=str(photo.resolve()), sha256=photo_sha))
    ckpt_sha = motion_checkpoint_sha(opt.generator)
    if ckpt_sha:
        # the sampling file too: same weights, other sampling settings, another dance (batch resume)
        inputs["motion_checkpoint"] = dict(sha256=ckpt_sha, sampling_sha256=motion_sampling_sha(opt.generator))
    job.set_inputs(inputs, asdict(opt))
    job.data["status"] = "running"
    job.save()
    res = DanceResult(video=out, job=job.root)
    state: dict = {}

    def stage(name: str, key_obj, outputs, fn, optional: bool = False):
        key = key_of(dict(k=key_obj, v=__version__))
        if job.is_done(name, key, outputs):
            res.skipped.append(name)
            prog(name, 1.0, "up to date (skipped)")
            return key
        job.mark(name, "running", key)
        t0 = time.monotonic()
        sub = lambda _s, f, m="": prog(name, min(float(f), 0.99), m)  # noqa: E731  one bar per job stage
        try:
            prog(name, 0.0, "")
            fn(sub)
        except (KeyboardInterrupt, Cancelled):
            job.mark(name, "cancelled")
            raise
        except MagicDanceError as e:
            if not optional:
                job.mark(name, "failed", error=str(e))
                raise
            job.mark(name, "failed", error=str(e))
            res.warnings.append(f"{name} stage skipped: {e}")
            log(f"warning: {name} stage skipped: {e}")
            return None
        except Exception as e:  # a bug in an optional product must not cost the user the video
            if not optional:
                job.mark(name, "failed", error=f"{type(e).__name__}: {e}")
                raise
            job.mark(name, "failed", error=f"{type(e).__name__}: {e}")
            res.warnings.append(f"{name} stage skipped: {type(e).__name__}: {e}")
            log(f"warning: {name} stage skipped: {type(e).__name__}: {e}")
            return None
        res.seconds[name] = round(time.monotonic() - t0, 2)
        job.mark(name, "done", key, seconds=res.seconds[name])
        res.ran.append(name)
        prog(name, 1.0, f"{res.seconds[name]:.1f} s")
        return key

    # -- photo --------------------------------------------------------------------------------
    def do_photo(p):
        from ..checks import photo_error
        from ..photo.analyze import analyze_photo

        tmp = job.path("photo.part")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            analyze_photo(photo, out_dir=tmp, progress=p, landmarks=opt.landmarks,
                          template_out=job.path(PHOTO_TEMPLATE))
        except BadInput as e:  # (its messages call the photo PHOTO: here it is --photo)
            raise photo_error(e, "--photo") from None
        shutil.rmtree(job.path("photo"), ignore_errors=True)
        tmp.rename(job.path("photo"))

    photo_key = dict(photo=photo_sha)
    if opt.landmarks:  # (only then: a job made before --landmarks existed keeps its key)
        photo_key["landmarks"] = sha256_file(opt.landmarks)
    k_photo = stage("photo", photo_key, ["photo/landmarks.json", "photo/background.png"], do_photo)
    from ..photo.analyze import PhotoAnalysis

    pa = PhotoAnalysis.load(job.path("photo"))
    for w in pa.warnings:
        if w not in res.warnings:
            res.warnings.append(w)
            log(f"warning: {w}")

    # -- fit: the body and camera fitted to the photo --------------------------------------------
    def do_fit(p):
        from ..body.fit import fit_body

        fit_body(pa, progress=p).save(job.path("photo/body_fit.json"))

    k_fit = stage("fit", dict(photo=k_photo), ["photo/body_fit.json"], do_fit)
    from ..animate.placement import make_placement
    from ..body.fit import BodyFit

    fit = BodyFit.load(job.path("photo/body_fit.json"))
    placement = make_placement(pa, opt.size, opt.crop)

    # (the photo first: a photo with nobody in it is refused before the minute the song takes)
    # -- analyze ------------------------------------------------------------------------------
    def do_analyze(p):
        from ..audio.analysis import analyze_music

        analyze_music(music, progress=p).to_json(job.path("music.json"))

    k_music = stage("analyze", dict(music=music_sha), ["music.json"], do_analyze)

    def analysis():
        if "analysis" not in state:
            from ..audio.analysis import MusicAnalysis

            state["analysis"] = MusicAnalysis.from_json(job.path("music.json"))
        return state["analysis"]

    # -- motion -------------------------------------------------------------------------------
    def do_motion(p):
        from ..body.motion_file import save_motion
        from ..motion.pipeline import DancePipeline

        # the same pipeline as 'magicdance motion' and the add-on; the stage limits are chain steps
        pipe = DancePipeline.from_pretrained(generator=opt.generator)
        m = pipe(analysis(), style=opt.style, seed=int(opt.seed), cleanup=opt.cleanup, progress=p,
                 **motion_limits(opt))
        save_motion(m, job.path("motion.npz"))

    if motion_file is not None:
        mf = require_file(motion_file, "motion file")

        def do_motion_file(p):
            from ..body.motion_file import load_motion, save_motion

            m = load_motion(mf)  # validates
            if mf.resolve() != job.path("motion.npz").resolve():
                save_motion(m, job.path("motion.npz"))

        k_motion = stage("motion", dict(file=sha256_file(mf)), ["motion.npz"], do_motion_file)
    else:
        # a new checkpoint (or its sampling settings) dances differently: part of the key
        k_motion = stage("motion", dict(music=k_music, style=opt.style, seed=opt.seed, yaw=opt.yaw_limit_deg,
                                               travel=opt.travel_limit_m, generator=opt.generator, checkpoint=ckpt_sha,
                                               cleanup=opt.cleanup, sampling=motion_sampling_sha(opt.generator),
                                               **({"snap": True} if opt.snap_to_beat else {})),
                         ["motion.npz"], do_motion)
    from ..body.motion_file import load_motion

    motion = load_motion(job.path("motion.npz"))

    # -- scene (Blender, optional product) ----------------------------------------------------
    if opt.scene:
        def do_scene(p):
            from .scene_stage import build_scene_file

            p("scene", 0.1, "Blender")
            build_scene_file(music, job.path("motion.npz"), job.path("scene.blend"), progress=p,
                             landmarks=job.path("photo/landmarks.json"))

        stage("scene", dict(motion=k_motion, music=music_sha, photo=k_photo), ["scene.blend"], do_scene,
              optional=True)

    # -- passes (optional product; the diffusion animator's input) -----------------------------
    passes_dir = k_passes = None
    if opt.passes:
        def do_passes(p):
            from ..animate.dancer import dance_for_fit
            from ..passes.api import render_fitted_passes

            tmp = job.path("passes.part")
            shutil.rmtree(tmp, ignore_errors=True)
            poses, trans = dance_for_fit(motion, fit)
            render_fitted_passes(poses, trans, fit, placement.camera(fit.camera), tmp, passes=opt.passes,
                                 fps=float(motion.fps or FPS), progress=p,
                                 extra=dict(placement=placement.to_dict(), photo_size=list(pa.size)))
            shutil.rmtree(job.path("passes"), ignore_errors=True)
            tmp.rename(job.path("passes"))

        k_passes = stage("passes", dict(motion=k_motion, photo=k_photo, fit=k_fit, size=opt.size, crop=opt.crop,
                                        passes=opt.passes), ["passes"], do_passes, optional=True)
        if k_passes:
            passes_dir = job.path("passes")

    # -- animate (frames stream into the encoder, the music is muxed as it goes) ----------------
    def do_animate(p):
        from ..animate.base import AnimateOptions
        from ..animate.dancer import dancer_from_fit
        from ..video.writer import write_video

        # work_dir: where an animator may keep what resumes it (the diffusion animator's sampling state)
        aopt = AnimateOptions(size=int(opt.size), extra=dict(seed=int(opt.seed), work_dir=str(job.root), fit=fit))
        rig = animator.prepare(pa, aopt)
        dancer = dancer_from_fit(motion, fit, placement, passes_dir=passes_dir)
        frames = animator.animate(rig, dancer, aopt, progress=lambda s, f, m="": p(s, 0.98 * f, m))
        write_video(frames, job.path("video.mp4"), fps=float(motion.fps or FPS), audio_path=music,
                    n_frames=dancer.num_frames)

    anim_key = dict(motion=k_motion, photo=k_photo, fit=k_fit, size=opt.size, crop=opt.crop, animator=opt.animator)
    if animator.key():  # an animator driven by the passes (diffusion) also depends on them and its settings
        anim_key.update(passes=k_passes, seed=opt.seed, settings=animator.key())
    k_anim = stage("animate", anim_key, ["video.mp4"], do_animate)

    # -- mux: the finished video to OUT (atomic) ------------------------------------------------
    def do_mux(p):
        with atomic_path(out) as tmp:
            shutil.copyfile(job.path("video.mp4"), tmp)

    stage("mux", dict(video=k_anim, out=str(out.resolve())), [str(out.resolve())], do_mux)
    job.data["output"] = str(out.resolve())
    job.finish("done")
    return res
