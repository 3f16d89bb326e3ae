"""The numba fast path of ``solve`` (refimpl/ode/fast.py) is a twin of the NumPy loops:
for a numba-jitted ``func`` every controller takes the same steps (same history, counts)
and gives the same numbers as the NumPy path run on ``func.py_func``.

Numba compiles each controller's kernel once per (RHS, process) (~5-20 s each on a loaded
2-core machine; the on-disk cache does not apply to kernels that take a function argument),
so the default suite twins the "scipy" kernel only; the other three are marked slow."""
import numpy as np
import pytest
from numba import njit

from refimpl.ode import SolverError, solve
from refimpl.ode.fast import fast_eligible
from refimpl.ode.validate import validate_solve_args


@njit(cache=True)
def lorenz(t, y):
    return np.array([10.0 * (y[1] - y[0]), y[0] * (28.0 - y[2]) - y[1],
                     y[0] * y[1] - 8.0 / 3.0 * y[2]])


@njit(cache=True)
def rhs(t, y):
    """One tiny jitted RHS for three problems: y' = A y + sin(t) (A a damped rotation)."""
    return np.array([-0.3 * y[0] + 2.0 * y[1], -2.0 * y[0] - 0.3 * y[1] + 0.5 * y[2],
                     -0.5 * y[1] - 0.2 * y[2] + np.sin(t)])


Y0 = np.array([1.0, 0.5, -0.3])
# name: (func, t_span, y0, t_eval, rtol, atol)
PROBLEMS = {
    "forward": (rhs, (0.0, 8.0), Y0, None, 1e-8, 1e-10),
    "t_eval": (rhs, (0.0, 8.0), Y0, np.linspace(0.0, 8.0, 17), 1e-6, 1e-9),
    "backwards t_eval": (rhs, (5.0, -1.0), Y0, np.linspace(5.0, -1.0, 7), 1e-7, 1e-9),
    "lorenz": (lorenz, (0.0, 2.0), np.ones(3), np.array([0.5, 1.0, 2.0]), 1e-8, 1e-10),
}
SLOW = pytest.mark.slow


def twins(controller, case):
    f, span, y0, te, rtol, atol = PROBLEMS[case]
    fast = solve(f, span, y0, rtol=rtol, atol=atol, t_eval=te, controller=controller)
    ref = solve(f.py_func, span, y0, rtol=rtol, atol=atol, t_eval=te, controller=controller)
    return fast, ref


@pytest.mark.parametrize("controller", ["scipy", pytest.param("default", marks=SLOW),
                                        pytest.param("hairer", marks=SLOW),
                                        pytest.param("torchdiffeq", marks=SLOW)])
def test_twins_agree(controller):
    for case in PROBLEMS:
        fast, ref = twins(controller, case)
        assert (fast.nfev, fast.n_accepted, fast.n_rejected) == \
            (ref.nfev, ref.n_accepted, ref.n_rejected), case
        np.testing.assert_array_equal(fast.history.accepted, ref.history.accepted)
        np.testing.assert_allclose(fast.history.h, ref.history.h, rtol=1e-13, atol=0)
        np.testing.assert_allclose(fast.history.error_norm, ref.history.error_norm, rtol=1e-12,
                                   atol=1e-15)
        np.testing.assert_allclose(fast.t, ref.t, rtol=1e-13, atol=1e-15)
        scale = np.abs(ref.y).max()
        np.testing.assert_allclose(fast.y, ref.y, rtol=0, atol=1e-13 * scale, err_msg=case)


def test_history_is_consistent_with_counts():
    fast, _ = twins("scipy", "forward")
    h = fast.history
    assert len(h) == fast.n_steps == fast.n_accepted + fast.n_rejected
    assert h.accepted.sum() == fast.n_accepted
    assert np.all(h.error_norm[h.accepted] < 1) and np.all(h.error_norm[~h.accepted] >= 1)
    # RK45 as solve_ivp: f(t0), 1 for the initial step, 6 per attempt
    assert fast.nfev == 2 + 6 * fast.n_steps
    # the accepted steps tile [t0, t1]
    np.testing.assert_allclose(h.h[h.accepted].sum(), 8.0, rtol=1e-14)


def test_matches_scipy_solve_ivp_counts():
    from scipy.integrate import solve_ivp
    f, span, y0, te, rtol, atol = PROBLEMS["backwards t_eval"]
    fast = solve(f, span, y0, rtol=rtol, atol=atol, t_eval=te, controller="scipy")
    ref = solve_ivp(f.py_func, span, y0, method="RK45", rtol=rtol, atol=atol, t_eval=te)
    assert fast.nfev == ref.nfev
    np.testing.assert_allclose(fast.y, ref.y.T, rtol=0, atol=1e-13 * np.abs(ref.y).max())


def test_eligibility_and_fallback():
    def p(func, **kw):
        return validate_solve_args(func, (0.0, 1.0), Y0, (), kw.get("method", "dopri5"), 1e-6,
                                   1e-9, None, None, np.inf, 100, None, "default")
    assert fast_eligible(p(rhs), dense_output=False)
    assert not fast_eligible(p(rhs), dense_output=True)
    assert not fast_eligible(p(rhs.py_func), dense_output=False)
    assert not fast_eligible(p(rhs, method="dop853"), dense_output=False)
    # dense_output falls back to the NumPy loop, with the same steps
    r = solve(rhs, (0.0, 1.0), Y0, dense_output=True, controller="scipy")
    assert r.sol is not None


def test_failures_raise_solver_error():
    with pytest.raises(SolverError, match="max_steps"):
        solve(rhs, (0.0, 8.0), Y0, rtol=1e-10, atol=1e-12, max_steps=5, controller="scipy")
