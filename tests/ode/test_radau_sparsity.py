"""Radau's ``jac_sparsity``: forward differences by groups of structurally independent
columns (refimpl.ode.scipy_radau._grouped_differences) — the same Jacobian as the dense one,
one evaluation per group (+ f0)."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp as scipy_solve_ivp
from scipy.sparse import diags

from refimpl.ode import solve_ivp
from refimpl.ode.scipy_radau import _grouped_differences

N = 30


def fun(t, y):                                  # a stiff 1-D diffusion-reaction chain
    d = np.zeros_like(y)
    d[1:-1] = 50 * (y[:-2] - 2 * y[1:-1] + y[2:])
    d[0], d[-1] = 50 * (y[1] - 2 * y[0]), 50 * (y[-2] - 2 * y[-1])
    return d - y ** 3


def dense_jac(y):
    J = 50 * (np.diag(-2 * np.ones(N)) + np.diag(np.ones(N - 1), 1) + np.diag(np.ones(N - 1), -1))
    return J - np.diag(3 * y ** 2)


SPARSITY = diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(N, N))


def test_grouped_jacobian_equals_the_dense_one_with_few_evaluations():
    calls = [0]

    def counted(t, y):
        calls[0] += 1
        return fun(t, y)
    y = np.linspace(-1, 1, N)
    J = _grouped_differences(counted, SPARSITY, N)(0.0, y)
    np.testing.assert_allclose(J, dense_jac(y), atol=1e-5)
    assert calls[0] <= 1 + 5            # f0 + one per group (tridiagonal: 3-5 groups, not N)


def test_radau_with_sparsity_matches_scipy():
    y0 = np.cos(np.linspace(0, 3, N))
    ours = solve_ivp(fun, (0, 1), y0, method="Radau", jac_sparsity=SPARSITY, rtol=1e-6,
                     atol=1e-9)
    ref = scipy_solve_ivp(fun, (0, 1), y0, method="Radau", jac_sparsity=SPARSITY, rtol=1e-6,
                          atol=1e-9)
    assert ours.success
    np.testing.assert_allclose(ours.y[:, -1], ref.y[:, -1], rtol=1e-4, atol=1e-7)
    dense = solve_ivp(fun, (0, 1), y0, method="Radau", rtol=1e-6, atol=1e-9,
                      jac=lambda t, y: dense_jac(y))
    assert ours.njev == pytest.approx(dense.njev, abs=3)


def test_bad_sparsity_shape_is_named():
    with pytest.raises(ValueError, match="jac_sparsity"):
        solve_ivp(fun, (0, 1), np.ones(N), method="Radau", jac_sparsity=np.ones((3, 3)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_group_columns_is_scipys_grouping(seed):
    # our rewrite of scipy's private greedy grouping: same groups on random sparse patterns
    # (when the private function is still there), and always a valid grouping
    from scipy.sparse import random as sprandom

    from refimpl.ode.scipy_radau import group_columns
    S = sprandom(40, 25, density=0.12, random_state=seed, format="csc")
    S.data[:] = 1.0
    g = group_columns(S)
    D = S.toarray() != 0
    for k in range(g.max() + 1):
        assert D[:, g == k].sum(axis=1).max() <= 1          # no row shared within a group
    try:
        from scipy.optimize._numdiff import group_columns as scipy_group_columns
    except ImportError:
        return
    np.testing.assert_array_equal(g, scipy_group_columns(S))
    np.testing.assert_array_equal(group_columns(SPARSITY), scipy_group_columns(SPARSITY.tocsc()))
