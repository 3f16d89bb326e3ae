"""fehlberg2, heun3, dopri8 (refimpl.ode.tableaus_more): every rooted-tree order condition up
to the stated order and a defect at the next, the embedded solutions' orders, the empirical
order of convergence at fixed steps, and adaptive solves that meet their tolerance."""
import numpy as np
import pytest

from refimpl.ode import get_tableau, solve
from refimpl.ode.tableaus_more import MORE_METHODS

from test_tableaus import order_defect   # noqa: E402  (rooted trees, Hairer I Sec. II.2)

A = np.array([[-0.3, 2.0, 0.0], [-2.0, -0.3, 0.5], [0.0, -0.5, -0.2]])
Y0 = np.array([1.0, 0.5, -0.3])
LAM, V = np.linalg.eig(A)
C = np.linalg.solve(V, Y0)


def exact(t):
    return (V @ (np.exp(LAM * t) * C)).real


@pytest.mark.parametrize("name, order, embedded", [("fehlberg2", 2, 1), ("heun3", 3, None),
                                                   ("dopri8", 8, 7)])
def test_order_conditions(name, order, embedded):
    tab = get_tableau(name)
    assert tab.order == order
    # dopri8's published coefficients are rational approximations: defects ~1e-16
    assert order_defect(tab.A, tab.b, order) < 1e-12
    assert order_defect(tab.A, tab.b, order + 1) > 1e-6
    if embedded is not None:
        b_hat = tab.b - tab.e
        assert tab.error_order == embedded
        assert order_defect(tab.A, b_hat, embedded) < 1e-12
        assert order_defect(tab.A, b_hat, embedded + 1) > 1e-6


@pytest.mark.parametrize("name, h0", [("fehlberg2", 0.02), ("heun3", 0.05), ("dopri8", 0.5)])
def test_empirical_order_at_fixed_steps(name, h0):
    # y' = w cos(w t) y, y = exp(sin(w t)): non-autonomous and nonlinear in t, so every
    # elementary differential enters (on linear problems dopri8's order-9 defect is ~4e-9
    # and its error falls like h^9 until round-off)
    p, w = get_tableau(name).order, 2.0
    hs = h0 / 2.0 ** np.arange(4)
    errs = []
    for h in hs:
        r = solve(lambda t, y: w * np.cos(w * t) * y, (0, 4), [1.0], method=name, step_size=h)
        errs.append(abs(r.y[-1, 0] - np.exp(np.sin(w * 4))))
    assert min(errs) > 1e-13
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert abs(slope - p) < 0.3, (name, slope, errs)


@pytest.mark.parametrize("name", ["fehlberg2", "dopri8"])
def test_adaptive_solve_meets_tolerance(name):
    # global error within a modest multiple of rtol (fehlberg2's estimate, of its order-1
    # solution, carries the factor 1/512: its global error is ~ 200 rtol here)
    r = solve(lambda t, y: A @ y, (0, 4), Y0, method=name, rtol=1e-8, atol=1e-10)
    assert np.abs(r.y[-1] - exact(4.0)).max() < 1e3 * 1e-8
    fsal = get_tableau(name).fsal
    # evaluations: s - 1 per attempt (+1 on acceptance when not FSAL), +2 at the start
    s = get_tableau(name).n_stages
    assert r.nfev == 2 + (s - 1) * r.n_steps + (0 if fsal else r.n_accepted)


def test_registered_but_not_in_methods():
    from refimpl.ode import METHODS
    assert not set(MORE_METHODS) & set(METHODS)
    with pytest.raises(ValueError, match="dopri8"):
        get_tableau("dopri9")
