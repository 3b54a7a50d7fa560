"""The move library: every procedural move, authored as key poses on beats (see :mod:`.moves`).

Conventions for reading the keys: ``L(dx, dz)``/``R(dx, dz)`` place the left/right
ankle relative to its neutral spot (+x = the dancer's left, +z = forward);
``A(elev, fwd, elbow, twist, wrist)`` is an arm (degrees, see :class:`.moves.Arm`).
Keys sit on beats or half-beats; a key on an integer beat is an accent.
"""

from __future__ import annotations

from .moves import ARM_DOWN, STANCE_X, STANCE_Z, Arm, Foot, Key, Move, stance, validate_move

A = Arm
K = Key


def L(dx=0.0, dz=0.0, lift=0.0, yaw=0.0, pitch=0.0) -> Foot:
    return Foot(STANCE_X + dx, STANCE_Z + dz, lift, yaw, pitch)


def R(dx=0.0, dz=0.0, lift=0.0, yaw=0.0, pitch=0.0) -> Foot:
    return Foot(-STANCE_X + dx, STANCE_Z + dz, lift, yaw, pitch)


# A few recurring arm shapes.
BENT = A(25, 25, 85)
CLAP = A(72, 78, 42)
OPEN = A(62, 40, 55)
HIP = A(35, -20, 95, 0, 10)
UP = A(165, 10, 10)
SIDE = A(90, 0, 5)
FRONT = A(90, 85, 5)
ROOF_LOW = A(95, 15, 100, -80)
ROOF_HIGH = A(160, 15, 15, -80)
FIRST = A(40, 65, 45)        # ballet first position
FIFTH = A(165, 25, 35)       # ballet fifth (crown)
SECOND = A(80, 15, 20)       # ballet second


def M(name, beats, keys, energy=0.5, tags=(), meter=4, accents=()) -> Move:
    move = Move(name, beats, tuple(keys), energy, frozenset(tags), meter, tuple(accents))
    validate_move(move)
    return move


def turn_steps(total: float, beats: int, steps: int, first: str = "R", start: float = 0.0, **pose):
    """Keys for a stepped turn of ``total`` deg: feet alternate into a stance that turns step by step."""
    keys = []
    feet = {"L": stance(0.0)[0], "R": stance(0.0)[1]}
    order = [first, "L" if first == "R" else "R"]
    for i in range(1, steps + 1):
        foot = order[(i - 1) % 2]
        h = total * min(i + 1, steps) / steps
        lf, rf = stance(h)
        feet[foot] = lf if foot == "L" else rf
        heading = (feet["L"].yaw + feet["R"].yaw) / 2.0
        keys.append(K(start + beats * i / steps, lf=feet["L"], rf=feet["R"], heading=heading, **pose))
    return keys


def _library():
    moves = []
    add = moves.append
    # ------------------------------------------------------------- footwork
    add(M("step_touch", 2, [K(0), K(1, rf=R(-0.22), drop=0.05, la=OPEN, ra=OPEN, head=(0, 0, -10)),
                            K(2, lf=L(-0.22), rf=R(-0.22), la=BENT, ra=BENT)], 0.3, {"footwork", "travel"}))
    add(M("side_to_side", 4, [K(0), K(1, rf=R(-0.2), drop=0.04, torso=(0, 6, 0), la=A(40, 10, 60), ra=A(30, 30, 40)),
                              K(2, drop=0.0), K(3, lf=L(0.2), drop=0.04, torso=(0, -6, 0), la=A(30, 30, 40), ra=A(40, 10, 60)),
                              K(4)], 0.3, {"footwork"}))
    add(M("grapevine", 4, [K(0), K(1, rf=R(-0.3), la=SIDE, ra=SIDE, drop=0.03),
                           K(2, rf=R(-0.3), lf=L(-0.42, -0.16), la=A(70, 20, 40), ra=A(70, 20, 40), drop=0.05),
                           K(3, rf=R(-0.6), lf=L(-0.42, -0.16), la=SIDE, ra=SIDE, drop=0.03),
                           K(4, rf=R(-0.6), lf=L(-0.6), la=CLAP, ra=CLAP, drop=0.06)], 0.5, {"footwork", "travel", "clap"}))
    add(M("box_step", 4, [K(0), K(1, lf=L(-0.12, 0.25), torso=(0, 0, -8), la=A(50, 60, 60), ra=A(30, -10, 40)),
                          K(2, lf=L(-0.12, 0.25), rf=R(0.0, 0.25), torso=(0, 0, 8), la=A(30, -10, 40), ra=A(50, 60, 60)),
                          K(3, lf=L(0.0, 0.0), rf=R(0.0, 0.25), drop=0.04),
                          K(4)], 0.35, {"footwork"}))
    add(M("kick_ball_change", 2, [K(0), K(1, rf=R(0.0, 0.32, 0.22, pitch=35), la=A(60, 50, 50), ra=A(45, -20, 30), torso=(-5, 0, 0)),
                                  K(1.5, rf=R(0.02, -0.12), drop=0.06, la=BENT, ra=BENT),
                                  K(2, drop=0.03)], 0.6, {"footwork", "kick"}, accents=(0.0, 1.0, 2.0)))
    add(M("front_kick", 2, [K(0), K(1, rf=R(0.0, 0.42, 0.42, pitch=40), torso=(-8, 0, 0), la=A(80, 90, 10), ra=A(60, -30, 10)),
                            K(2, drop=0.05)], 0.8, {"kick"}))
    add(M("side_kick", 2, [K(0), K(1, rf=R(-0.42, 0.0, 0.32, pitch=20), torso=(0, -14, 0), sway=(0.04, 0), la=A(100, 0, 10), ra=A(110, 10, 5)),
                           K(2, drop=0.05)], 0.75, {"kick"}))
    add(M("knee_lift", 2, [K(0), K(1, rf=R(0.0, 0.12, 0.42, pitch=20), la=A(60, 70, 100), ra=A(30, -20, 80), torso=(5, 0, 8)),
                           K(2, drop=0.04)], 0.6, {"footwork"}))
    add(M("march", 2, [K(0), K(0.5, rf=R(0, 0.05, 0.18, pitch=15), la=A(35, 60, 70), ra=A(20, -40, 40)),
                       K(1, drop=0.03), K(1.5, lf=L(0, 0.05, 0.18, pitch=15), ra=A(35, 60, 70), la=A(20, -40, 40)),
                       K(2, drop=0.03)], 0.35, {"footwork"}))
    add(M("jumping_jack", 2, [K(0, drop=0.06), K(0.5, lf=L(0.1, 0, 0.1), rf=R(-0.1, 0, 0.1), drop=-0.1, la=A(120, 0, 10), ra=A(120, 0, 10)),
                              K(1, lf=L(0.18), rf=R(-0.18), drop=0.1, la=UP, ra=UP),
                              K(1.5, lf=L(0.09, 0, 0.1), rf=R(-0.09, 0, 0.1), drop=-0.1, la=A(120, 0, 10), ra=A(120, 0, 10)),
                              K(2, drop=0.08)], 0.9, {"jump"}))
    def turned(h, lift=0.0):
        lf, rf = stance(h)
        return dict(lf=Foot(lf.x, lf.z, lift, h), rf=Foot(rf.x, rf.z, lift, h), heading=h)

    add(M("jump_turn", 4, [K(0), K(1, drop=0.14, torso=(15, 0, 0), la=A(40, -40, 20), ra=A(40, -40, 20)),
                           K(2, **turned(180, 0.12), drop=-0.12, la=UP, ra=UP),
                           K(3, **turned(360), drop=0.12, la=SIDE, ra=SIDE),
                           K(4, **turned(360))], 1.0, {"jump", "turn"}))
    add(M("step_turn", 4, [K(0)] + turn_steps(360, 4, 8, la=A(70, 40, 60), ra=A(70, 40, 60)), 0.6, {"turn"}))
    add(M("half_turn", 2, [K(0)] + turn_steps(180, 2, 4, la=OPEN, ra=OPEN), 0.5, {"turn"}))
    add(M("running_man", 2, [K(0), K(0.5, lf=L(0, 0.08, 0.2, pitch=15), la=A(40, 60, 80), ra=A(30, -30, 60), drop=-0.02),
                             K(1, lf=L(0, 0.0), rf=R(0, -0.16), drop=0.05),
                             K(1.5, rf=R(0, 0.08, 0.2, pitch=15), ra=A(40, 60, 80), la=A(30, -30, 60), drop=-0.02),
                             K(2, drop=0.05)], 0.85, {"footwork", "house"}))
    add(M("heel_tap", 2, [K(0), K(1, rf=R(-0.05, 0.3, 0.0, pitch=-25), torso=(-6, 0, 0), la=A(50, 45, 70), ra=A(50, 45, 70), drop=0.05),
                          K(2)], 0.4, {"footwork"}))
    add(M("toe_tap_back", 2, [K(0), K(1, rf=R(0.0, -0.3, 0.0, pitch=40), torso=(8, 0, 0), la=A(30, -30, 40), ra=A(60, 70, 30), drop=0.06),
                              K(2)], 0.4, {"footwork"}))
    add(M("cross_step", 2, [K(0), K(1, rf=R(0.16, 0.14), torso=(0, 0, 12), la=A(45, -10, 40), ra=A(50, 70, 60), drop=0.04),
                            K(2)], 0.45, {"footwork"}))
    add(M("lunge", 2, [K(0), K(1, rf=R(-0.3, 0.3), drop=0.17, torso=(10, 0, -10), la=A(30, -40, 20), ra=A(100, 70, 10)),
                       K(2)], 0.7, {"footwork"}))
    add(M("squat_bounce", 2, [K(0), K(1, drop=0.2, torso=(18, 0, 0), la=FRONT, ra=FRONT, head=(-10, 0, 0)),
                              K(2)], 0.55, {"groove"}))
    add(M("charleston", 4, [K(0), K(1, rf=R(0, 0.25), la=A(50, -30, 40), ra=A(60, 70, 40), torso=(0, 0, 8)),
                            K(2, rf=R(0, 0.25), lf=L(0, 0.5, 0.25, pitch=30), la=A(60, 70, 40), ra=A(50, -30, 40), torso=(0, 0, -8)),
                            K(3, rf=R(0, 0.25), la=A(50, -30, 40), ra=A(60, 70, 40), drop=0.04),
                            K(4)], 0.65, {"footwork", "swing"}))
    add(M("mambo", 4, [K(0), K(1, rf=R(0, 0.25), sway=(0, 0.03), pelvis=(0, 8, 0), la=A(40, 40, 90), ra=A(40, 40, 90)),
                       K(2, rf=R(0, 0.25), sway=(0, -0.04), pelvis=(0, -8, 0)),
                       K(3, pelvis=(0, 8, 0), la=A(40, 60, 80), ra=A(40, 20, 90)), K(4, pelvis=(0, -6, 0))], 0.45, {"latin"}))
    add(M("salsa_basic", 8, [K(0), K(1, lf=L(0, 0.22), pelvis=(0, -8, 0), la=A(45, 50, 95), ra=A(45, 40, 90)),
                             K(2, lf=L(0, 0.22), pelvis=(0, 8, 0), sway=(0, -0.03)),
                             K(3, pelvis=(0, -6, 0)), K(4, pelvis=(0, 4, 0), torso=(0, 0, 6)),
                             K(5, rf=R(0, -0.22), pelvis=(0, 8, 0), la=A(45, 40, 90), ra=A(45, 50, 95)),
                             K(6, rf=R(0, -0.22), pelvis=(0, -8, 0), sway=(0, 0.03)),
                             K(7, pelvis=(0, 6, 0)), K(8, torso=(0, 0, -6))], 0.55, {"latin"}))
    add(M("waltz_box", 6, [K(0), K(1, lf=L(0, 0.3), drop=0.07, la=A(88, 35, 85), ra=A(85, 60, 60)),
                           K(2, lf=L(0, 0.3), rf=R(-0.15, 0.3), drop=-0.01),
                           K(3, lf=L(-0.15, 0.3), rf=R(-0.15, 0.3), drop=0.02),
                           K(4, lf=L(-0.15, 0.3), rf=R(-0.15, 0.0), drop=0.07),
                           K(5, lf=L(0.0, 0.0), rf=R(-0.15, 0.0), drop=-0.01),
                           K(6, drop=0.02)], 0.4, {"waltz"}, meter=3))
    add(M("waltz_balance", 3, [K(0), K(1, rf=R(-0.25), drop=0.07, torso=(0, 8, 0), la=A(100, 30, 40), ra=A(80, 20, 30)),
                               K(2, rf=R(-0.25), lf=L(-0.2, -0.05), drop=-0.01),
                               K(3, rf=R(-0.25), lf=L(-0.25), drop=0.02, la=A(90, 40, 40), ra=A(90, 40, 40))], 0.3, {"waltz"}, meter=3))
    add(M("waltz_turn", 6, [K(0)] + turn_steps(180, 6, 6, first="L", la=A(88, 35, 85), ra=A(85, 60, 60)), 0.5, {"waltz", "turn"}, meter=3))
    add(M("pas_de_bourree", 2, [K(0), K(0.5, rf=R(0.04, -0.1), drop=0.02, la=SECOND, ra=SECOND),
                                K(1, rf=R(0.04, -0.1), lf=L(0.16), drop=-0.01),
                                K(2, rf=R(0.16), lf=L(0.16), drop=0.04, la=FIRST, ra=FIRST)], 0.5, {"ballet", "travel"}))
    add(M("plie_releve", 4, [K(0), K(1, drop=0.13, la=FIRST, ra=FIRST, head=(-8, 0, 0)),
                             K(2, drop=-0.0, la=SECOND, ra=SECOND), K(3, drop=0.13, la=FIFTH, ra=FIFTH),
                             K(4, la=SECOND, ra=SECOND)], 0.25, {"ballet"}))
    add(M("arabesque", 4, [K(0), K(1, rf=R(0, -0.45, 0.32, pitch=45), torso=(22, 0, 0), sway=(0, 0.04),
                             la=A(105, 75, 5), ra=A(85, -5, 10), head=(-15, 0, 0)),
                           K(2, rf=R(0, -0.5, 0.38, pitch=50), torso=(25, 0, 0), sway=(0, 0.05),
                             la=A(115, 75, 5), ra=A(85, -10, 10), head=(-18, 0, 0)),
                           K(3, drop=0.06, la=FIRST, ra=FIRST), K(4, la=SECOND, ra=SECOND)], 0.45, {"ballet"}))
    add(M("chaine_turn", 4, [K(0)] + turn_steps(360, 4, 8, first="R", la=FIRST, ra=FIRST), 0.6, {"ballet", "turn"}))
    add(M("chasse", 2, [K(0), K(0.5, rf=R(-0.25), la=SIDE, ra=SIDE),
                        K(1, rf=R(-0.25), lf=L(-0.25), drop=0.03),
                        K(1.5, rf=R(-0.5), lf=L(-0.25), drop=-0.01),
                        K(2, rf=R(-0.5), lf=L(-0.5), drop=0.04, la=OPEN, ra=OPEN)], 0.55, {"footwork", "travel"}))
    add(M("skate", 2, [K(0), K(1, rf=R(-0.28, -0.18), drop=0.12, torso=(22, 0, -8), la=A(60, 85, 40), ra=A(45, -40, 20)),
                       K(2, drop=0.04)], 0.6, {"footwork", "house"}))
    # ------------------------------------------------------------- upper body over a groove
    add(M("arm_wave", 4, [K(0, la=SIDE, ra=SIDE), K(1, la=A(105, 0, 0, 0, 35), ra=A(80, 0, 35, 0, -25), drop=0.03, torso=(0, 5, 0)),
                          K(2, la=A(80, 0, 35, 0, -25), ra=A(105, 0, 0, 0, 35), drop=0.0, torso=(0, -5, 0)),
                          K(3, la=A(105, 0, 0, 0, 35), ra=A(80, 0, 35, 0, -25), drop=0.03, torso=(0, 5, 0)),
                          K(4, la=SIDE, ra=SIDE)], 0.4, {"arms", "popping"}))
    add(M("body_roll", 4, [K(0), K(1, torso=(-12, 0, 0), pelvis=(6, 0, 0), head=(-10, 0, 0), la=A(30, 20, 70), ra=A(30, 20, 70)),
                           K(2, torso=(16, 0, 0), pelvis=(-10, 0, 0), drop=0.07, head=(12, 0, 0)),
                           K(3, torso=(-10, 0, 0), pelvis=(8, 0, 0), drop=0.02, head=(-8, 0, 0)),
                           K(4, torso=(10, 0, 0), drop=0.05)], 0.45, {"groove", "body"}))
    add(M("clap_step", 2, [K(0, la=OPEN, ra=OPEN), K(0.5, rf=R(-0.2), la=OPEN, ra=OPEN, drop=-0.0),
                           K(1, rf=R(-0.2), la=CLAP, ra=CLAP, drop=0.05),
                           K(1.5, rf=R(-0.2), lf=L(-0.2), la=OPEN, ra=OPEN),
                           K(2, rf=R(-0.2), lf=L(-0.2), la=CLAP, ra=CLAP, drop=0.05)], 0.45, {"clap", "travel"}))
    add(M("disco_point", 4, [K(0), K(1, rf=R(-0.15), ra=A(150, 15, 0), la=HIP, sway=(0.04, 0), pelvis=(0, 8, 0), head=(-10, 0, -20)),
                             K(2, ra=A(45, 105, 0), la=HIP, torso=(0, 0, 12), sway=(-0.03, 0), head=(10, 0, 10)),
                             K(3, rf=R(-0.15), ra=A(150, 15, 0), la=HIP, sway=(0.04, 0), pelvis=(0, 8, 0), head=(-10, 0, -20)),
                             K(4, ra=A(45, 105, 0), la=HIP, torso=(0, 0, 12))], 0.6, {"arms", "disco"}))
    add(M("hip_sway", 2, [K(0), K(1, sway=(0.05, 0), pelvis=(0, -9, 0), torso=(0, -4, 0), la=A(30, 30, 50), ra=A(20, 10, 40)),
                          K(2, sway=(-0.05, 0), pelvis=(0, 9, 0), torso=(0, 4, 0), la=A(20, 10, 40), ra=A(30, 30, 50))], 0.2, {"groove", "latin"}))
    add(M("shoulder_shimmy", 2, [K(0, la=A(45, 40, 80), ra=A(45, 40, 80)), K(0.5, torso=(0, 0, 12), la=A(50, 30, 80), ra=A(40, 50, 80), drop=0.04),
                                 K(1, torso=(0, 0, -12), la=A(40, 50, 80), ra=A(50, 30, 80), drop=0.06),
                                 K(1.5, torso=(0, 0, 12), la=A(50, 30, 80), ra=A(40, 50, 80), drop=0.04),
                                 K(2, torso=(0, 0, -12), la=A(40, 50, 80), ra=A(50, 30, 80), drop=0.06)], 0.55, {"groove", "latin", "disco"}))
    add(M("chest_pop", 2, [K(0, la=A(30, -10, 70), ra=A(30, -10, 70)), K(0.5, torso=(6, 0, 0), drop=0.03),
                           K(1, torso=(-14, 0, 0), head=(-6, 0, 0), la=A(35, -25, 80), ra=A(35, -25, 80)),
                           K(1.5, torso=(6, 0, 0), drop=0.03),
                           K(2, torso=(-14, 0, 0), head=(-6, 0, 0), la=A(35, -25, 80), ra=A(35, -25, 80))], 0.5, {"popping", "body"}))
    add(M("raise_the_roof", 2, [K(0, la=ROOF_LOW, ra=ROOF_LOW), K(1, la=ROOF_HIGH, ra=ROOF_HIGH, drop=-0.0, head=(-10, 0, 0)),
                                K(1.5, la=ROOF_LOW, ra=ROOF_LOW, drop=0.05),
                                K(2, la=ROOF_HIGH, ra=ROOF_HIGH, head=(-10, 0, 0))], 0.7, {"arms", "hiphop"}))
    add(M("point_and_pose", 4, [K(0), K(1, rf=R(-0.25), ra=A(115, 65, 0), la=HIP, head=(0, 0, -25), torso=(0, 0, -10)),
                                K(2, rf=R(-0.25), ra=A(120, 65, 0), la=HIP, drop=0.04, head=(0, 0, -25)),
                                K(3, rf=R(-0.25), la=A(150, 5, 5), ra=A(150, 5, 5), head=(-12, 0, 0)),
                                K(4, rf=R(-0.25), lf=L(-0.25), la=BENT, ra=BENT, drop=0.04)], 0.55, {"arms", "pose", "pop"}))
    add(M("groove_bounce", 1, [K(0, drop=0.07, head=(12, 0, 0), torso=(8, 0, 0), la=BENT, ra=BENT),
                               K(0.5, drop=0.0, head=(-4, 0, 0), torso=(-3, 0, 0), la=A(30, 30, 95), ra=A(30, 30, 95)),
                               K(1, drop=0.07, head=(12, 0, 0), torso=(8, 0, 0), la=BENT, ra=BENT)], 0.3, {"groove", "hiphop"}))
    add(M("arm_circle", 4, [K(0, la=SIDE, ra=SIDE), K(1, la=UP, ra=UP, drop=-0.0), K(2, la=SIDE, ra=SIDE, drop=0.04),
                            K(3, la=A(45, 70, 10), ra=A(45, 70, 10), drop=0.06, torso=(10, 0, 0)),
                            K(4, la=SIDE, ra=SIDE)], 0.4, {"arms", "ballet"}))
    add(M("vogue_hands", 4, [K(0), K(1, la=A(115, 70, 120, -40), ra=A(60, 85, 110), head=(0, 8, 10)),
                             K(2, ra=A(115, 70, 120, -40), la=A(60, 85, 110), head=(0, -8, -10), drop=0.03),
                             K(3, la=A(150, 30, 30), ra=A(60, 85, 110), sway=(0.04, 0)),
                             K(4, la=HIP, ra=HIP, drop=0.03)], 0.5, {"arms", "pose", "pop"}))
    add(M("swim", 4, [K(0), K(1, la=A(120, 80, 10), ra=A(30, -30, 30), torso=(5, 0, 10), drop=0.04),
                      K(2, ra=A(120, 80, 10), la=A(30, -30, 30), torso=(5, 0, -10), drop=0.04),
                      K(3, la=A(120, 80, 10), ra=A(30, -30, 30), torso=(5, 0, 10), drop=0.04),
                      K(4, ra=A(120, 80, 10), la=A(30, -30, 30), torso=(5, 0, -10), drop=0.04)], 0.45, {"arms", "disco"}))
    add(M("cross_arms_hit", 2, [K(0), K(1, la=A(70, 115, 110), ra=A(70, 115, 110), drop=0.06, head=(10, 0, 0)),
                                K(2, la=A(95, 0, 0), ra=A(95, 0, 0), head=(-10, 0, 0))], 0.75, {"arms", "hiphop", "popping"}))
    add(M("robot", 4, [K(0, la=A(60, 60, 90), ra=A(60, 60, 90)), K(1, la=A(90, 0, 90, -90), ra=A(30, 60, 90), head=(0, 0, 30)),
                       K(2, la=A(30, 60, 90), ra=A(90, 0, 90, -90), head=(0, 0, -30)),
                       K(3, la=A(90, 0, 90, -90), ra=A(90, 0, 90, -90), head=(0, 0, 0), drop=0.05),
                       K(4, la=A(60, 60, 90), ra=A(60, 60, 90))], 0.5, {"arms", "popping"}))
    add(M("hip_roll", 4, [K(0), K(1, sway=(0.05, 0), pelvis=(0, -8, 0), la=A(40, 40, 90), ra=A(60, 20, 60)),
                          K(2, sway=(0, 0.04), pelvis=(8, 0, 0), drop=0.03),
                          K(3, sway=(-0.05, 0), pelvis=(0, 8, 0), ra=A(40, 40, 90), la=A(60, 20, 60)),
                          K(4, sway=(0, -0.03), pelvis=(-6, 0, 0), drop=0.02)], 0.35, {"latin", "groove"}))
    add(M("cumbia_step", 2, [K(0), K(1, rf=R(0.04, -0.2), pelvis=(0, 8, 0), torso=(0, 0, -10), la=A(50, 40, 95), ra=A(35, -20, 60)),
                             K(2, pelvis=(0, -6, 0))], 0.4, {"latin", "footwork"}))
    add(M("punch_combo", 2, [K(0, la=A(40, 60, 110), ra=A(40, 60, 110)), K(1, la=A(85, 85, 5), ra=A(40, 60, 110), torso=(0, 0, -18), drop=0.05),
                             K(2, ra=A(85, 85, 5), la=A(40, 60, 110), torso=(0, 0, 18), drop=0.05)], 0.8, {"arms", "hiphop"}))
    add(M("wave_hello_pose", 2, [K(0), K(1, la=A(165, 20, 10, 0, 20), ra=HIP, sway=(-0.04, 0), head=(-8, 0, 0)),
                                 K(2, la=A(150, 20, 30, 0, -20), ra=HIP, drop=0.04)], 0.35, {"arms", "pop"}))
    add(M("stomp", 2, [K(0), K(0.5, rf=R(-0.04, 0.02, 0.16), drop=-0.02, la=A(40, 40, 90), ra=A(40, 40, 90)),
                       K(1, drop=0.08, torso=(10, 0, 0), la=A(30, -20, 90), ra=A(30, -20, 90)),
                       K(1.5, lf=L(0.04, 0.02, 0.16), drop=-0.02, la=A(40, 40, 90), ra=A(40, 40, 90)),
                       K(2, drop=0.08, torso=(10, 0, 0), la=A(30, -20, 90), ra=A(30, -20, 90))], 0.8, {"footwork", "hiphop"}))
    add(M("tango_walk", 4, [K(0), K(1, lf=L(0, 0.3), drop=0.08, torso=(0, 0, -10), la=A(88, 45, 70), ra=A(88, 60, 50)),
                            K(2, lf=L(0, 0.3), rf=R(0, 0.6), drop=0.08),
                            K(3, lf=L(-0.05, 0.64), rf=R(0, 0.6), drop=0.06, torso=(0, 0, 10), head=(0, 0, 40)),
                            K(4, lf=L(0, 0.6), rf=R(0, 0.6), drop=0.04)], 0.5, {"latin", "travel"}))
    return moves


MOVES: tuple = tuple(_library())
MOVE_INDEX: dict = {m.name: m for m in MOVES}
