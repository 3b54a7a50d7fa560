"""Which pixels of the people mask belong to the chosen person (issue 13: other people stay put).

mediapipe's selfie and pose masks are semantic: every person, and what they lean on, is one
"person" (a group at a table comes out as one blob, table included). Without instances, the
animator would carry the whole group along with the dancer and the plate would erase them all.
The split here is a Voronoi one: each mask pixel goes to the nearest person, the chosen one
represented by the bones of their landmarks, every other person by their face box and a
shoulder line and torso line under it (mediapipe's face detector finds them all; its pose model finds one). Not a
learned instance segmentation (none ships in a registry package we can use offline), so a
neighbour's arm reaching across the dancer may stay with the dancer.
"""

from __future__ import annotations

import numpy as np

# the limbs and trunk as mediapipe joint pairs (nose to the shoulders' midpoint is added apart)
BONES = ((11, 12), (11, 23), (12, 24), (23, 24), (11, 13), (13, 15), (12, 14), (14, 16),
         (23, 25), (25, 27), (24, 26), (26, 28))
TORSO_FACES = 3.0       # another person's body is taken to reach this many face heights below the face
SHOULDER_FACES = 1.3    # and their shoulders this many face widths to either side


def other_faces(faces, pts, vis, visible: float = 0.5) -> list:
    """The face boxes (x0, y0, x1, y1) that are not the chosen person's: the boxes holding none
    of their head's landmarks (nose, eyes, ears)."""
    head = [pts[i] for i in range(0, 9) if vis[i] >= visible]
    if not head:
        return list(faces)
    out = []
    for x0, y0, x1, y1 in faces:
        pad = 0.15 * (x1 - x0)
        if not any(x0 - pad <= x <= x1 + pad and y0 - pad <= y <= y1 + pad for x, y in head):
            out.append((x0, y0, x1, y1))
    return out


def _draw_bones(shape, pts, vis, visible) -> np.ndarray:
    import cv2

    seed = np.zeros(shape, np.uint8)
    lim = 4 * max(shape)
    P = np.clip(np.round(np.asarray(pts, np.float64)), -lim, lim).astype(int)
    for a, b in BONES:
        if vis[a] >= visible and vis[b] >= visible:
            cv2.line(seed, tuple(P[a]), tuple(P[b]), 1, 3)
    if vis[0] >= visible:
        if vis[11] >= visible and vis[12] >= visible:
            cv2.line(seed, tuple(P[0]), tuple((P[11] + P[12]) // 2), 1, 3)
        cv2.circle(seed, tuple(P[0]), 3, 1, -1)
    return seed > 0


def nearer_chosen(shape, pts, vis, others, visible: float = 0.5):
    """(h,w) bool: the pixels nearer the chosen person's bones than another person (``others``:
    their face boxes); None when there is nothing to split (no others, no bones)."""
    import cv2
    from scipy.ndimage import distance_transform_edt

    if not others:
        return None
    h, w = shape
    me = _draw_bones((h, w), pts, vis, visible)
    if not me.any():
        return None
    them = np.zeros((h, w), np.uint8)
    for x0, y0, x1, y1 in others:
        fw, fh = x1 - x0, y1 - y0
        cv2.rectangle(them, (int(x0), int(y0)), (int(x1), int(y1)), 1, -1)
        cx, sy = (x0 + x1) / 2, y1 + 0.6 * fh
        cv2.line(them, (int(cx), int(y1)), (int(cx), int(y1 + TORSO_FACES * fh)), 1, 3)
        cv2.line(them, (int(cx - SHOULDER_FACES * fw), int(sy)), (int(cx + SHOULDER_FACES * fw), int(sy)), 1, 3)
    them = (them > 0) & ~me
    if not them.any():
        return None
    return distance_transform_edt(~me) <= distance_transform_edt(~them)

