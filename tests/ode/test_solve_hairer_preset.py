"""controller="hairer" reproduces Hairer's DOPRI5 / DOP853 as shipped in
scipy.integrate.ode (one integrate(t_end) call): the same NFCN, NSTEP, NACCPT, NREJCT
and bit-identical end states, forwards, backwards and with max_step."""
import numpy as np
import pytest
from scipy.integrate import ode

from refimpl.ode import solve
from refimpl.ode.problems import (ARENSTORF_T, ARENSTORF_Y0, LORENZ_Y0, arenstorf, kepler,
                                  kepler_y0, lorenz)

A = np.array([[-0.3, 2.0, 0.0], [-2.0, -0.3, 0.5], [0.0, -0.5, -0.2]])
# name: (rhs, t_span, y0, rtol, atol, max_step)
CASES = {
    "lorenz": (lorenz, (0.0, 3.0), LORENZ_Y0, 1e-7, 1e-9, None),
    "arenstorf one period": (arenstorf, (0.0, ARENSTORF_T), ARENSTORF_Y0, 1e-9, 1e-11, None),
    "arenstorf backwards": (arenstorf, (ARENSTORF_T, 0.0), ARENSTORF_Y0, 1e-6, 1e-8, None),
    "kepler e=0.9": (kepler, (0.0, 20.0), kepler_y0(0.9), 1e-8, 1e-10, None),
    # (scipy.integrate.ode's dopri5/dop853 accept scalar tolerances only)
    "linear, max_step": (lambda t, y: A @ y, (0.0, 5.0), np.array([1.0, 0.5, -0.3]), 1e-6, 1e-8,
                         0.3),
}


def scipy_ode(f, span, y0, method, rtol, atol, max_step):
    kw = dict(rtol=rtol, atol=atol, nsteps=10 ** 6)
    if max_step is not None:
        kw["max_step"] = max_step
    r = ode(f).set_integrator(method, **kw)
    r.set_initial_value(y0, span[0])
    y = r.integrate(span[1])
    assert r.successful()
    nfcn, nstep, naccpt, nrejct = (int(v) for v in r._integrator.iwork[16:20])
    return y, nfcn, nstep, naccpt, nrejct


@pytest.mark.parametrize("method", ["dopri5", "dop853"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_counts_and_bits_as_scipy_ode(case, method):
    f, span, y0, rtol, atol, max_step = CASES[case]
    y_ref, nfcn, nstep, naccpt, nrejct = scipy_ode(f, span, y0, method, rtol, atol, max_step)
    kw = {} if max_step is None else dict(max_step=max_step)
    r = solve(f, span, y0, method=method, rtol=rtol, atol=atol, controller="hairer", **kw)
    h = r.history
    before_first_acceptance = int(np.argmax(h.accepted))     # NREJCT skips these
    assert (r.nfev, r.n_steps, r.n_accepted) == (nfcn, nstep, naccpt)
    assert r.n_rejected - before_first_acceptance == nrejct
    np.testing.assert_array_equal(r.y[-1], y_ref)
    if max_step is not None:
        assert np.max(np.abs(np.diff(r.t))) <= max_step * (1 + 1e-12)


def test_pi_controller_differs_from_scipy_solve_ivp_rules():
    # same pair, different controllers: different step sequences, same accuracy class
    f, span, y0 = arenstorf, (0.0, ARENSTORF_T), ARENSTORF_Y0
    hairer = solve(f, span, y0, rtol=1e-8, atol=1e-8, controller="hairer")
    scipy_rules = solve(f, span, y0, rtol=1e-8, atol=1e-8, controller="scipy")
    assert hairer.n_steps != scipy_rules.n_steps
    assert np.abs(hairer.y[-1] - ARENSTORF_Y0).max() < 1e-3
    assert np.abs(scipy_rules.y[-1] - ARENSTORF_Y0).max() < 1e-3


def test_t_eval_under_hairer_rules_matches_dense_output():
    te = np.linspace(0.0, 3.0, 13)
    a = solve(lorenz, (0, 3), LORENZ_Y0, method="dop853", rtol=1e-8, atol=1e-10,
              controller="hairer", t_eval=te)
    b = solve(lorenz, (0, 3), LORENZ_Y0, method="dop853", rtol=1e-8, atol=1e-10,
              controller="hairer", dense_output=True)
    np.testing.assert_allclose(a.y, b.sol(te), rtol=1e-13, atol=1e-13)
    assert a.n_steps == b.n_steps


def test_hairer_rejects_other_methods():
    with pytest.raises(ValueError, match="controller: 'hairer' reproduces"):
        solve(lorenz, (0, 1), LORENZ_Y0, method="tsit5", controller="hairer")
