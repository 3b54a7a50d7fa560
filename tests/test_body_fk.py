"""Property-based tests of forward kinematics on the SMPL skeleton."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from magicdance_core.body import fk, skeleton
from magicdance_core.body.rotations import axis_angle_to_matrix
from magicdance_core.body.skeleton import JOINT_INDEX, PARENTS, REST_OFFSETS, rest_joints

torch.set_num_threads(1)
SET = settings(max_examples=40, deadline=None)
poses_st = arrays(np.float64, (3, 24, 3), elements=st.floats(-3.5, 3.5, allow_nan=False))
trans_st = arrays(np.float64, (3, 3), elements=st.floats(-10, 10, allow_nan=False))


def _bone_lengths(j):
    return np.stack([np.linalg.norm(j[..., c, :] - j[..., p, :], axis=-1)
                     for c, p in enumerate(PARENTS) if p >= 0], -1)


@SET
@given(poses_st, trans_st)
def test_bone_lengths_preserved_for_any_pose(poses, trans):
    j = fk.forward_kinematics(poses, trans)
    rest_len = np.linalg.norm(REST_OFFSETS[1:], axis=-1)
    np.testing.assert_allclose(_bone_lengths(j), np.broadcast_to(rest_len, (3, 23)), atol=1e-9)
    np.testing.assert_allclose(j[:, 0], trans, atol=1e-12)  # trans is the pelvis position


@SET
@given(poses_st, trans_st)
def test_root_translation_adds(poses, trans):
    j0 = fk.forward_kinematics(poses, np.zeros_like(trans))
    j1 = fk.forward_kinematics(poses, trans)
    np.testing.assert_allclose(j1 - j0, np.broadcast_to(trans[:, None, :], j0.shape), atol=1e-9)


@SET
@given(poses_st, trans_st)
def test_numpy_equals_torch_and_matrices_agree(poses, trans):
    j_np = fk.forward_kinematics(poses, trans)
    j_th = fk.forward_kinematics(torch.from_numpy(poses), torch.from_numpy(trans)).numpy()
    np.testing.assert_allclose(j_th, j_np, atol=1e-9)
    pos, glob = fk.forward_kinematics_matrices(axis_angle_to_matrix(poses), trans)
    np.testing.assert_allclose(pos, j_np, atol=1e-12)
    # Global rotation of a joint = parent's global rotation x its local rotation.
    loc = axis_angle_to_matrix(poses)
    for c, p in enumerate(PARENTS):
        if p >= 0:
            np.testing.assert_allclose(glob[:, c], glob[:, p] @ loc[:, c], atol=1e-9)


@SET
@given(trans_st)
def test_identity_pose_is_rest_joints(trans):
    j = fk.forward_kinematics(np.zeros((3, 24, 3)), trans)
    np.testing.assert_allclose(j, rest_joints()[None] + trans[:, None, :], atol=1e-12)


@SET
@given(arrays(np.float64, (2, 24, 3), elements=st.floats(-0.2, 0.2, allow_nan=False)),
       arrays(np.float64, (24, 3), elements=st.floats(-0.5, 0.5, allow_nan=False)))
def test_custom_offsets_and_torch_autograd(poses, offsets):
    offsets[0] = 0
    j = fk.forward_kinematics(poses, np.zeros((2, 3)), offsets)
    np.testing.assert_allclose(_bone_lengths(j), np.broadcast_to(np.linalg.norm(offsets[1:], axis=-1), (2, 23)), atol=1e-9)
    p = torch.tensor(poses, requires_grad=True)
    fk.forward_kinematics(p, torch.zeros(2, 3, dtype=torch.float64), offsets).sum().backward()
    assert torch.all(torch.isfinite(p.grad))


def test_ninety_degree_elbow_bend_moves_wrist_forward():
    # Left arm points along +X in the T-pose. A -90 deg turn about +Y at the left elbow
    # takes +X to +Z (forward): the forearm offset (x, y, z) becomes (-z, y, x).
    e, w = JOINT_INDEX["left_elbow"], JOINT_INDEX["left_wrist"]
    poses = np.zeros((1, 24, 3))
    poses[0, e] = [0.0, -np.pi / 2, 0.0]
    j = fk.forward_kinematics(poses, np.array([[0.0, 1.0, 0.0]]))[0]
    rest = rest_joints() + [0.0, 1.0, 0.0]
    ox, oy, oz = REST_OFFSETS[w]
    np.testing.assert_allclose(j[w], rest[e] + [-oz, oy, ox], atol=1e-12)
    assert j[w, 2] - j[e, 2] > 0.25  # in front of the elbow
    # Every joint that does not descend from the elbow stays where it was.
    desc = {e}
    for c, par in enumerate(PARENTS):
        if par in desc:
            desc.add(c)
    keep = [i for i in range(24) if i not in desc]
    np.testing.assert_allclose(j[keep], rest[keep], atol=1e-12)
    np.testing.assert_allclose(j[e], rest[e], atol=1e-12)


def test_skeleton_tables_consistent():
    assert len(skeleton.JOINT_NAMES) == len(PARENTS) == 24
    assert all(p < c for c, p in enumerate(PARENTS))
    # Mirror map is an involution and swaps left/right names.
    for i, m in enumerate(skeleton.MIRROR_INDEX):
        assert skeleton.MIRROR_INDEX[m] == i
    # Both legs rest at the same length, so REST_PELVIS_HEIGHT is one number.
    for hip, knee, ankle in (("left_hip", "left_knee", "left_ankle"), ("right_hip", "right_knee", "right_ankle")):
        drop = -sum(REST_OFFSETS[JOINT_INDEX[n], 1] for n in (hip, knee, ankle))
        assert abs(drop + skeleton.ANKLE_HEIGHT - skeleton.REST_PELVIS_HEIGHT) < 2e-3
    np.testing.assert_allclose(skeleton.offsets_from_joints(rest_joints()), REST_OFFSETS, atol=1e-12)
    # Rest pose standing: ankles at ANKLE_HEIGHT when the pelvis is at REST_PELVIS_HEIGHT.
    j = rest_joints() + [0, skeleton.REST_PELVIS_HEIGHT, 0]
    assert abs(j[JOINT_INDEX["left_ankle"], 1] - skeleton.ANKLE_HEIGHT) < 1e-9
