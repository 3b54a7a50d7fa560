"""Dance styles: which moves a style favours, how it sits on the beat, its comfortable tempo.

A move's weight in a style is ``base`` plus the weights of the move's tags plus
per-move overrides; moves whose meter does not fit the style's are excluded.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Style:
    name: str
    tags: dict                      # tag -> weight
    moves: dict = field(default_factory=dict)   # move name -> extra weight
    base: float = 0.15              # weight of any fitting move
    tempo: tuple = (85.0, 135.0)    # comfortable move-beats per minute (half/double time otherwise)
    sharp: float = 0.9              # easing: 1 stops dead on every key
    knee_bend: float = 0.03         # pelvis lowered for a soft-kneed stance (m)
    bounce: float = 0.03            # groove bounce on every music beat (m)
    bounce_down: bool = True        # True: lowest on the beat (hip-hop); False: up on the beat (house)
    amp: float = 1.0                # overall amplitude
    meter: int = 4                  # 3 = triple time (waltz)
    mocap: float = 0.4              # weight of retargeted mocap moves


STYLES: dict = {s.name: s for s in (
    Style("hiphop", {"hiphop": 2.0, "groove": 1.2, "popping": 1.0, "footwork": 0.6, "arms": 0.6, "jump": 0.3},
          {"stomp": 0.8, "running_man": 0.4}, tempo=(70, 112), sharp=1.0, knee_bend=0.06, bounce=0.045, bounce_down=True),
    Style("house", {"house": 2.5, "footwork": 1.5, "travel": 0.6, "groove": 0.5, "turn": 0.4, "kick": 0.5},
          {"shoulder_shimmy": 0.4}, tempo=(100, 135), sharp=0.85, knee_bend=0.05, bounce=0.04, bounce_down=False),
    Style("pop", {"pop": 2.0, "pose": 1.2, "arms": 0.9, "footwork": 0.7, "clap": 0.8, "turn": 0.3},
          {"hip_sway": 0.5}, tempo=(85, 130), sharp=0.9, knee_bend=0.03, bounce=0.03),
    Style("disco", {"disco": 2.5, "travel": 0.8, "clap": 0.8, "arms": 0.5, "turn": 0.3, "footwork": 0.4},
          {"hip_sway": 0.6, "point_and_pose": 0.6}, tempo=(95, 135), sharp=0.85, knee_bend=0.03, bounce=0.03, bounce_down=False),
    Style("waltz", {"waltz": 3.0, "turn": 0.3}, {"groove_bounce": 0.1}, base=0.0, tempo=(70, 200), sharp=0.55,
          knee_bend=0.02, bounce=0.015, meter=3, mocap=0.0),
    Style("ballet", {"ballet": 3.0, "arms": 0.3, "turn": 0.4}, {"arm_circle": 0.6, "plie_releve": 0.5}, base=0.03,
          tempo=(50, 110), sharp=0.6, knee_bend=0.01, bounce=0.012, mocap=0.2),
    Style("latin", {"latin": 3.0, "groove": 0.5, "footwork": 0.3}, {"shoulder_shimmy": 0.8, "hip_sway": 0.8},
          base=0.05, tempo=(85, 130), sharp=0.8, knee_bend=0.04, bounce=0.02),
)}


def get_style(name: str) -> Style:
    from ..errors import BadInput

    try:
        return STYLES[name]
    except KeyError:
        raise BadInput(f"unknown style {name!r}; choose one of: {', '.join(STYLES)}") from None
