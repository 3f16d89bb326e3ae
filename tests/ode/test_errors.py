"""Every error path of ``solve``: bad input is a ValueError naming the argument;
an integration that cannot continue raises SolverError carrying t, h and the
counts; nothing loops forever (scipy's solve_ivp does on NaN at t0)."""
import numpy as np
import pytest

from refimpl.ode import SolverError, solve
from refimpl.ode import errors as E


def decay(t, y):
    return -y


@pytest.mark.parametrize("kw, match", [
    (dict(rtol=-1e-3), "rtol: expected a finite scalar >= 0"),
    (dict(rtol=[1e-3, 1e-3]), "rtol"),
    (dict(atol=-1.0), "atol: expected finite values >= 0"),
    (dict(atol=np.array([1e-6, -1e-6])), "atol"),
    (dict(atol=np.ones(3)), r"atol: expected a scalar or an array of shape \(2,\).*got shape \(3,\)"),
    (dict(method="rk45"), "method: expected one of euler, midpoint.*dop853, got 'rk45'"),
    (dict(t_eval=[0.5, 2.0]), r"t_eval: expected times within t_span \[0.0, 1.0\]"),
    (dict(t_eval=[-0.1, 0.5]), "t_eval: expected times within"),
    (dict(t_eval=[0.5, 0.2]), "t_eval: expected strictly increasing"),
    (dict(t_eval=[0.2, 0.2]), "t_eval: expected strictly increasing"),
    (dict(t_eval=[[0.2]]), "t_eval: expected a non-empty 1-D array"),
    (dict(first_step=0.0), "first_step: expected a positive"),
    (dict(first_step=2.0), "first_step: expected at most"),
    (dict(max_step=-1.0), "max_step: expected a positive"),
    (dict(max_steps=0), "max_steps: expected a positive integer"),
    (dict(max_steps=2.5), "max_steps: expected a positive integer"),
    (dict(step_size=0.0), "step_size: expected a positive"),
    (dict(method="rk4"), "step_size: method 'rk4' is fixed-step"),
])
def test_bad_arguments_name_themselves(kw, match):
    with pytest.raises(ValueError, match=match):
        solve(decay, (0.0, 1.0), [1.0, 2.0], **kw)


def test_t_eval_must_follow_backward_direction():
    with pytest.raises(ValueError, match="t_eval: expected strictly decreasing"):
        solve(decay, (1.0, 0.0), [1.0], t_eval=[0.2, 0.5])


@pytest.mark.parametrize("t_span", [(0.0,), (0.0, np.inf), "ab", None])
def test_bad_t_span(t_span):
    with pytest.raises(ValueError, match="t_span"):
        solve(decay, t_span, [1.0])


@pytest.mark.parametrize("y0, match", [
    ([], r"y0: expected a non-empty array, got shape \(0,\)"),
    (np.zeros((2, 0)), "y0: expected a non-empty array"),
    (["a", "b"], "y0: expected a real numeric"),
    ([1.0, None], "y0: expected a real numeric"),
    ([1.0, np.nan], "y0: expected finite values"),
    ([1.0 + 1j], "y0: expected a real numeric"),
])
def test_bad_y0(y0, match):
    with pytest.raises(ValueError, match=match):
        solve(decay, (0, 1), y0)


def test_integer_y0_becomes_float64():
    r = solve(decay, (0, 1), [1, 2], rtol=1e-10, atol=1e-12)
    assert r.y.dtype == np.float64
    np.testing.assert_allclose(r.y[-1], np.exp(-1) * np.array([1, 2]), rtol=1e-9)


def test_func_returning_wrong_shape_names_both_shapes():
    with pytest.raises(ValueError, match=r"func: expected .* shape \(2,\).*got shape \(3,\)"):
        solve(lambda t, y: np.ones(3), (0, 1), [1.0, 2.0])


def test_func_not_callable():
    with pytest.raises(ValueError, match="func: expected a callable"):
        solve("f", (0, 1), [1.0])


def test_tiny_rtol_warns_and_is_raised_to_the_floor():
    with pytest.warns(UserWarning, match="rtol=.*below 100\\*eps"):
        r = solve(decay, (0, 1), [1.0], rtol=0.0, atol=1e-14)
    np.testing.assert_allclose(r.y[-1], np.exp(-1), rtol=1e-12)


def test_nan_at_t0_raises_immediately():
    # scipy.integrate.solve_ivp loops forever here: its initial step is NaN, so the
    # underflow test `h_abs < min_step` is never true; refimpl raises after one evaluation.
    with pytest.raises(SolverError) as info:
        solve(lambda t, y: np.full_like(y, np.nan), (0, 1), [1.0])
    e = info.value
    assert e.status == E.STATUS_NONFINITE and e.t == 0.0 and e.nfev == 1 and e.n_steps == 0


@pytest.mark.parametrize("method", ["dopri5", "dop853", "tsit5"])
def test_nan_later_raises_near_where_it_starts(method):
    f = lambda t, y: -y if t < 0.5 else np.nan * y  # noqa: E731
    with pytest.raises(SolverError) as info:
        solve(f, (0, 1), [1.0], method=method)
    e = info.value
    assert e.status == E.STATUS_NONFINITE and 0.49 < e.t <= 0.5 and e.nfev > 0


def test_nan_in_fixed_step_run():
    f = lambda t, y: -y if t < 0.5 else np.nan * y  # noqa: E731
    with pytest.raises(SolverError, match="non-finite") as info:
        solve(f, (0, 1), [1.0], method="rk4", step_size=0.1)
    assert info.value.status == E.STATUS_NONFINITE


@pytest.mark.parametrize("method", ["dopri5", "dop853", "tsit5", "bosh3"])
def test_finite_time_blow_up(method):
    # y' = y^2, y(0) = 1: y = 1/(1 - t) blows up at t = 1
    with pytest.raises(SolverError) as info:
        solve(lambda t, y: y * y, (0, 2), [1.0], method=method)
    e = info.value
    assert e.status in (E.STATUS_STEP_UNDERFLOW, E.STATUS_NONFINITE)
    assert 0.999 < e.t < 1.001 and abs(e.h) < 1e-10
    assert e.n_steps == e.n_accepted + e.n_rejected > 0


def test_exponential_overflow():
    # y' = exp(y), y(0) = 1: y = -log(e^-1 - t) blows up at t = 1/e
    with pytest.raises(SolverError) as info:
        solve(lambda t, y: np.exp(y), (0, 2), [1.0])
    assert abs(info.value.t - np.exp(-1)) < 1e-6


def test_max_steps_exceeded_carries_counts():
    with pytest.raises(SolverError, match="max_steps=10 exceeded") as info:
        solve(decay, (0, 100), [1.0], max_steps=10)
    e = info.value
    assert e.status == E.STATUS_MAX_STEPS and e.n_steps == 10 and 0 < e.t < 100
    assert e.nfev == 2 + 6 * e.n_steps            # f(t0) + initial step + 6 per dopri5 attempt


def test_max_steps_exceeded_by_fixed_grid():
    with pytest.raises(SolverError, match="max_steps") as info:
        solve(decay, (0, 100), [1.0], method="rk4", step_size=0.1, max_steps=10)
    assert info.value.status == E.STATUS_MAX_STEPS


def test_stiff_problem_hits_max_steps_instead_of_hanging():
    with pytest.raises(SolverError) as info:
        solve(lambda t, y: -1e6 * (y - np.cos(t)), (0, 1), [1.0], max_steps=500)
    assert info.value.status == E.STATUS_MAX_STEPS


def test_solver_error_is_runtime_error_with_message():
    e = SolverError("boom", t=1.0, h=0.1, nfev=3, n_steps=2, status=-1)
    assert isinstance(e, RuntimeError) and "t=1.0" in str(e) and "nfev=3" in str(e)
