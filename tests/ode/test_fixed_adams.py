"""Fixed-grid Adams methods (refimpl.ode.fixed_adams) through torchdiffeq_odeint: exact
coefficients, measured orders, torchdiffeq's own numbers, gradients, the corrector's warning."""
import warnings
from fractions import Fraction

import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads

from refimpl.ode import torchdiffeq_odeint as odeint
from refimpl.ode.fixed_adams import _lagrange_integrals, ab_coefficients, am_coefficients


def test_coefficients_closed_forms():
    # [Hairer I, Table III.1.1 / 1.2]: AB2 (3, -1)/2, AB3 (23, -16, 5)/12, AM (trapezoid)
    # (1, 1)/2, AM3 (5, 8, -1)/12; every set sums to 1 (consistency)
    assert _lagrange_integrals([Fraction(0), Fraction(-1)]) == [Fraction(3, 2), Fraction(-1, 2)]
    np.testing.assert_allclose(ab_coefficients(3), np.array([23, -16, 5]) / 12, rtol=1e-15)
    np.testing.assert_allclose(am_coefficients(1), [0.5, 0.5], rtol=1e-15)
    np.testing.assert_allclose(am_coefficients(2), np.array([5, 8, -1]) / 12, rtol=1e-15)
    for q in range(1, 12):
        assert abs(sum(ab_coefficients(q)) - 1) < 1e-12 and abs(sum(am_coefficients(q)) - 1) < 1e-12


def test_coefficients_are_torchdiffeqs():
    fa = pytest.importorskip("torchdiffeq._impl.fixed_adams")
    for q in range(1, 12):
        np.testing.assert_allclose(ab_coefficients(q), fa._BASHFORTH_DIVISOR[q].numpy(),
                                   rtol=1e-14, atol=0)
    # moulton[1] there is [1]/11 (a stray divisor; torchdiffeq never uses it: order + 1 >= 4)
    for q in range(1, 12):
        np.testing.assert_allclose(am_coefficients(q), fa._MOULTON_DIVISOR[q + 1].numpy(),
                                   rtol=1e-14, atol=0)


def _orders(method, max_order):
    """Observed orders on y' = cos(t) y, y(0) = 1 (y = exp(sin t)), to t = 2, h = 2/80 ... 2/640."""
    errs = []
    for n in (80, 160, 320, 640):
        t = np.linspace(0, 2, n + 1)
        y = odeint(lambda s, v: np.cos(s) * v, np.array([1.0]), t, method=method, rtol=1e-14,
                   atol=1e-16, options=dict(max_order=max_order, max_iters=50))
        errs.append(abs(y[-1, 0] - np.exp(np.sin(2.0))))
    return np.diff(-np.log2(errs))


@pytest.mark.parametrize("method,max_order,order", [
    ("explicit_adams", 3, 4),      # max_order < 4: Kutta's 3/8 rule throughout
    ("explicit_adams", 4, 3),      # AB3 throughout
    ("explicit_adams", 5, 4),      # AB4
    ("explicit_adams", 12, 4),     # AB up to 11, but the one AB3 start-up step caps it at 4
    ("implicit_adams", 4, 4),      # AB3-AM4
    ("implicit_adams", 5, 5),      # AM5; the start (RK, AM4 once) is local O(h^5)
    ("implicit_adams", 12, 5)])
def test_measured_order(method, max_order, order):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)       # max_order < 4 warns
        p = _orders(method, max_order)
    assert abs(p[-1] - order) < 0.15, p


@pytest.mark.parametrize("method", ["explicit_adams", "implicit_adams"])
@pytest.mark.parametrize("options", [{}, dict(step_size=0.07), dict(step_size=0.07, perturb=True),
                                     dict(step_size=0.07, interp="cubic")])
def test_same_numbers_as_torchdiffeq(method, options):
    torch = pytest.importorskip("torch")
    td = pytest.importorskip("torchdiffeq")

    def f(t, y):
        return np.cos(t) * y + 0.1 * np.sin(3 * t)

    def ft(t, y):
        return torch.cos(t) * y + 0.1 * torch.sin(3 * t)
    y0 = np.array([1.0, 0.5])
    for t in (np.linspace(0, 3, 31), np.array([0, .1, .15, .4, .41, 1.0, 2.0])):   # uniform, not
        a = odeint(f, y0, t, method=method, options=options)
        b = td.odeint(ft, torch.tensor(y0), torch.tensor(t), method=method,
                      options=dict(options)).numpy()
        # rounding only (AB's large alternating weights amplify it to ~1e-10 at order 11)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_evaluation_count():
    calls = []

    def f(t, y):
        calls.append(t)
        return -y
    odeint(f, np.array([1.0]), np.linspace(0, 1, 11), method="explicit_adams")
    # 2 start-up steps of the 3/8 rule (4 evaluations each), then 1 per step: 8 + 8
    assert len(calls) == 16


def test_gradient():
    def loss(p):
        ys = odeint(lambda t, y: -p[0] * y + anp.sin(p[1] * t), anp.array([1.0, 2.0]),
                    np.linspace(0, 1, 9), method="implicit_adams", options=dict(step_size=0.05))
        return anp.sum(ys[-1] ** 2)
    check_grads(loss, modes=["rev"], order=1)(np.array([0.7, 1.3]))

    def loss_y0(y0):                                           # explicit, w.r.t. y0
        return anp.sum(odeint(lambda t, y: anp.cos(t) * y, y0, np.linspace(0, 2, 21),
                              method="explicit_adams")[-1] ** 3)
    check_grads(loss_y0, modes=["rev"], order=1)(np.array([0.3, -0.4]))


def test_corrector_warns_when_it_does_not_converge():
    # y' = -50 y with h = 0.1: functional iteration diverges (|h α_0 λ| > 1)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        odeint(lambda t, y: -50 * y, np.array([1.0]), np.linspace(0, 1, 11),
               method="implicit_adams")


def test_bad_options_name_themselves():
    for opts, match in [(dict(max_order=13), "max_order"), (dict(max_iters=0), "max_iters"),
                        (dict(safety=0.9), "safety")]:
        with pytest.raises(ValueError, match=match):
            odeint(lambda t, y: -y, np.array([1.0]), np.linspace(0, 1, 3),
                   method="implicit_adams", options=opts)
