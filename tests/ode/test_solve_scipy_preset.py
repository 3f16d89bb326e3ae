"""controller="scipy" reproduces scipy.integrate.solve_ivp (RK45, RK23, DOP853) step for
step: same RHS evaluations, same steps, bit-identical outputs (t_eval, backwards,
first_step, max_step, dense output); the step history is consistent with the counts."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from refimpl.ode import solve
from refimpl.ode.problems import (ARENSTORF_T, ARENSTORF_Y0, DETEST, LORENZ_Y0, arenstorf,
                                  kepler, kepler_y0, lorenz)

PAIRS = [("dopri5", "RK45"), ("bosh3", "RK23"), ("dop853", "DOP853")]
A = np.array([[-0.3, 2.0, 0.0], [-2.0, -0.3, 0.5], [0.0, -0.5, -0.2]])

# name: (rhs, t_span, y0, rtol, atol, extra kwargs)
CASES = {
    "lorenz": (lorenz, (0.0, 3.0), LORENZ_Y0, 1e-7, 1e-9, {}),
    "arenstorf backwards, t_eval": (arenstorf, (ARENSTORF_T, ARENSTORF_T / 2), ARENSTORF_Y0, 1e-8,
                                    1e-8, dict(t_eval=np.linspace(ARENSTORF_T, ARENSTORF_T / 2, 40))),
    "kepler e=0.7, t_eval incl. ends": (kepler, (0.0, 6.0), kepler_y0(0.7), 1e-9, 1e-11,
                                        dict(t_eval=np.linspace(0.0, 6.0, 25))),
    "linear, atol array, max_step": (lambda t, y: A @ y, (0.0, 5.0), np.array([1.0, 0.5, -0.3]),
                                     1e-6, np.array([1e-8, 1e-6, 1e-9]), dict(max_step=0.2)),
    "A5, first_step": (DETEST["A5"][0], (0.0, 20.0), DETEST["A5"][1], 1e-6, 1e-8,
                       dict(first_step=1e-3)),
}


@pytest.mark.parametrize("method, scipy_method", PAIRS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_bit_identical_to_solve_ivp(case, method, scipy_method):
    f, span, y0, rtol, atol, kw = CASES[case]
    ours = solve(f, span, y0, method=method, rtol=rtol, atol=atol, controller="scipy", **kw)
    ref = solve_ivp(f, span, y0, method=scipy_method, rtol=rtol, atol=atol, **kw)
    assert ours.nfev == ref.nfev
    np.testing.assert_array_equal(ours.t, ref.t)
    np.testing.assert_array_equal(ours.y, ref.y.T)
    if "t_eval" not in kw:
        assert ours.n_accepted == len(ref.t) - 1


@pytest.mark.parametrize("method, scipy_method", PAIRS)
def test_dense_output_matches(method, scipy_method):
    f, span, y0 = arenstorf, (0.0, ARENSTORF_T / 2), ARENSTORF_Y0
    ours = solve(f, span, y0, method=method, rtol=1e-7, atol=1e-9, controller="scipy",
                 dense_output=True)
    ref = solve_ivp(f, span, y0, method=scipy_method, rtol=1e-7, atol=1e-9, dense_output=True)
    assert ours.nfev == ref.nfev                  # DOP853: +3 per step for its dense output
    tt = np.linspace(*span, 501)
    np.testing.assert_allclose(ours.sol(tt), ref.sol(tt).T, rtol=0, atol=1e-13)


@pytest.mark.parametrize("method", ["dopri5", "bosh3", "dop853"])
def test_history_is_consistent_with_counts(method):
    r = solve(lorenz, (0.0, 3.0), LORENZ_Y0, method=method, rtol=1e-7, atol=1e-9,
              controller="scipy")
    h = r.history
    assert len(h) == r.n_steps and h.accepted.sum() == r.n_accepted
    assert np.all(h.error_norm[h.accepted] < 1) and np.all(h.error_norm[~h.accepted] >= 1)
    np.testing.assert_array_equal(h.t[h.accepted], r.t[:-1])
    np.testing.assert_allclose(np.cumsum(h.h[h.accepted]) + r.t[0], r.t[1:], rtol=1e-12)
    assert set(h.as_arrays()) == {"t", "h", "error_norm", "accepted"}


def test_default_history_and_acceptance_rule():
    r = solve(lorenz, (0.0, 3.0), LORENZ_Y0, rtol=1e-7, atol=1e-9)
    h = r.history
    assert len(h) == r.n_steps and h.accepted.sum() == r.n_accepted
    assert np.all(h.error_norm[h.accepted] <= 1) and np.all(h.error_norm[~h.accepted] > 1)
    np.testing.assert_array_equal(h.t[h.accepted], r.t[:-1])


def test_default_controller_differs_from_scipy_where_documented():
    # the default stretches the last step (t + 1.01 h passes t1) instead of leaving a sliver
    # (y' = 1 is integrated exactly, so only the step rules act: h = 0.3 from first_step)
    f = lambda t, y: np.ones_like(y)  # noqa: E731
    kw = dict(first_step=0.3, max_step=0.3)
    ours = solve(f, (0.0, 0.902), [0.0], **kw)
    sc = solve(f, (0.0, 0.902), [0.0], controller="scipy", **kw)
    assert sc.controller == "scipy" and ours.controller == "default"
    np.testing.assert_allclose(np.diff(sc.t), [0.3, 0.3, 0.3, 0.002], rtol=1e-9)
    np.testing.assert_allclose(np.diff(ours.t), [0.3, 0.3, 0.302], rtol=1e-9)
    np.testing.assert_array_equal(sc.t, solve_ivp(f, (0.0, 0.902), [0.0], **kw).t)
    # on a real problem the two agree to the tolerance
    ours = solve(lorenz, (0.0, 3.0), LORENZ_Y0, rtol=1e-7, atol=1e-9)
    sc = solve(lorenz, (0.0, 3.0), LORENZ_Y0, rtol=1e-7, atol=1e-9, controller="scipy")
    np.testing.assert_allclose(ours.y[-1], sc.y[-1], rtol=1e-5)


@pytest.mark.parametrize("kw, match", [
    (dict(controller="matlab"), "controller: expected one of default, scipy"),
    (dict(controller="scipy", method="tsit5"), "controller: 'scipy' reproduces"),
    (dict(controller="scipy", step_size=0.1), "controller: 'scipy' reproduces.*step_size"),
])
def test_bad_controller(kw, match):
    with pytest.raises(ValueError, match=match):
        solve(lorenz, (0, 1), LORENZ_Y0, **kw)


def test_nan_later_terminates_under_scipy_rules():
    from refimpl.ode import SolverError
    f = lambda t, y: -y if t < 0.5 else np.nan * y  # noqa: E731
    with pytest.raises(SolverError) as info:
        solve(f, (0, 1), [1.0], controller="scipy")
    assert 0.49 < info.value.t <= 0.5
