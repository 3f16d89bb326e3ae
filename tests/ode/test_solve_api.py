"""The ``solve`` API: argument conventions (scipy's order), Solution fields and
shapes, args, array atol, backward integration, step limits, evaluation counts."""
import numpy as np
import pytest

from refimpl.ode import ADAPTIVE_METHODS, FIXED_METHODS, Solution, get_tableau, solve
from refimpl.ode.problems import ARENSTORF_T, ARENSTORF_Y0, arenstorf, lorenz, LORENZ_Y0


def decay(t, y, k=1.0):
    return -k * y


def test_solution_fields():
    r = solve(decay, (0, 1), [1.0, 2.0])
    assert isinstance(r, Solution) and r.success and r.status == 0
    assert r.t[0] == 0.0 and r.t[-1] == 1.0 and np.all(np.diff(r.t) > 0)
    assert r.y.shape == (len(r.t), 2)
    assert r.n_steps == r.n_accepted + r.n_rejected and r.n_accepted == len(r.t) - 1
    assert r.method == "dopri5" and r.sol is None and "successfully" in r.message


def test_args_are_passed():
    r = solve(decay, (0, 1), [1.0], args=(3.0,), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.y[-1], np.exp(-3.0), rtol=1e-9)


@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (2, 1, 2)])
def test_state_of_any_shape(shape):
    y0 = np.linspace(1, 2, int(np.prod(shape))).reshape(shape)
    te = [0.0, 0.5, 1.0]
    seen = []

    def f(t, y):
        seen.append(y.shape)
        return -y

    r = solve(f, (0, 1), y0, t_eval=te, rtol=1e-10, atol=1e-12)
    assert r.y.shape == (3,) + shape and set(seen) == {shape}
    np.testing.assert_allclose(r.y[-1], y0 * np.exp(-1), rtol=1e-9)


def test_array_atol_per_component():
    # a component with a loose atol takes fewer steps than the tight one
    y0 = np.array([1.0, 1.0])
    loose = solve(decay, (0, 10), y0, rtol=1e-12, atol=np.array([1e-3, 1e-3]))
    mixed = solve(decay, (0, 10), y0, rtol=1e-12, atol=np.array([1e-3, 1e-12]))
    assert mixed.n_accepted > loose.n_accepted


def test_backward_equals_forward():
    fwd = solve(arenstorf, (0, ARENSTORF_T / 3), ARENSTORF_Y0, rtol=1e-10, atol=1e-12)
    bwd = solve(arenstorf, (ARENSTORF_T / 3, 0), fwd.y[-1], rtol=1e-10, atol=1e-12)
    assert bwd.t[-1] == 0.0 and np.all(np.diff(bwd.t) < 0)
    np.testing.assert_allclose(bwd.y[-1], ARENSTORF_Y0, atol=1e-6)


def test_t_eval_endpoints_are_exact_points():
    te = np.array([0.0, 0.3, 1.0])
    r = solve(decay, (0, 1), [1.0], t_eval=te)
    np.testing.assert_array_equal(r.t, te)
    assert r.y[0, 0] == 1.0


def test_max_step_is_respected():
    r = solve(decay, (0, 10), [1.0], max_step=0.25)
    assert np.max(np.diff(r.t)) <= 0.25 + 1e-15


def test_first_step_is_used():
    r = solve(decay, (0, 1), [1.0], first_step=1e-3)
    assert abs(r.t[1] - 1e-3) < 1e-18
    assert r.nfev == 1 + 6 * r.n_steps            # no initial-step evaluation


def test_zero_length_interval():
    r = solve(decay, (1.0, 1.0), [2.0], dense_output=True)
    assert r.t.tolist() == [1.0] and r.y.tolist() == [[2.0]] and r.n_steps == 0
    assert r.sol(1.0).tolist() == [2.0]


@pytest.mark.parametrize("method", ADAPTIVE_METHODS)
def test_evaluation_counts(method):
    tab = get_tableau(method)
    r = solve(lorenz, (0, 2), LORENZ_Y0, method=method, rtol=1e-6, atol=1e-8)
    # f(t0) + initial step + (s - 1) per attempt + f(t_new, y_new) per accepted (non-FSAL)
    expected = 2 + (tab.n_stages - 1) * r.n_steps + (0 if tab.fsal else r.n_accepted)
    assert r.nfev == expected
    assert r.n_rejected > 0 or method == "heun_euler"


@pytest.mark.parametrize("method", FIXED_METHODS)
def test_fixed_step_grid_from_t_eval(method):
    te = np.linspace(0, 1, 21)
    r = solve(decay, (0, 1), [1.0], method=method, t_eval=te)
    np.testing.assert_array_equal(r.t, te)
    assert r.n_steps == 20 and r.n_rejected == 0
    assert r.nfev == 1 + get_tableau(method).n_stages * 20


def test_fixed_step_size_lands_on_t1():
    r = solve(decay, (0, 1), [1.0], method="rk4", step_size=0.3)
    np.testing.assert_allclose(np.diff(r.t), [0.3, 0.3, 0.3, 0.1], rtol=1e-12)
    assert r.t[-1] == 1.0


def test_adaptive_tableau_at_fixed_steps():
    r = solve(decay, (0, 1), [1.0], method="dopri5", step_size=0.1)
    assert r.n_steps == 10 and r.nfev == 1 + 6 * 10


def test_arenstorf_against_tight_scipy_dop853():
    from scipy.integrate import solve_ivp
    te = np.linspace(0, ARENSTORF_T, 50)
    ours = solve(arenstorf, (0, ARENSTORF_T), ARENSTORF_Y0, rtol=1e-9, atol=1e-11, t_eval=te)
    ref = solve_ivp(arenstorf, (0, ARENSTORF_T), ARENSTORF_Y0, method="DOP853", rtol=1e-13,
                    atol=1e-14, t_eval=te)
    assert np.abs(ours.y - ref.y.T).max() < 1e-5


@pytest.mark.parametrize("controller", ["default", "scipy", "hairer", "torchdiffeq"])
def test_zero_length_interval_every_controller(controller):
    for kw in ({}, dict(t_eval=[1.0])):
        r = solve(decay, (1.0, 1.0), [2.0], controller=controller, **kw)
        assert r.t.tolist() == [1.0] and r.y.tolist() == [[2.0]] and r.n_steps == 0


@pytest.mark.parametrize("method", ["heun_euler", "dop853", "rk4"])
def test_func_returning_a_list_or_a_reused_buffer(method):
    # scipy accepts any array-like return value; and a func that writes into one buffer it
    # returns every time must not corrupt f(t_new, y_new) when the dense output calls it again
    buf = np.empty(2)

    def reuse(t, y):
        buf[0], buf[1] = y[1], -y[0]
        return buf

    kw = dict(method=method, rtol=1e-8, atol=1e-10, t_eval=np.linspace(0, 1, 5))
    if method == "rk4":
        kw["step_size"] = 0.01
    ref = solve(lambda t, y: np.array([y[1], -y[0]]), (0, 1), [1.0, 0.0], **kw)
    for f in (lambda t, y: [y[1], -y[0]], reuse):
        r = solve(f, (0, 1), [1.0, 0.0], dense_output=True, **kw)
        np.testing.assert_array_equal(r.y, ref.y)
        np.testing.assert_allclose(r.sol(0.6), [np.cos(0.6), -np.sin(0.6)], atol=1e-5)


@pytest.mark.parametrize("method", ADAPTIVE_METHODS)
def test_inlined_error_norm_equals_control_error_norm(method):
    # the stepper inlines the norm for speed; its twin is control.estimate_error_norm
    # (also used by the traced odeint): one step of Hairer I eq. (1.8) written out here
    from refimpl.ode.control import estimate_error_norm
    tab, h, rtol, atol = get_tableau(method), 0.02, 1e-6, 1e-8
    r = solve(lorenz, (0, 1), LORENZ_Y0, method=method, rtol=rtol, atol=atol, first_step=h)
    s = tab.n_stages
    K = np.zeros((s, 3))
    for i in range(s):
        K[i] = lorenz(tab.c[i] * h, LORENZ_Y0 + h * (tab.A[i, :i] @ K[:i]))
    y_new = LORENZ_Y0 + h * (tab.b @ K)
    err = estimate_error_norm(tab, K, h, LORENZ_Y0, y_new, rtol, atol)
    assert r.history.h[0] == h and err > 1e-5                # a real, nonzero estimate
    # (the estimate is a small difference of O(1) stage sums: rounding of the differently
    # ordered stage arithmetic shows at ~1e-9 relative for dop853)
    np.testing.assert_allclose(r.history.error_norm[0], err, rtol=1e-8)
