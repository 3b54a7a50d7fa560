"""Property-based tests of magicdance_core.body.rotations (numpy and torch)."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from magicdance_core.body import rotations as R

torch.set_num_threads(1)

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
vec3 = arrays(np.float64, (5, 3), elements=st.floats(-4.0, 4.0, allow_nan=False))
quat_raw = arrays(np.float64, (5, 4), elements=st.floats(-1.0, 1.0, allow_nan=False)).filter(
    lambda q: np.all(np.linalg.norm(q, axis=-1) > 1e-2))
d6_raw = arrays(np.float64, (5, 6), elements=st.floats(-2.0, 2.0, allow_nan=False)).filter(
    lambda d: np.all(np.linalg.norm(d[:, :3], axis=-1) > 1e-2)
    and np.all(np.linalg.norm(np.cross(d[:, :3], d[:, 3:]), axis=-1) > 1e-2))

SET = settings(max_examples=60, deadline=None)


def _both(fn, x):
    """fn on numpy and on torch; returns both results as numpy."""
    a = fn(x)
    b = fn(torch.from_numpy(x)).numpy()
    return np.asarray(a), b


def _rodrigues(aa):
    """Reference: the matrix exponential of the skew matrix (independent of the module)."""
    out = []
    for v in aa.reshape(-1, 3):
        th = np.linalg.norm(v)
        if th < 1e-12:
            out.append(np.eye(3))
            continue
        k = v / th
        K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
        out.append(np.eye(3) + np.sin(th) * K + (1 - np.cos(th)) * K @ K)
    return np.array(out).reshape(*aa.shape[:-1], 3, 3)


@SET
@given(vec3)
def test_axis_angle_to_matrix_is_rodrigues_and_orthonormal(aa):
    m_np, m_th = _both(R.axis_angle_to_matrix, aa)
    np.testing.assert_allclose(m_np, _rodrigues(aa), atol=1e-9)
    np.testing.assert_allclose(m_th, m_np, atol=1e-9)
    eye = np.broadcast_to(np.eye(3), m_np.shape)
    np.testing.assert_allclose(m_np @ np.swapaxes(m_np, -1, -2), eye, atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(m_np), 1.0, atol=1e-9)


@SET
@given(vec3)
def test_axis_angle_matrix_round_trip(aa):
    for back in _both(lambda x: R.matrix_to_axis_angle(R.axis_angle_to_matrix(x)), aa):
        # Same rotation (axis-angle is not unique beyond pi), and the angle lies in [0, pi].
        np.testing.assert_allclose(_rodrigues(back), _rodrigues(aa), atol=1e-7)
        assert np.all(np.linalg.norm(back, axis=-1) <= np.pi + 1e-9)


@SET
@given(arrays(np.float64, (5, 3), elements=st.floats(-1.8, 1.8, allow_nan=False)))
def test_axis_angle_round_trip_exact_below_pi(aa):
    # |aa| <= 1.8*sqrt(3) could exceed pi: scale into the unique range first.
    n = np.linalg.norm(aa, axis=-1, keepdims=True)
    aa = np.where(n > 3.0, aa * 3.0 / np.maximum(n, 1e-12), aa)
    for back in _both(lambda x: R.quat_to_axis_angle(R.axis_angle_to_quat(x)), aa):
        np.testing.assert_allclose(back, aa, atol=1e-8)
    for back in _both(lambda x: R.rot6d_to_axis_angle(R.axis_angle_to_6d(x)), aa):
        np.testing.assert_allclose(back, aa, atol=1e-6)


@SET
@given(quat_raw)
def test_quat_matrix_round_trip(q):
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    q_canon = np.where(q[:, :1] < 0, -q, q)
    for back in _both(lambda x: R.matrix_to_quat(R.quat_to_matrix(x)), q):
        # Equal up to sign (q and -q are one rotation); compare via |dot| = 1.
        np.testing.assert_allclose(np.abs(np.sum(back * q_canon, -1)), 1.0, atol=1e-9)
        assert np.all(back[:, 0] >= -1e-12)
        np.testing.assert_allclose(np.linalg.norm(back, axis=-1), 1.0, atol=1e-12)


@SET
@given(quat_raw)
def test_quat_matrix_agrees_with_rodrigues(q):
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    aa_np, aa_th = _both(R.quat_to_axis_angle, q)
    np.testing.assert_allclose(aa_th, aa_np, atol=1e-9)
    np.testing.assert_allclose(_rodrigues(aa_np), R.quat_to_matrix(q), atol=1e-9)


@SET
@given(quat_raw, quat_raw)
def test_quat_multiply_is_matrix_product(a, b):
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    ab_np, ab_th = _both(lambda x: R.quat_multiply(x[0], x[1]), np.stack([a, b]))
    np.testing.assert_allclose(ab_th, ab_np, atol=1e-12)
    np.testing.assert_allclose(R.quat_to_matrix(ab_np), R.quat_to_matrix(a) @ R.quat_to_matrix(b), atol=1e-9)
    np.testing.assert_allclose(R.quat_to_matrix(R.quat_multiply(a, R.quat_conjugate(a))),
                               np.broadcast_to(np.eye(3), (5, 3, 3)), atol=1e-9)


@SET
@given(d6_raw)
def test_6d_gram_schmidt_orthonormal_and_idempotent(d6):
    m_np, m_th = _both(R.rot6d_to_matrix, d6)
    np.testing.assert_allclose(m_th, m_np, atol=1e-9)
    np.testing.assert_allclose(m_np @ np.swapaxes(m_np, -1, -2), np.broadcast_to(np.eye(3), m_np.shape), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(m_np), 1.0, atol=1e-9)
    # The first row keeps the direction of the first stored vector.
    a1 = d6[:, :3] / np.linalg.norm(d6[:, :3], axis=-1, keepdims=True)
    np.testing.assert_allclose(m_np[:, 0], a1, atol=1e-9)
    # matrix -> 6D -> matrix is exact for rotation matrices.
    np.testing.assert_allclose(R.rot6d_to_matrix(R.matrix_to_6d(m_np)), m_np, atol=1e-9)
    q_np, q_th = _both(R.rot6d_to_quat, d6)
    np.testing.assert_allclose(R.quat_to_6d(q_np), R.matrix_to_6d(m_np), atol=1e-9)


@SET
@given(vec3)
def test_6d_layout_is_pytorch3d_first_two_rows(aa):
    m = R.axis_angle_to_matrix(aa)
    d6_np, d6_th = _both(R.axis_angle_to_6d, aa)
    # pytorch3d.transforms.matrix_to_rotation_6d: matrix[..., :2, :].reshape(..., 6)
    np.testing.assert_allclose(d6_np[:, :3], m[:, 0, :], atol=1e-12)
    np.testing.assert_allclose(d6_np[:, 3:], m[:, 1, :], atol=1e-12)
    np.testing.assert_allclose(d6_th, d6_np, atol=1e-12)


def test_known_rotations_act_on_column_vectors():
    # +90 deg about Z takes +X to +Y (right-handed, matrices act on column vectors).
    m = R.axis_angle_to_matrix(np.array([0.0, 0.0, np.pi / 2]))
    np.testing.assert_allclose(m @ [1.0, 0, 0], [0, 1.0, 0], atol=1e-12)
    q = R.axis_angle_to_quat(np.array([np.pi / 2, 0.0, 0.0]))
    np.testing.assert_allclose(q, [np.cos(np.pi / 4), np.sin(np.pi / 4), 0, 0], atol=1e-12)
    # Exactly 180 degrees: the matrix->quat branch choice must still be right.
    for axis in np.eye(3):
        back = R.matrix_to_axis_angle(R.axis_angle_to_matrix(axis * np.pi))
        np.testing.assert_allclose(_rodrigues(back), _rodrigues(axis * np.pi), atol=1e-9)


@SET
@given(arrays(np.float64, (20, 3, 4), elements=st.floats(-1.0, 1.0, allow_nan=False)).filter(
    lambda q: np.all(np.linalg.norm(q, axis=-1) > 1e-2)), st.data())
def test_quat_make_continuous(q, data):
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    flips = data.draw(arrays(np.bool_, q.shape[:2]))
    flipped = np.where(flips[..., None], -q, q)
    out = R.quat_make_continuous(flipped, axis=0)
    # Same rotations (each frame equals the input up to sign)...
    np.testing.assert_allclose(np.abs(np.sum(out * flipped, -1)), 1.0, atol=1e-12)
    # ...first frame untouched, and no two neighbours in opposite hemispheres.
    np.testing.assert_array_equal(out[0], flipped[0])
    assert np.all(np.sum(out[1:] * out[:-1], -1) >= 0)
    # Along another axis too.
    out1 = R.quat_make_continuous(np.swapaxes(flipped, 0, 1), axis=1)
    np.testing.assert_allclose(np.swapaxes(out1, 0, 1), out, atol=0)


def test_torch_gradients_finite_at_zero_and_pi():
    aa = torch.tensor([[0.0, 0.0, 0.0], [1e-8, 0, 0], [np.pi - 1e-4, 0, 0], [0.3, -0.2, 0.1]],
                      dtype=torch.float64, requires_grad=True)
    d6 = R.axis_angle_to_6d(aa)
    back = R.rot6d_to_axis_angle(d6)
    (d6.sum() + back.sum()).backward()
    assert torch.all(torch.isfinite(aa.grad))


def test_float32_torch_round_trip():
    aa = torch.tensor(np.random.default_rng(0).uniform(-1.5, 1.5, (100, 24, 3)), dtype=torch.float32)
    back = R.matrix_to_axis_angle(R.axis_angle_to_matrix(aa))
    assert back.dtype == torch.float32
    assert torch.allclose(back, aa, atol=1e-4)
