"""odeint(output="interpolate"): the step sequence ignores the interior output times, y(t_i)
is the continuous extension (equal to `solve(t_eval=...)`), accurate within tolerance units on
closed forms, differentiable (backprop by check_grads, adjoint agrees), far cheaper than
clipping for many outputs; bad values of `output` are refused by name."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads
from scipy.linalg import expm

from refimpl.ode import get_tableau, odeint, solve
from refimpl.ode.traced import integrate
from refimpl.testing import assert_close_in_tolerance_units

M = np.array([[-0.3, 2.0, 0.0], [-2.0, -0.3, 0.5], [0.0, -0.5, -0.2]])
Y0 = np.array([1.0, 0.5, -0.3])


def linear(t, y, M):
    return anp.dot(M, y)


def exact(t, y0=Y0, M=M):
    return np.stack([expm(M * (s - t[0])) @ y0 for s in t])


# --- the same numbers as solve's dense output ----------------------------------------------
@pytest.mark.parametrize("method", ["dopri5", "tsit5", "bosh3", "dop853"])
def test_interpolated_outputs_equal_solve_t_eval(method):
    # same tableau, controller and continuous extension as `solve(t_eval=...)`, which does
    # not clip its steps to t_eval either: the numbers agree to rounding, forwards and back
    rng = np.random.default_rng(1)
    A = 0.5 * rng.standard_normal((5, 5))
    f = lambda t, y: np.tanh(A @ y) * np.cos(t)                   # noqa: E731
    y0 = rng.standard_normal(5)
    for span in [(0.0, 4.0), (3.0, -2.0)]:
        t = np.linspace(*span, 57)
        sol = solve(f, span, y0, method=method, rtol=1e-6, atol=1e-9, t_eval=t)
        ys, st = integrate(f, y0, t, tab=get_tableau(method), rtol=1e-6, atol=1e-9,
                           output="interpolate")
        assert st["nfev"] == sol.nfev
        np.testing.assert_allclose(np.array(ys), sol.y, rtol=1e-12, atol=1e-13)


# --- accuracy on a closed form, both modes -------------------------------------------------
@pytest.mark.parametrize("method, rtol", [("dopri5", 1e-6), ("tsit5", 1e-6), ("dopri5", 1e-9),
                                          ("dop853", 1e-6), ("dop853", 1e-10)])
def test_interpolated_outputs_match_clipped_ones_and_expm_in_tolerance_units(method, rtol):
    # (bosh3's global error passes 5 units here in both modes; it is held to solve above)
    t = np.linspace(0.0, 6.0, 200)
    atol = rtol * 1e-2
    out = {mode: odeint(linear, Y0, t, (M,), method=method, rtol=rtol, atol=atol,
                        gradient="backprop", output=mode) for mode in ("clip", "interpolate")}
    assert_close_in_tolerance_units(out["interpolate"], out["clip"], rtol, atol, max_units=5,
                                    name=f"{method}: interpolate vs clip")
    for mode, ys in out.items():
        assert_close_in_tolerance_units(ys, exact(t), rtol, atol, max_units=5,
                                        name=f"{method} {mode} vs expm")
    assert not np.array_equal(out["clip"][1:-1], out["interpolate"][1:-1])   # not one path


def test_two_output_times_give_the_same_numbers_in_both_modes():
    t = np.array([0.0, 3.0])
    a = odeint(linear, Y0, t, (M,), gradient="backprop", output="clip")
    b = odeint(linear, Y0, t, (M,), gradient="backprop", output="interpolate")
    np.testing.assert_array_equal(a, b)


# --- cost: the steps do not depend on the number of outputs ----------------------------------
def test_many_outputs_cost_what_one_output_costs():
    t_many, t_two = np.linspace(0.0, 10.0, 1000), np.array([0.0, 10.0])
    counts = {}
    for name, t, mode in [("clip", t_many, "clip"), ("interp", t_many, "interpolate"),
                          ("two", t_two, "clip")]:
        info = {}
        ys = odeint(linear, Y0, t, (M,), rtol=1e-5, atol=1e-7, gradient="backprop",
                    output=mode, info=info)
        counts[name] = (info["nfev_forward"], ys[-1])
    assert counts["interp"][0] == counts["two"][0]                # same step sequence
    np.testing.assert_array_equal(counts["interp"][1], counts["two"][1])
    assert counts["clip"][0] >= 1 + 999 * 6                       # ≥ 999 clipped steps
    assert counts["clip"][0] > 10 * counts["interp"][0]


# --- gradients -----------------------------------------------------------------------------
def test_backprop_gradients_check_through_the_interpolant():
    # y0, the matrix and every output time (d/dt_i flows through θ = (t_i - t_k)/h)
    t = np.array([0.0, 0.35, 0.8, 1.3, 1.7, 2.0])
    w = np.random.default_rng(2).standard_normal((len(t), 3))

    def loss(y0, A, t):
        return anp.sum(w * odeint(linear, y0, t, (A,), rtol=1e-10, atol=1e-12,
                                  gradient="backprop", output="interpolate"))
    np.random.seed(0)
    check_grads(loss, modes=["rev"], order=2)(Y0, M, t)


def test_adjoint_on_interpolated_forward_agrees_with_backprop_and_closed_form():
    t = np.linspace(0.0, 2.0, 30)
    w = np.random.default_rng(3).standard_normal((len(t), 3))
    grads = {}
    for g in ("adjoint", "backprop"):
        loss = lambda y0, A: anp.sum(w * odeint(linear, y0, t, (A,), rtol=1e-10,  # noqa: E731
                                                atol=1e-12, gradient=g, output="interpolate"))
        grads[g] = grad(loss, argnum=(0, 1))(Y0, M)
    # closed form of d/dy0: Σ_i exp(M t_i)ᵀ w_i
    g_y0 = sum(expm(M * s).T @ wi for s, wi in zip(t, w))
    for g in grads.values():
        np.testing.assert_allclose(g[0], g_y0, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(grads["adjoint"][1], grads["backprop"][1], rtol=1e-6, atol=1e-7)


def test_dop853_backprop_gradients_check_through_its_extension():
    t = np.array([0.0, 0.35, 0.8, 1.3, 2.0])
    w = np.random.default_rng(4).standard_normal((len(t), 3))

    def loss(y0, A, t):
        return anp.sum(w * odeint(linear, y0, t, (A,), method="dop853", rtol=1e-10,
                                  atol=1e-12, gradient="backprop", output="interpolate"))
    np.random.seed(1)
    check_grads(loss, modes=["rev"], order=1)(Y0, M, t)


def test_dop853_extension_is_seventh_order_between_steps():
    # one fixed step of size h, the output in its middle: the extension's error is O(h^8)
    # locally (order 7), far below the cubic Hermite's O(h^4); halving h divides it by ~2^8
    errs = []
    for h in (0.4, 0.2):
        t = np.array([0.0, 0.37 * h, h])
        ys = odeint(linear, Y0, t, (M,), method="dop853", step_size=h, gradient="backprop",
                    output="interpolate")
        errs.append(np.abs(ys[1] - exact(t)[1]).max())
    assert 2 ** 7 < errs[0] / errs[1] < 2 ** 9, errs


# --- other tableaus, state layouts -----------------------------------------------------------
def test_fixed_step_interpolates_with_the_cubic_hermite():
    t = np.linspace(0.0, 2.0, 41)
    info = {}
    ys = odeint(linear, Y0, t, (M,), method="rk4", step_size=0.05, gradient="backprop",
                output="interpolate", info=info)
    assert info["nfev_forward"] == 1 + 40 * 4                # 40 steps, 4 + 1 per step, FSAL-free
    # cubic Hermite between rk4 steps: interpolation error O(h^4) ~ 1e-6 here
    np.testing.assert_allclose(ys, exact(t), atol=2e-5)
    # the mesh points t = 0.05 k are hit with θ = 1 (or 0): the rk4 values themselves
    ref = odeint(linear, Y0, t[::2], (M,), method="rk4", step_size=0.05, gradient="backprop")
    np.testing.assert_allclose(ys[::2], ref, rtol=1e-13, atol=1e-14)


def test_tuple_state_and_decreasing_times():
    t = np.linspace(1.0, -1.0, 25)
    f = lambda t, y, A: (anp.dot(A, y[0]), -y[1])                  # noqa: E731
    ys = odeint(f, (Y0, np.array([2.0])), t, (M,), rtol=1e-8, atol=1e-10, gradient="adjoint",
                output="interpolate")
    assert_close_in_tolerance_units(ys[0], exact(t), 1e-8, 1e-10, name="tuple y")
    assert_close_in_tolerance_units(ys[1][:, 0], 2.0 * np.exp(-(t - 1.0)), 1e-8, 1e-10,
                                    name="tuple decay")


# --- bad input --------------------------------------------------------------------------
def test_bad_output_values_are_refused_by_name():
    t = np.linspace(0.0, 1.0, 5)
    with pytest.raises(ValueError, match="output"):
        odeint(linear, Y0, t, (M,), output="dense")
    with pytest.raises(ValueError, match="output.*checkpoint"):
        odeint(linear, Y0, t, (M,), gradient="checkpoint", output="interpolate")
    with pytest.raises(ValueError, match="output"):
        integrate(lambda s, y: -y, Y0, t, tab=get_tableau("dopri5"), rtol=1e-6, atol=1e-9,
                  output=None)
