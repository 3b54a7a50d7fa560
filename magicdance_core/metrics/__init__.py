"""Motion metrics (see docs/metrics.md for formulas and protocols).

Every function takes world joints (T,24,3) in metres, Y up, at ``fps`` (30),
and music beats in seconds where relevant.
"""

from .beats import (beat_align_bailando, beat_align_fact, beat_interval_tempo, joint_speed,
                    kinematic_beats_bailando, kinematic_beats_fact, movement_tempo, tempo_follows)
from .distribution import diversity, div_g, div_k, fid_g, fid_k, frechet_distance
from .features import geometric_features, kinetic_features
from .limits import joint_limit_violations
from .physical import floor_skate, foot_skate_ratio, ground_penetration, jerk, pfc

__all__ = [
    "beat_align_bailando", "beat_align_fact", "beat_interval_tempo", "joint_speed", "kinematic_beats_bailando",
    "kinematic_beats_fact", "movement_tempo", "tempo_follows", "diversity", "div_g", "div_k", "fid_g", "fid_k",
    "frechet_distance", "geometric_features", "kinetic_features", "joint_limit_violations",
    "floor_skate", "foot_skate_ratio", "ground_penetration", "jerk", "pfc",
]
