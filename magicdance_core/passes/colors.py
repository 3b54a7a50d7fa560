"""Colour tables of the guidance passes (DESIGN.md, "Guidance passes").

DensePose-style (MagicAnimate's driving videos)
-----------------------------------------------
MagicAnimate's driving videos come from detectron2's DensePose visualiser
(``DensePoseResultsFineSegmentationVisualizer`` with ``cmap=cv2.COLORMAP_VIRIDIS``,
``alpha=1``, on a canvas made by ``applyColorMap`` of zeros). Its ``MatrixVisualizer``
scales the part index I by ``255/24`` in float32 and truncates to uint8, then applies
OpenCV's VIRIDIS map. So part I gets viridis entry ``int(I*255/24)`` and the
background gets entry 0 = (68, 1, 84).

The 25 colours below were computed once with::

    idx = (np.arange(25, dtype=np.float32) * np.float32(255 / 24)).astype(np.uint8)
    cv2.applyColorMap(idx[None], cv2.COLORMAP_VIRIDIS)[0, :, ::-1]      # BGR -> RGB

and are identical to matplotlib's 256-entry ``viridis`` scaled by 255 and *rounded*
(truncation would be off by one in 40 of 75 channels). ``tests/test_passes_colors.py``
recomputes both and compares, so a drift in either library is caught.

OpenPose COCO-18
----------------
Keypoint order 0 nose, 1 neck, 2-4 right shoulder/elbow/wrist, 5-7 left, 8-10 right
hip/knee/ankle, 11-13 left, 14 right eye, 15 left eye, 16 right ear, 17 left ear.
``OPENPOSE_LIMBS`` are the 17 drawn limbs of the standard ``draw_bodypose`` in their
standard order, each drawn in ``OPENPOSE_COLORS[i]`` (RGB, as ControlNet's annotator
draws them on an RGB canvas; the original BGR code gives the red/blue-swapped order).
"""

from __future__ import annotations

import numpy as np

# Background + 24 DensePose parts, RGB uint8. Row I is part I (row 0 = background).
DENSEPOSE_COLORS = np.array(
    [
        [68, 1, 84], [71, 16, 99], [72, 31, 112], [71, 44, 122], [68, 57, 131],
        [64, 70, 136], [59, 81, 139], [54, 93, 141], [49, 104, 142], [44, 113, 142],
        [40, 124, 142], [37, 133, 142], [33, 144, 141], [31, 154, 138], [32, 163, 134],
        [39, 173, 129], [53, 183, 121], [70, 192, 111], [92, 200, 99], [115, 208, 86],
        [142, 214, 69], [170, 220, 50], [197, 224, 33], [226, 228, 24], [253, 231, 37],
    ],
    dtype=np.uint8,
)
BACKGROUND_RGB = tuple(int(c) for c in DENSEPOSE_COLORS[0])
NUM_PARTS = 24

# The viridis index of each row (what MagicAnimate's visualiser feeds to applyColorMap).
DENSEPOSE_VIRIDIS_INDEX = (np.arange(25, dtype=np.float32) * np.float32(255.0 / 24)).astype(np.uint8)

# DensePose part ids (1..24), named from the person's own left/right.
DENSEPOSE_PART_NAMES = (
    None, "torso_back", "torso_front", "right_hand", "left_hand", "left_foot", "right_foot",
    "upper_leg_right_back", "upper_leg_left_back", "upper_leg_right_front", "upper_leg_left_front",
    "lower_leg_right_back", "lower_leg_left_back", "lower_leg_right_front", "lower_leg_left_front",
    # Arms run the other way round from legs: the lower id is the front (DensePose's convention).
    "upper_arm_left_front", "upper_arm_right_front", "upper_arm_left_back", "upper_arm_right_back",
    "lower_arm_left_front", "lower_arm_right_front", "lower_arm_left_back", "lower_arm_right_back",
    "head_right", "head_left",   # DensePose splits the head into the face's right and left halves
)

# Semantic pass (Champ-style): one flat colour per body region, front/back halves of
# a DensePose limb merged. Our own table (Champ colours SMPL's vertex segmentation,
# which is licensed data); colours from matplotlib's tab20, frozen here.
SEMANTIC_NAMES = (
    "background", "torso", "head", "left_upper_arm", "right_upper_arm", "left_lower_arm",
    "right_lower_arm", "left_hand", "right_hand", "left_upper_leg", "right_upper_leg",
    "left_lower_leg", "right_lower_leg", "left_foot", "right_foot",
)
SEMANTIC_COLORS = np.array(
    [
        [0, 0, 0], [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40],
        [148, 103, 189], [140, 86, 75], [227, 119, 194], [188, 189, 34], [23, 190, 207],
        [174, 199, 232], [255, 187, 120], [152, 223, 138], [255, 152, 150], [197, 176, 213],
    ],
    dtype=np.uint8,
)
_S = {n: i for i, n in enumerate(SEMANTIC_NAMES)}
# DensePose part id -> semantic class id (row 0: background).
PART_TO_SEMANTIC = np.array(
    [
        0, _S["torso"], _S["torso"], _S["right_hand"], _S["left_hand"], _S["left_foot"], _S["right_foot"],
        _S["right_upper_leg"], _S["left_upper_leg"], _S["right_upper_leg"], _S["left_upper_leg"],
        _S["right_lower_leg"], _S["left_lower_leg"], _S["right_lower_leg"], _S["left_lower_leg"],
        _S["left_upper_arm"], _S["right_upper_arm"], _S["left_upper_arm"], _S["right_upper_arm"],
        _S["left_lower_arm"], _S["right_lower_arm"], _S["left_lower_arm"], _S["right_lower_arm"],
        _S["head"], _S["head"],
    ],
    dtype=np.uint8,
)
# Part id -> semantic RGB, ready for a lookup ``SEMANTIC_PART_COLORS[part_image]``.
SEMANTIC_PART_COLORS = SEMANTIC_COLORS[PART_TO_SEMANTIC]

# OpenPose COCO-18.
COCO18_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
)
OPENPOSE_COLORS = np.array(
    [
        [255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0],
        [0, 255, 0], [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255],
        [0, 0, 255], [85, 0, 255], [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85],
    ],
    dtype=np.uint8,
)
# Limb pairs (0-based COCO-18 indices), standard order; the first 17 are drawn.
OPENPOSE_LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
    (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17),
)
NUM_DRAWN_LIMBS = 17


def densepose_image(part_ids: np.ndarray) -> np.ndarray:
    """(H,W) part ids 0..24 -> (H,W,3) uint8 RGB in MagicAnimate's colours."""
    return DENSEPOSE_COLORS[part_ids]


def part_ids_from_densepose(rgb: np.ndarray) -> np.ndarray:
    """Inverse of :func:`densepose_image`: (H,W,3) -> (H,W) ids; -1 where no table colour."""
    key = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    table = (DENSEPOSE_COLORS[:, 0].astype(np.int32) << 16) | (DENSEPOSE_COLORS[:, 1].astype(np.int32) << 8) | DENSEPOSE_COLORS[:, 2]
    lut = {int(k): i for i, k in enumerate(table)}
    out = np.full(key.shape, -1, np.int16)
    for k, i in lut.items():
        out[key == k] = i
    return out
