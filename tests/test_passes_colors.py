import cv2
import numpy as np
from matplotlib import colormaps

from magicdance_core.passes import colors as C


def test_densepose_table_matches_opencv_viridis_and_magicanimate_indexing():
    idx = (np.arange(25, dtype=np.float32) * np.float32(255.0 / 24)).astype(np.uint8)
    assert idx[0] == 0 and idx[24] == 255 and idx[1] == int(1 * 255 / 24)
    bgr = cv2.applyColorMap(idx[None], cv2.COLORMAP_VIRIDIS)[0]
    np.testing.assert_array_equal(C.DENSEPOSE_COLORS, bgr[:, ::-1])
    assert C.BACKGROUND_RGB == (68, 1, 84)


def test_densepose_table_is_matplotlib_viridis_rounded():
    v = colormaps["viridis"]
    mpl = np.round(np.array([v(int(i))[:3] for i in C.DENSEPOSE_VIRIDIS_INDEX]) * 255).astype(np.uint8)
    np.testing.assert_array_equal(C.DENSEPOSE_COLORS, mpl)


def test_tables_are_distinct_and_round_trip():
    assert len({tuple(c) for c in C.DENSEPOSE_COLORS}) == 25
    assert len({tuple(c) for c in C.SEMANTIC_COLORS}) == len(C.SEMANTIC_NAMES)
    ids = np.arange(25).reshape(5, 5)
    np.testing.assert_array_equal(C.part_ids_from_densepose(C.densepose_image(ids)), ids)
    # left/right named from the person's own side
    assert C.DENSEPOSE_PART_NAMES[4] == "left_hand" and C.DENSEPOSE_PART_NAMES[3] == "right_hand"
    assert C.SEMANTIC_NAMES[C.PART_TO_SEMANTIC[4]] == "left_hand"


def test_openpose_tables():
    assert len(C.OPENPOSE_COLORS) == 18 and len(C.COCO18_NAMES) == 18
    assert C.OPENPOSE_LIMBS[0] == (1, 2) and len(C.OPENPOSE_LIMBS) == 19
    assert tuple(C.OPENPOSE_COLORS[0]) == (255, 0, 0) and tuple(C.OPENPOSE_COLORS[12]) == (0, 0, 255)
