"""The built-in body mesh: shape, labels, weights, skinning (pure numpy)."""

import numpy as np
import pytest

from magicdance_core.body.builtin_mesh import build_builtin_body, skin
from magicdance_core.body.fk import forward_kinematics
from magicdance_core.body.skeleton import JOINT_INDEX, REST_PELVIS_HEIGHT


@pytest.fixture(scope="module")
def body():
    return build_builtin_body()


def test_shapes_and_ranges(body):
    V, F = body.vertices, body.faces
    assert V.ndim == 2 and V.shape[1] == 3 and F.shape[1] == 3
    assert F.min() >= 0 and F.max() < len(V)
    assert body.face_parts.shape == (len(F),)
    assert set(np.unique(body.face_parts)) == set(range(1, 25))
    assert body.weights.shape == (len(V), 24)
    np.testing.assert_allclose(body.weights.sum(1), 1.0, atol=1e-9)
    assert body.weights.min() >= 0
    assert body.uv.min() >= 0 and body.uv.max() <= 1
    # every face's corners belong to the face's part (seams are duplicated)
    assert np.all(body.vertex_parts[F] == body.face_parts[:, None])


def test_person_shaped(body):
    V = body.vertices
    height = V[:, 1].max() - V[:, 1].min()
    assert 1.6 < height < 1.9
    sole = V[:, 1].min() + REST_PELVIS_HEIGHT
    assert -0.01 < sole < 0.02, sole          # feet rest on the floor when standing
    span = V[:, 0].max() - V[:, 0].min()
    assert 1.5 < span < 1.9                   # T-pose arm span
    # closed, outward-facing surface: positive enclosed volume, roughly a person's
    vol = np.einsum("ij,ij->i", V[body.faces[:, 0]], np.cross(V[body.faces[:, 1]], V[body.faces[:, 2]])).sum() / 6
    assert 0.05 < vol < 0.12


def test_part_sides(body):
    c = body.vertices[body.faces].mean(1)
    p = body.face_parts
    assert c[p == 4, 0].mean() > 0.5 and c[p == 3, 0].mean() < -0.5   # left hand is +X
    assert c[p == 5, 0].mean() > 0 and c[p == 6, 0].mean() < 0        # left foot +X
    # DensePose: torso and legs lower id = back; arms lower id = front (the body faces +Z)
    for back, front in ((1, 2), (7, 9), (8, 10), (11, 13), (12, 14), (17, 15), (18, 16), (21, 19), (22, 20)):
        assert c[p == front, 2].mean() > c[p == back, 2].mean() + 0.02, (back, front)
    # the head is split into the person's right (23, -X) and left (24, +X) halves, each
    # reaching from the back of the head to the face
    head_x = body.rest_joints[JOINT_INDEX["head"], 0]
    assert c[p == 24, 0].mean() > c[p == 23, 0].mean() + 0.06
    assert np.mean(c[p == 23, 0] < head_x) > 0.9 and np.mean(c[p == 24, 0] > head_x) > 0.9
    for hp in (23, 24):
        z = c[p == hp, 2]
        assert z.max() > 0.07 and z.min() < -0.05, hp
    assert c[p == 23, 1].mean() > 0.5 and c[p == 1, 1].mean() > 0


def test_skin_rest_and_translation(body):
    T = 3
    trans = np.array([[0, REST_PELVIS_HEIGHT, 0], [1, 2, 3], [0.5, 1, -1]])
    out = skin(body, np.zeros((T, 24, 3)), trans)
    np.testing.assert_allclose(out, body.vertices[None] + trans[:, None], atol=1e-12)


def test_skin_follows_joints(body):
    rng = np.random.default_rng(0)
    poses = rng.normal(0, 0.4, (4, 24, 3))
    trans = rng.normal(0, 0.3, (4, 3))
    out = skin(body, poses, trans)
    joints = forward_kinematics(poses, trans, None)
    # Vertices weighted fully to one joint move rigidly with it: their distance to it is kept.
    j = JOINT_INDEX["left_elbow"]
    rigid = body.weights[:, j] > 0.999
    assert rigid.sum() > 20
    d_rest = np.linalg.norm(body.vertices[rigid] - body.rest_joints[j], axis=1)
    for t in range(4):
        d = np.linalg.norm(out[t, rigid] - joints[t, j], axis=1)
        np.testing.assert_allclose(d, d_rest, atol=1e-9)
    # Bending the left elbow moves the left forearm and leaves the right side alone.
    pose = np.zeros((24, 3))
    pose[j] = [0, 0, 1.2]
    bent = skin(body, pose, np.zeros(3))
    moved = np.linalg.norm(bent - body.vertices, axis=1) > 1e-6
    assert np.all(body.vertices[moved, 0] > 0.3)
    assert np.any(moved[body.vertex_parts == 4])


def _skin_reference(body, poses, trans):
    """Per-joint transforms applied one joint at a time, then blended (the textbook LBS sum)."""
    from magicdance_core.body.fk import forward_kinematics_matrices
    from magicdance_core.body.rotations import axis_angle_to_matrix
    from magicdance_core.body.skeleton import offsets_from_joints

    pos, rot = forward_kinematics_matrices(axis_angle_to_matrix(poses), trans, offsets_from_joints(body.rest_joints))
    out = np.zeros((len(poses),) + body.vertices.shape)
    for j in range(24):
        moved = np.einsum("tab,vb->tva", rot[:, j], body.vertices - body.rest_joints[j]) + pos[:, j, None]
        out += body.weights[None, :, j, None] * moved
    return out


def test_skin_matches_per_joint_reference(body):
    rng = np.random.default_rng(7)
    poses = rng.normal(0, 0.6, (5, 24, 3))
    trans = rng.normal(0, 0.5, (5, 3))
    out = skin(body, poses, trans)
    ref = _skin_reference(body, poses, trans)
    assert np.abs(out - ref).max() < 1e-6
    np.testing.assert_allclose(skin(body, poses[2], trans[2]), ref[2], atol=1e-6)   # single frame
