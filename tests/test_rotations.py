import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from genmo.body import rotations as R

finite = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, width=32)
vec3 = st.tuples(finite, finite, finite)


def _t(v):
    return torch.tensor(v, dtype=torch.float64)


@settings(max_examples=200, deadline=None)
@given(vec3)
def test_axis_angle_matches_scipy_and_round_trips(v):
    aa = _t(v)
    m = R.axis_angle_to_matrix(aa)
    np.testing.assert_allclose(m.numpy(), Rotation.from_rotvec(np.array(v, dtype=np.float64)).as_matrix(), atol=1e-6)
    np.testing.assert_allclose(R.axis_angle_to_matrix(R.matrix_to_axis_angle(m)).numpy(), m.numpy(), atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(vec3)
def test_quaternion_and_6d_round_trips(v):
    m = R.axis_angle_to_matrix(_t(v))
    q = R.matrix_to_quaternion(m)
    assert q[0] >= 0 and abs(q.norm().item() - 1) < 1e-9
    np.testing.assert_allclose(R.quaternion_to_matrix(q).numpy(), m.numpy(), atol=1e-6)
    np.testing.assert_allclose(R.rot6d_to_matrix(R.matrix_to_rot6d(m)).numpy(), m.numpy(), atol=1e-6)
    np.testing.assert_allclose(R.quaternion_to_matrix(R.axis_angle_to_quaternion(_t(v))).numpy(), m.numpy(), atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.lists(finite, min_size=6, max_size=6))
def test_rot6d_of_any_vector_is_a_rotation(v):
    d6 = _t(v)
    if d6[:3].norm() < 1e-3 or torch.linalg.cross(d6[:3], d6[3:]).norm() < 1e-3:
        return  # degenerate input: the two vectors must span a plane
    m = R.rot6d_to_matrix(d6)
    np.testing.assert_allclose((m @ m.T).numpy(), np.eye(3), atol=1e-6)
    assert abs(torch.det(m).item() - 1) < 1e-6


def test_6d_is_the_first_two_rows():
    m = R.axis_angle_to_matrix(torch.tensor([0.3, -0.2, 0.9]))
    assert torch.equal(R.matrix_to_rot6d(m), m[:2].reshape(6))


def test_batched_shapes():
    aa = torch.randn(5, 7, 24, 3)
    assert R.axis_angle_to_matrix(aa).shape == (5, 7, 24, 3, 3)
    assert R.matrix_to_rot6d(R.axis_angle_to_matrix(aa)).shape == (5, 7, 24, 6)


def test_euler_bvh_order():
    angles = np.array([[30.0, 20.0, -45.0]])
    m = R.euler_to_matrix_np(angles, "ZXY")
    rz = Rotation.from_euler("z", 30, degrees=True).as_matrix()
    rx = Rotation.from_euler("x", 20, degrees=True).as_matrix()
    ry = Rotation.from_euler("y", -45, degrees=True).as_matrix()
    np.testing.assert_allclose(m[0], rz @ rx @ ry, atol=1e-9)
    np.testing.assert_allclose(R.matrix_to_euler_np(m, "ZXY"), angles, atol=1e-6)


def test_heading_and_rotation_about_y():
    angles = torch.tensor([-3.0, -1.0, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(R.heading_angle(R.rotation_about_y(angles)).numpy(), angles.numpy(), atol=1e-6)


def test_wrong_shape_is_reported():
    import pytest

    with pytest.raises(ValueError, match=r"\(\.\.\., 6\)"):
        R.rot6d_to_matrix(torch.zeros(4, 5))
