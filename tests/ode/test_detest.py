"""DETEST subset (A1–A5, B5, D1–D5, E2; Hull et al. 1972): global errors in tolerance
units against closed forms (A1–A4 exact, B5 Jacobi elliptic functions, D1–D5 Kepler's
equation) or a tight dop853 reference (A5, E2), and no worse than scipy's solve_ivp
with the same pair and tolerances.

Units are norm-wise, ``|y - y_ref| / (atol + rtol max_i |y_ref_i|)`` (RMS over
components, worst output time): orbit components cross zero. Orbits (D) accumulate
phase error over three revolutions, hence their larger units — for scipy too.
"""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from refimpl.ode.problems import DETEST as PROBLEMS, DETEST_T_END as T_END
from refimpl.ode import ADAPTIVE_METHODS, solve

NAMES = ["A1", "A2", "A3", "A4", "A5", "B5", "D1", "D2", "D3", "D4", "D5", "E2"]
TE = np.linspace(0.0, T_END, 21)
# largest tolerance units allowed per problem class, about twice the largest measured over
# all adaptive methods at rtol 1e-4, 1e-7, 1e-10 (A: 111 dop853/A3, A5: 476 bosh3,
# B: 12.5, D: 1048 bosh3/D1, E: 8.7); scipy's solve_ivp measures the same.
BOUND = {"A": 250.0, "A5": 1000.0, "B": 50.0, "D": 2500.0, "E": 50.0}


def units(y, y_ref, rtol, atol):
    scale = atol + rtol * np.abs(y_ref).max(axis=-1, keepdims=True)
    return np.sqrt(np.mean(((y - y_ref) / scale) ** 2, axis=-1)).max()


_REF = {}


def reference(name):
    """Closed form at TE, or our dop853 at rtol 1e-13 (checked below against scipy's DOP853)."""
    if name not in _REF:
        f, y0, exact = PROBLEMS[name]
        _REF[name] = exact(TE) if exact is not None else solve(
            f, (0, T_END), y0, method="dop853", rtol=1e-13, atol=1e-15, t_eval=TE).y
    return _REF[name]


def bound(name):
    return BOUND.get(name, BOUND[name[0]])


@pytest.mark.parametrize("name", ["A5", "E2"])
def test_tight_reference_agrees_with_scipy_dop853(name):
    f, y0, _ = PROBLEMS[name]
    s = solve_ivp(f, (0, T_END), y0, method="DOP853", rtol=1e-13, atol=1e-15, t_eval=TE)
    assert np.abs(reference(name) - s.y.T).max() < 1e-11


@pytest.mark.parametrize("name", [n for n in NAMES if PROBLEMS[n][2] is not None])
def test_tight_dop853_against_closed_forms(name):
    f, y0, exact = PROBLEMS[name]
    r = solve(f, (0, T_END), y0, method="dop853", rtol=1e-13, atol=1e-15, t_eval=TE)
    assert np.abs(r.y - exact(TE)).max() < 1e-10


@pytest.mark.parametrize("method, scipy_method, rtol", [("dopri5", "RK45", 1e-6),
                                                        ("dop853", "DOP853", 1e-9)])
@pytest.mark.parametrize("name", NAMES)
def test_detest_vs_scipy(name, method, scipy_method, rtol):
    f, y0, _ = PROBLEMS[name]
    atol = rtol * 1e-2
    ours = units(solve(f, (0, T_END), y0, method=method, rtol=rtol, atol=atol, t_eval=TE).y,
                 reference(name), rtol, atol)
    theirs = units(solve_ivp(f, (0, T_END), y0, method=scipy_method, rtol=rtol, atol=atol,
                             t_eval=TE).y.T, reference(name), rtol, atol)
    assert ours < bound(name)
    assert ours <= 1.5 * theirs + 1.0, (ours, theirs)


def _all_cases():
    for m in ADAPTIVE_METHODS:
        for rtol in (1e-4, 1e-7, 1e-10):
            if m != "heun_euler" or rtol == 1e-4:      # 2nd order: 1e5+ steps below 1e-4
                yield m, rtol


@pytest.mark.slow
@pytest.mark.parametrize("method, rtol", list(_all_cases()))
def test_detest_all_methods(method, rtol):
    atol = rtol * 1e-2
    for name in NAMES:
        f, y0, _ = PROBLEMS[name]
        r = solve(f, (0, T_END), y0, method=method, rtol=rtol, atol=atol, t_eval=TE)
        assert units(r.y, reference(name), rtol, atol) < bound(name), name
