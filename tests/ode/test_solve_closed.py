"""Closed-form problems: the global error of every adaptive method, forward and
backward, is a small multiple of the requested tolerance (errors in tolerance
units, ``rms((y - y_true)/(atol + rtol |y_true|))``, scipy ``tests/test_ivp.py`` style)."""
import numpy as np
import pytest

from refimpl.ode import ADAPTIVE_METHODS, solve

TOLS = [(1e-3, 1e-6), (1e-6, 1e-9), (1e-9, 1e-12)]
# Bound on the tolerance units (largest measured per method over these tests: heun_euler
# 1.6, bosh3 13.7, dopri5 2.2, tsit5 3.4, dop853 4.0). bosh3 is the exception: the controller
# bounds the error *per step*, so on decay (relative error grows along the whole interval)
# the global error is roughly the sum of the local ones, and the 3(2) pair's local error is
# close to its estimate (the 4(5)/8(5,3) pairs' are far below theirs). scipy's RK23 (the
# same pair) measures the same 13.65 (test_bosh3_units_match_scipy_rk23): inherent, not a
# controller bug. heun_euler's 1st-order estimate overstates its 2nd-order error: < 2.
BOUND = {"heun_euler": 5.0, "bosh3": 20.0, "dopri5": 5.0, "tsit5": 5.0, "dop853": 5.0}

A = np.array([[-0.3, 2.0, 0.0], [-2.0, -0.3, 0.5], [0.0, -0.5, -0.2]])
_LAM, _V = np.linalg.eig(A)


def tol_units(y, y_true, rtol, atol, scale=None):
    """Largest over time of the RMS over components of ``(y - y_true)/(atol + rtol*scale)``."""
    scale = np.abs(y_true) if scale is None else scale
    return np.sqrt(np.mean(((y - y_true) / (atol + rtol * scale)) ** 2, axis=-1)).max()


def decay(t, y):
    return -0.5 * y


def rational(t, y):
    # scipy tests/test_ivp.py::fun_rational; solution (t/(t+10), 10t/(t+10)^2)
    return np.array([y[1] / t, y[1] * (y[0] + 2 * y[1] - 1) / (t * (y[0] - 1))])


def logistic(t, y):
    return 1.5 * y * (1 - y / 4.0)


PROBLEMS = {
    "decay": (decay, (0.0, 10.0), lambda t: 2 * np.exp(-0.5 * t)[:, None]),
    "rational": (rational, (5.0, 9.0), lambda t: np.stack([t / (t + 10), 10 * t / (t + 10) ** 2], 1)),
    "logistic": (logistic, (0.0, 10.0),
                 lambda t: (4.0 / (1 + (4.0 / 0.1 - 1) * np.exp(-1.5 * t)))[:, None]),
}


def _cases():
    for m in ADAPTIVE_METHODS:
        for rtol, atol in TOLS:
            if m == "heun_euler" and rtol < 1e-6:
                continue                      # 2nd order at 1e-9: ~1e6 steps, pointless
            yield m, rtol, atol


@pytest.mark.parametrize("method, rtol, atol", list(_cases()))
@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_closed_form_forward(name, method, rtol, atol):
    f, span, exact = PROBLEMS[name]
    y0 = exact(np.array([span[0]]))[0]
    te = np.linspace(*span, 11)
    r = solve(f, span, y0, method=method, rtol=rtol, atol=atol, t_eval=te)
    assert tol_units(r.y, exact(te), rtol, atol) < BOUND[method]
    r = solve(f, span, y0, method=method, rtol=rtol, atol=atol)     # at every accepted step
    assert tol_units(r.y, exact(r.t), rtol, atol) < BOUND[method]


@pytest.mark.parametrize("method, rtol, atol", list(_cases()))
@pytest.mark.parametrize("name", ["decay", "rational"])   # backward logistic is ill-conditioned
def test_closed_form_backward(name, method, rtol, atol):
    f, span, exact = PROBLEMS[name]
    te = np.linspace(span[1], span[0], 11)
    r = solve(f, span[::-1], exact(te[:1])[0], method=method, rtol=rtol, atol=atol, t_eval=te)
    assert tol_units(r.y, exact(te), rtol, atol) < BOUND[method]


def linear_exact(t, y0):
    c = np.linalg.solve(_V, y0)
    return (_V @ (np.exp(np.outer(_LAM, t)) * c[:, None])).real.T    # (len(t), 3)


@pytest.mark.parametrize("method, rtol, atol", list(_cases()))
def test_linear_system(method, rtol, atol):
    # Components cross zero, where any solver's componentwise units blow up; the scale
    # is therefore the size of the state, atol + rtol*max_i |y_true_i| (norm-wise units).
    y0 = np.array([1.0, 0.5, -0.3])
    te = np.linspace(0, 5, 11)
    for span, t_eval in (((0.0, 5.0), te), ((5.0, 0.0), te[::-1])):
        start = linear_exact(np.array([span[0]]), y0)[0]
        r = solve(lambda t, y: A @ y, span, start, method=method, rtol=rtol, atol=atol,
                  t_eval=t_eval)
        yt = linear_exact(t_eval, y0)
        scale = np.abs(yt).max(axis=1, keepdims=True)
        assert tol_units(r.y, yt, rtol, atol, scale) < BOUND[method]


def test_tighter_tolerance_gives_smaller_error():
    f, span, exact = PROBLEMS["rational"]
    y0 = exact(np.array([span[0]]))[0]
    errs = [np.abs(solve(f, span, y0, rtol=rtol, atol=rtol * 1e-3).y[-1]
                   - exact(np.array([span[1]]))[0]).max() for rtol in (1e-4, 1e-7, 1e-10)]
    assert errs[0] > 30 * errs[1] > 900 * errs[2]


@pytest.mark.parametrize("name", ["decay", "logistic"])
def test_bosh3_units_match_scipy_rk23(name):
    # bosh3's larger bound is the pair's, not the controller's: scipy's RK23 errs as much
    from scipy.integrate import solve_ivp
    f, span, exact = PROBLEMS[name]
    y0 = exact(np.array([span[0]]))[0]
    rtol, atol = 1e-3, 1e-6
    ours = solve(f, span, y0, method="bosh3", rtol=rtol, atol=atol)
    ref = solve_ivp(f, span, y0, method="RK23", rtol=rtol, atol=atol)
    u_ours = tol_units(ours.y, exact(ours.t), rtol, atol)
    u_ref = tol_units(ref.y.T, exact(ref.t), rtol, atol)
    assert u_ours <= 1.2 * u_ref + 0.5, (u_ours, u_ref)
