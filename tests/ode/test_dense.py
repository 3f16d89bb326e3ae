"""Dense output: equals the solution at mesh points, has its stated order between
them (dopri5/tsit5: 4, dop853: 7, cubic Hermite: 3), agrees with t_eval output,
works backwards and for any state shape, and refuses times outside t_span."""
import numpy as np
import pytest

from refimpl.ode import ADAPTIVE_METHODS, METHODS, get_tableau, solve
from refimpl.ode.problems import ARENSTORF_T, ARENSTORF_Y0, arenstorf

A = np.array([[-0.3, 2.0, 0.0], [-2.0, -0.3, 0.5], [0.0, -0.5, -0.2]])
Y0 = np.array([1.0, 0.5, -0.3])
_LAM, _V = np.linalg.eig(A)
_C = np.linalg.solve(_V, Y0)


def exact(t):
    return (_V @ (np.exp(_LAM * t) * _C)).real


def rhs(t, y):
    return A @ y


def tols(method):
    """Moderate tolerances (heun_euler, 2nd order, looser to keep the test fast)."""
    return dict(rtol=1e-4, atol=1e-6) if method == "heun_euler" else dict(rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("method", ADAPTIVE_METHODS)
def test_dense_equals_solution_at_mesh_points(method):
    r = solve(arenstorf, (0, ARENSTORF_T / 4), ARENSTORF_Y0, method=method, dense_output=True,
              **tols(method))
    np.testing.assert_array_equal(r.sol(r.t[:-1]), r.y[:-1])       # θ = 0: exactly y_k
    np.testing.assert_allclose(r.sol(r.t[-1]), r.y[-1], rtol=1e-13, atol=1e-13)  # θ = 1


@pytest.mark.parametrize("method", METHODS)
def test_dense_order_one_step(method):
    # one step of size h from the exact y0: interpolation error O(h^(min(p, p*) + 1))
    tab = get_tableau(method)
    expected = min(tab.order, tab.dense_order) + 1
    hs = (0.8 if method == "dop853" else 0.2) / 2.0 ** np.arange(4)
    errs = []
    for h in hs:
        r = solve(rhs, (0, h), Y0, method=method, step_size=h, dense_output=True)
        errs.append(max(np.abs(r.sol(th * h) - exact(th * h)).max() for th in (0.3, 0.5, 0.7)))
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert abs(slope - expected) < 0.3, (slope, expected, errs)


@pytest.mark.parametrize("method", ADAPTIVE_METHODS)
def test_t_eval_matches_dense_output_and_keeps_the_steps(method):
    te = np.linspace(0, ARENSTORF_T / 4, 17)
    kw = dict(method=method, **tols(method))
    r_dense = solve(arenstorf, (0, te[-1]), ARENSTORF_Y0, dense_output=True, **kw)
    r_eval = solve(arenstorf, (0, te[-1]), ARENSTORF_Y0, t_eval=te, **kw)
    np.testing.assert_array_equal(r_eval.t, te)
    np.testing.assert_allclose(r_eval.y, r_dense.sol(te), rtol=1e-14, atol=1e-14)
    assert r_eval.n_accepted == r_dense.n_accepted and r_eval.n_rejected == r_dense.n_rejected


def test_dense_output_backwards_and_between_steps():
    r = solve(rhs, (3.0, 0.0), exact(3.0), rtol=1e-9, atol=1e-12, dense_output=True)
    tt = np.linspace(3.0, 0.0, 101)
    err = np.abs(r.sol(tt) - np.array([exact(t) for t in tt])).max()
    assert err < 1e-7
    assert r.t[0] == 3.0 and r.t[-1] == 0.0 and np.all(np.diff(r.t) < 0)


def test_dense_output_shapes():
    y0 = np.arange(6.0).reshape(2, 3) + 1
    r = solve(lambda t, y: -y, (0, 1), y0, dense_output=True, rtol=1e-10, atol=1e-12)
    assert r.sol(0.5).shape == (2, 3)
    assert r.sol([0.25, 0.5]).shape == (2, 2, 3)
    np.testing.assert_allclose(r.sol(0.5), y0 * np.exp(-0.5), rtol=1e-9)


def test_dense_output_refuses_times_outside_t_span():
    r = solve(rhs, (0, 1), Y0, dense_output=True)
    with pytest.raises(ValueError, match="t: expected times within"):
        r.sol(1.5)


@pytest.mark.parametrize("kind, p", [("dop853", 8), ("poly", 5), ("hermite", 4)])
def test_step_evaluator_twins_agree(kind, p):
    # the per-step scalar evaluator used for t_eval and the vectorised one of sol(t)
    from refimpl.ode.dense import eval_coefficients, eval_step
    C = np.random.default_rng(0).normal(size=(p, 5))
    for theta in (0.0, 0.37, 1.0):
        np.testing.assert_allclose(eval_step(kind, C, theta),
                                   eval_coefficients(kind, C[None], np.array([theta]))[0],
                                   rtol=1e-14, atol=1e-14)


def test_no_dense_output_by_default():
    assert solve(rhs, (0, 1), Y0).sol is None


def test_dop853_dense_costs_three_evaluations_per_step():
    kw = dict(method="dop853", rtol=1e-8, atol=1e-10)
    r0 = solve(rhs, (0, 5), Y0, **kw)
    r1 = solve(rhs, (0, 5), Y0, dense_output=True, **kw)
    assert r1.nfev == r0.nfev + 3 * r0.n_accepted
