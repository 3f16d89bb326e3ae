"""The implicit fixed-grid family (refimpl.ode.implicit): orders, stiffness, Newton, gradients."""
import warnings

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from refimpl.ode import torchdiffeq_odeint
from refimpl.ode.fixed_grid import fixed_grid
from refimpl.ode.implicit import IMPLICIT_TABLEAUS, implicit_step

ORDERS = {"implicit_euler": 1, "implicit_midpoint": 2, "trapezoid": 2, "gl4": 4, "gl6": 6,
          "radauIIA3": 3, "radauIIA5": 5, "sdirk2": 2, "trbdf2": 2}


def _forced(t, y):
    """y' = -y + sin(2t) + y^2/10 cos t: non-autonomous and nonlinear (the nodes c matter)."""
    return -y + anp.sin(2 * t) + 0.1 * y ** 2 * anp.cos(t)


def _ref(t1):
    from scipy.integrate import solve_ivp
    return solve_ivp(_forced, (0, t1), [1.0, -0.5], rtol=1e-13, atol=1e-14,
                     method="DOP853").y[:, -1]


@pytest.mark.parametrize("method", sorted(ORDERS))
def test_empirical_order(method):
    """log2 of the error ratio when h halves is the method's classical order (Hairer II)."""
    ref = _ref(1.0)
    ns = (4, 8, 16) if ORDERS[method] >= 5 else (8, 16, 32)
    errs = []
    for n in ns:
        ys = fixed_grid(_forced, np.array([1.0, -0.5]), np.linspace(0, 1, n + 1), method)
        errs.append(np.max(np.abs(ys[-1] - ref)))
    slopes = np.log2(np.array(errs[:-1]) / errs[1:])
    assert abs(slopes[-1] - ORDERS[method]) < 0.3, (slopes, errs)


def test_tableau_conditions():
    """B(p) quadrature conditions Σ b_i c_i^(k-1) = 1/k up to each method's order (<= s+1)."""
    for name, tab in IMPLICIT_TABLEAUS.items():
        for k in range(1, min(ORDERS[name], 2 * tab.b.size) + 1):
            assert np.isclose(tab.b @ tab.c ** (k - 1), 1 / k), (name, k)


@pytest.mark.parametrize("method", ["implicit_euler", "radauIIA3", "radauIIA5", "sdirk2",
                                    "trbdf2"])
def test_l_stable_on_stiff_decay(method):
    """y' = -1e6 (y - cos t): L-stable methods track cos t with h = 0.1 (explicit RK blows up)."""
    f = lambda t, y: -1e6 * (y - anp.cos(t))                        # noqa: E731
    ys = fixed_grid(f, np.array([0.0]), np.linspace(0, 1, 11), method)
    assert abs(ys[-1][0] - np.cos(1.0)) < 1e-4


def test_newton_solves_the_stage_equations():
    """The returned step satisfies the stage equations of Radau IIA 5 to ~1e-13."""
    tab = IMPLICIT_TABLEAUS["radauIIA5"]
    t, y, h = 0.3, np.array([1.0, -0.5]), 0.4
    y_new = implicit_step(_forced, t, y, h, "radauIIA5")
    # recover K from b-weighted solve: iterate K = F(K) with the converged y_new as a check:
    # the collocation polynomial's last node is c_3 = 1, so y_new = y + h Σ a_3j K_j
    K = np.tile(_forced(t, y), (3, 1))
    for _ in range(200):                                             # fixed point (h small)
        K = np.stack([_forced(t + tab.c[i] * h, y + h * tab.A[i] @ K) for i in range(3)])
    assert np.allclose(y + h * tab.b @ K, y_new, atol=1e-13, rtol=0)


def test_gradient_through_newton():
    """The IFT Newton step gives the gradient of the discrete solution (check_grads)."""
    def loss(p):
        f = lambda t, y: -p[0] * y + p[1] * anp.sin(t) * y ** 2    # noqa: E731
        ys = fixed_grid(f, anp.array([1.0, 0.5]) * p[2], np.linspace(0, 1, 6), "gl4")
        return anp.sum(ys[-1] ** 2)
    check_grads(loss, modes=["rev"], order=1)(np.array([1.3, 0.4, 0.9]))
    assert np.all(np.isfinite(grad(loss)(np.array([1.3, 0.4, 0.9]))))


def test_finite_difference_jacobian_fallback():
    """A fun autograd cannot trace (np.asarray on the box) gives the same step via the FD
    Jacobian."""
    def opaque(t, y):
        y = np.asarray(y, dtype=float)                              # breaks autograd
        return -y + np.sin(2 * t) + 0.1 * y ** 2 * np.cos(t)
    a = fixed_grid(_forced, np.array([1.0, -0.5]), np.linspace(0, 1, 5), "radauIIA5")
    b = fixed_grid(opaque, np.array([1.0, -0.5]), np.linspace(0, 1, 5), "radauIIA5")
    assert np.allclose(a[-1], b[-1], atol=1e-12)


def test_nonconvergence_warns():
    """A stage system Newton cannot solve (no real root) warns, as torchdiffeq does."""
    f = lambda t, y: y ** 2 + 1.0                                   # noqa: E731
    with pytest.warns(RuntimeWarning, match="did not converge"):
        fixed_grid(f, np.array([40.0]), np.array([0.0, 1.0]), "implicit_euler")


def test_odeint_layer_options():
    """torchdiffeq_odeint routes the implicit names; perturb moves evaluations off the grid."""
    ts = []

    def f(t, y):
        ts.append(float(t))
        return -y
    ys = torchdiffeq_odeint(f, np.array([1.0, 2.0]), np.array([0.0, 1.0]), method="trapezoid",
                            options=dict(step_size=0.5, perturb=True))
    assert 0.0 not in ts and 0.5 not in ts and 1.0 not in ts
    # trapezoid on y' = -y: each step multiplies by (1 - h/2)/(1 + h/2)
    assert np.allclose(ys[-1], np.array([1.0, 2.0]) * (0.75 / 1.25) ** 2, rtol=1e-12)
    with pytest.raises(ValueError, match="method"):
        torchdiffeq_odeint(f, np.ones(2), np.array([0.0, 1.0]), method="radauIIA7")


def test_grid_constructor():
    ys = torchdiffeq_odeint(lambda t, y: y, np.array(1.0), np.array([0.0, 1.0]), method="euler",
                            options=dict(grid_constructor=lambda f, y0, t: np.linspace(0, 1, 11)))
    assert np.isclose(ys[1], 1.1 ** 10, rtol=1e-14)
    with pytest.raises(ValueError, match="grid_constructor"):
        torchdiffeq_odeint(lambda t, y: y, np.array(1.0), np.array([0.0, 1.0]), method="euler",
                           options=dict(grid_constructor=lambda f, y0, t: np.linspace(0, 2, 3)))


def test_against_torchdiffeq_when_it_has_the_method():
    """torchdiffeq >= 0.2.6 has the implicit family (the installed one may not: skipped)."""
    torch = pytest.importorskip("torch")
    td = pytest.importorskip("torchdiffeq")
    from torchdiffeq._impl.odeint import SOLVERS
    if "radauIIA5" not in SOLVERS:
        pytest.skip(f"torchdiffeq {td.__version__} has no implicit solvers")
    A = np.array([[-1.0, 0.3], [-0.2, -2.0]])
    t = np.linspace(0, 2, 9)
    for m in ORDERS:
        ours = torchdiffeq_odeint(lambda s, y: A @ y, np.array([1.0, 1.0]), t, method=m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = td.odeint(lambda s, y: torch.tensor(A) @ y, torch.ones(2, dtype=torch.float64),
                               torch.tensor(t), method=m).numpy()
        assert np.allclose(ours, theirs, atol=1e-7), m
