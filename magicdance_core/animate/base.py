"""One animator interface: photo rig + the dancer's joints (+ guidance passes) -> frames.

The built-in surface animator (:mod:`.surface`, the default), the older puppet (:mod:`.puppet`)
and the diffusion animator (:mod:`.diffusion`,
MagicAnimate-compatible, the user's weights) all implement :class:`Animator`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional

import numpy as np

from ..errors import BadInput
from ..progress import ProgressFn


@dataclass
class DancerInput:
    """The dancer as the camera aligned to the photo sees it, in the photo's pixels."""
    joints2d: np.ndarray              # (T,24,2) projected SMPL joints, photo pixels
    depth: np.ndarray                 # (T,24) camera depth in metres (smaller = nearer)
    joints3d: np.ndarray              # (T,24,3) world joints (SMPL frame)
    focal_px: float                   # the aligned camera's focal length (photo pixels)
    fps: float = 30.0
    passes_dir: Optional[Path] = None  # guidance passes (DensePose etc.) if rendered
    # the dance on the body fitted to the photo (animate.dancer.dancer_from_fit), when known:
    poses: Optional[np.ndarray] = None      # (T,24,3) local rotations of the fitted body
    trans: Optional[np.ndarray] = None      # (T,3) its pelvis
    camera: Optional[object] = None         # the video's camera (the passes were rendered with it)
    placement: Optional[object] = None      # animate.placement.Placement: photo px -> video px
    fit: Optional[object] = None            # body.fit.BodyFit

    def __post_init__(self):
        T = len(self.joints2d)
        if self.joints2d.shape != (T, 24, 2) or self.depth.shape != (T, 24) or T == 0:
            raise BadInput(f"dancer joints must be (T,24,2) with T > 0, got {self.joints2d.shape}")

    @property
    def num_frames(self) -> int:
        return len(self.joints2d)


@dataclass
class AnimateOptions:
    size: int = 512                   # long side of the output, pixels
    extra: dict = field(default_factory=dict)


class Animator(abc.ABC):
    """``animate(rig, dancer, options, progress)`` yields RGB uint8 frames: the size of
    ``dancer.placement`` when it is given (the photo's framing), else (size, size, 3)."""

    name: str = "?"

    def check(self) -> None:
        """Cheap checks of the animator's own inputs (weights, settings), before the job's heavy stages."""

    def key(self) -> dict:
        """What, besides the dance and the photo, changes this animator's frames (part of the job's key)."""
        return {}

    @abc.abstractmethod
    def prepare(self, photo, options: AnimateOptions):
        """Build the animator's rig/conditioning from a PhotoAnalysis (cached by the job)."""

    @abc.abstractmethod
    def animate(self, rig, dancer: DancerInput, options: AnimateOptions,
                progress: Optional[ProgressFn] = None) -> Iterator[np.ndarray]:
        """Frames, one per dancer frame."""


_REGISTRY: Dict[str, Callable[[], Animator]] = {}


def register(name: str):
    def deco(factory):
        _REGISTRY[name] = factory
        return factory
    return deco


def get_animator(name: str = "surface", **kwargs) -> Animator:
    from . import diffusion, puppet, surface  # noqa: F401  (register themselves)

    if name not in _REGISTRY:
        raise BadInput(f"unknown animator {name!r}; one of: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**kwargs)


def available() -> list:
    from . import diffusion, puppet, surface  # noqa: F401

    return sorted(_REGISTRY)
