"""refimpl.ode.radau: adaptive Radau IIA 5 against scipy's Radau (the same steps and counts),
closed forms, the autograd Jacobian, dense output."""
import autograd.numpy as anp
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from refimpl.ode.radau import radau


def robertson(t, y):
    return anp.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                      0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2, 3e7 * y[1] ** 2])


def robertson_jac(t, y):
    return np.array([[-0.04, 1e4 * y[2], 1e4 * y[1]],
                     [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]], [0.0, 6e7 * y[1], 0.0]])


def vdp(t, y, mu=1000.0):
    return anp.array([y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]])


def vdp_jac(t, y, mu=1000.0):
    return np.array([[0.0, 1.0], [-2 * mu * y[0] * y[1] - 1, mu * (1 - y[0] ** 2)]])


@pytest.mark.parametrize("rtol", [1e-3, 1e-6])
def test_robertson_takes_scipys_steps(rtol):
    # same algorithm, same decisions: every count equal, every step time close (the first
    # steps' error norms are ~1e-11, at the rounding level: scipy's complex-diagonalised
    # Newton and refimpl's (3n, 3n) one round differently, and the step sizes follow err^-1/4)
    a = solve_ivp(robertson, (0, 1e5), [1.0, 0, 0], method="Radau", rtol=rtol, atol=1e-10,
                  jac=robertson_jac)
    b = radau(robertson, (0, 1e5), [1.0, 0, 0], rtol=rtol, atol=1e-10, jac=robertson_jac)
    assert (b.nfev, b.njev, b.nlu, len(b.t)) == (a.nfev, a.njev, a.nlu, len(a.t))
    np.testing.assert_allclose(b.t, a.t, rtol=1e-3 if rtol == 1e-3 else 1e-6, atol=1e-12)
    np.testing.assert_allclose(b.y[:, -1], a.y[:, -1], rtol=10 * rtol, atol=1e-9)


@pytest.mark.parametrize("rtol", [1e-4, 1e-6])
def test_van_der_pol_stiff_matches_scipy(rtol):
    # rtol 1e-4 has rejected steps refined through f(t, y + err) (Hairer II eq. (8.21))
    a = solve_ivp(vdp, (0, 3000), [2.0, 0.0], method="Radau", rtol=rtol, atol=rtol * 1e-3,
                  jac=vdp_jac)
    b = radau(vdp, (0, 3000), [2.0, 0.0], rtol=rtol, atol=rtol * 1e-3, jac=vdp_jac)
    assert (b.nfev, b.njev, b.nlu, len(b.t)) == (a.nfev, a.njev, a.nlu, len(a.t))
    np.testing.assert_allclose(b.y[:, -1], a.y[:, -1], rtol=100 * rtol, atol=1e-9)


def test_stiff_linear_closed_form_in_tolerance_units():
    M = np.array([[-1.0, 0.5, 0.0], [0.0, -1e3, 1.0], [0.0, 0.0, -1e5]])
    y0, t = np.array([1.0, 2.0, -1.0]), np.linspace(0.0, 2.0, 11)
    for rtol in (1e-4, 1e-7):
        atol = rtol * 1e-2
        r = radau(lambda s, y: anp.dot(M, y), (0.0, 2.0), y0, rtol=rtol, atol=atol, t_eval=t)
        exact = np.stack([expm(M * s) @ y0 for s in t], axis=1)
        units = np.abs(r.y - exact) / (atol + rtol * np.abs(exact))
        assert units.max() < 5, (rtol, units.max())
        assert r.njev >= 1 and r.status == 0
    assert r.n_steps < 1000          # stiff: an explicit method needs > 6e4 steps (|λ h| < 3.3)


def test_autograd_jacobian_gives_the_analytic_jacobians_run():
    a = radau(robertson, (0, 100.0), [1.0, 0, 0], rtol=1e-6, atol=1e-10, jac=robertson_jac)
    b = radau(robertson, (0, 100.0), [1.0, 0, 0], rtol=1e-6, atol=1e-10)
    assert (a.nfev, a.njev, len(a.t)) == (b.nfev, b.njev, len(b.t))
    np.testing.assert_allclose(b.y, a.y, rtol=1e-12, atol=1e-16)


def test_t_eval_is_scipys_dense_output():
    t = np.linspace(0.0, 2.0, 17)
    a = solve_ivp(vdp, (0, 2.0), [2.0, 0.0], method="Radau", rtol=1e-5, atol=1e-8,
                  jac=vdp_jac, t_eval=t)
    b = radau(vdp, (0, 2.0), [2.0, 0.0], rtol=1e-5, atol=1e-8, jac=vdp_jac, t_eval=t)
    np.testing.assert_array_equal(b.t, t)
    np.testing.assert_allclose(b.y, a.y, rtol=1e-10, atol=1e-12)


def test_backwards_in_time():
    f = lambda t, y: -50.0 * (y - np.cos(t))                                  # noqa: E731
    a = solve_ivp(f, (1.0, 0.0), [0.3], method="Radau", rtol=1e-6, atol=1e-9)
    b = radau(f, (1.0, 0.0), [0.3], rtol=1e-6, atol=1e-9)
    assert len(b.t) == len(a.t) and np.all(np.diff(b.t) < 0)
    np.testing.assert_allclose(b.y[:, -1], a.y[:, -1], rtol=1e-9)


def test_solve_ivp_radau_drop_in_counts_and_bad_input():
    from refimpl.ode import solve_ivp as my_solve_ivp
    a = solve_ivp(vdp, (0, 500.0), [2.0, 0.0], method="Radau", rtol=1e-5, atol=1e-8,
                  jac=vdp_jac, dense_output=True)
    b = my_solve_ivp(vdp, (0, 500.0), [2.0, 0.0], method="Radau", rtol=1e-5, atol=1e-8,
                     jac=vdp_jac, dense_output=True)
    assert (b.nfev, b.njev, b.nlu, len(b.t)) == (a.nfev, a.njev, a.nlu, len(a.t))
    tt = np.linspace(0.0, 500.0, 7)
    np.testing.assert_allclose(b.sol(tt), a.sol(tt), rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="complex"):
        my_solve_ivp(lambda t, y: 1j * y, (0, 1), [1j], method="Radau")
    with pytest.raises(ValueError, match="jac_sparsity"):   # a wrong shape
        my_solve_ivp(vdp, (0, 1), [2.0, 0.0], method="Radau", jac_sparsity=np.ones((3, 3)))
