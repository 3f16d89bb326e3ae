"""Bad input to the ODE engine: every probe gets an error that names the argument, and no
failure inside the user's function is turned into a plausible-looking result."""
import math

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from numba import njit

from refimpl.ode import SolverError, inplace, odeint, solve
from refimpl.ode.errors import STATUS_MAX_STEPS, FixedGridTooLong


# --- the numba fast path propagates the user's exception ------------------------------------
@njit
def _raising_inplace(t, y, out):
    if t > 0.3:
        raise ValueError("boom in place")
    out[0] = -y[0]


@njit
def _raising_returning(t, y):
    if t > 0.3:
        raise ValueError("boom returning")
    return -y


@njit
def _dividing_inplace(t, y, out):
    out[0] = 1.0 / (y[0] - y[0]) if t > 0.3 else -y[0]     # 1/0 once t > 0.3


@pytest.mark.parametrize("func, message", [
    (inplace(_raising_inplace), "boom in place"),
    (_raising_returning, "boom returning"),
])
def test_fast_path_raises_the_users_exception(func, message):
    with pytest.raises(ValueError, match=message):
        solve(func, (0.0, 1.0), [1.0])


def test_fast_path_division_by_zero_is_not_swallowed():
    # numba's default error model raises ZeroDivisionError for a scalar 1/0
    with pytest.raises(ZeroDivisionError):
        solve(inplace(_dividing_inplace), (0.0, 1.0), [1.0])


def test_fast_path_still_exact_without_errors():
    @njit
    def g(t, y, out):
        out[0] = -y[0]
    s = solve(inplace(g), (0.0, 1.0), [1.0], rtol=1e-10, atol=1e-12)
    assert abs(s.y[-1, 0] - math.exp(-1.0)) < 1e-8


# --- one option validator for solve and odeint -------------------------------------------
BAD_OPTIONS = [
    (dict(max_step=-1), "max_step"), (dict(max_step=0), "max_step"),
    (dict(max_steps=0), "max_steps"), (dict(max_steps=2.5), "max_steps"),
    (dict(first_step=-0.1), "first_step"), (dict(first_step=0), "first_step"),
    (dict(method="rk4", step_size=0), "step_size"),
    (dict(method="rk4", step_size=-0.1), "step_size"),
    (dict(method="rk4", step_size="abc"), "step_size"),
]


@pytest.mark.parametrize("kw, name", BAD_OPTIONS)
def test_solve_rejects_bad_step_options_by_name(kw, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        solve(lambda t, y: -y, (0.0, 1.0), [1.0], **kw)


@pytest.mark.parametrize("kw, name", BAD_OPTIONS)
def test_odeint_rejects_bad_step_options_by_name(kw, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        odeint(lambda t, y: -y, np.array([1.0]), np.array([0.0, 1.0]), **kw)


@pytest.mark.parametrize("entry", ["solve", "odeint"])
def test_huge_fixed_grid_is_refused_before_allocation(entry):
    # 1e12 steps would be a 7 TiB grid: refused at once, naming step_size
    with pytest.raises(FixedGridTooLong, match="^step_size:.*max_steps=100000") as info:
        if entry == "solve":
            solve(lambda t, y: -y, (0.0, 1.0), [1.0], method="rk4", step_size=1e-12)
        else:
            odeint(lambda t, y: -y, np.array([1.0]), np.array([0.0, 1.0]), method="rk4",
                   step_size=1e-12)
    assert isinstance(info.value, ValueError) and isinstance(info.value, SolverError)
    assert info.value.status == STATUS_MAX_STEPS


def test_fixed_grid_at_the_cap_still_runs():
    s = solve(lambda t, y: -y, (0.0, 1.0), [1.0], method="rk4", step_size=0.1, max_steps=10)
    assert s.n_steps == 10


@pytest.mark.parametrize("kw, name", [(dict(rtol="abc"), "rtol"), (dict(atol="x"), "atol"),
                                      (dict(controller=["scipy"]), "controller")])
def test_solve_names_unconvertible_arguments(kw, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        solve(lambda t, y: -y, (0.0, 1.0), [1.0], **kw)


# --- NaN gradients are not silent in any gradient mode ------------------------------------
def _sqrt_dynamics(t, y, w):
    return anp.sqrt(y * w)                     # d/dy sqrt(0) = inf: the VJP makes NaN


@pytest.mark.parametrize("gradient", ["backprop", "checkpoint", "adjoint"])
def test_nan_gradient_raises(gradient):
    def loss(w):
        return anp.sum(odeint(_sqrt_dynamics, np.array([0.0]), np.array([0.0, 1.0]), (w,),
                              gradient=gradient))
    with np.errstate(all="ignore"), pytest.raises(SolverError, match="non-finite"):
        grad(loss)(1.0)


@pytest.mark.parametrize("gradient", ["backprop", "checkpoint"])
def test_nan_from_the_loss_is_blamed_on_the_loss(gradient):
    def loss(w):
        ys = odeint(lambda t, y, w: -w * y, np.array([1.0]), np.array([0.0, 1.0]), (w,),
                    gradient=gradient)
        return anp.sum(anp.sqrt(ys - ys))      # d sqrt(0): NaN made by the loss
    with np.errstate(all="ignore"), pytest.raises(SolverError, match="from the loss"):
        grad(loss)(1.0)


@pytest.mark.parametrize("gradient", ["backprop", "checkpoint"])
def test_finite_gradients_are_unchanged_by_the_guards(gradient):
    def loss(w):
        return anp.sum(odeint(lambda t, y, w: -w * y, np.array([1.0]), np.array([0.0, 1.0]),
                              (w,), gradient=gradient, rtol=1e-10, atol=1e-12))
    assert abs(grad(loss)(0.5) - (-math.exp(-0.5))) < 1e-7


# --- the rest of the probes ---------------------------------------------------------------
def _nan_after(t_bad):
    def f(t, y):
        return -y if t < t_bad else np.full_like(y, np.nan)
    return f


@pytest.mark.parametrize("controller", ["default", "scipy", "hairer", "torchdiffeq"])
def test_nan_mid_way_has_the_same_status_under_every_preset(controller):
    with pytest.raises(SolverError) as info:
        solve(_nan_after(0.5), (0.0, 1.0), [1.0], controller=controller)
    assert info.value.status == -3, (controller, str(info.value))


def test_complex_rhs_is_named():
    with pytest.raises(ValueError, match="^func: returned complex"):
        solve(lambda t, y: -1j * y, (0.0, 1.0), [1.0])


def test_inplace_rhs_that_leaves_out_unwritten_is_not_garbage():
    @njit
    def half(t, y, out):
        out[0] = -y[0]                               # out[1] never written
    with pytest.raises(SolverError, match="non-finite"):
        solve(inplace(half), (0.0, 1.0), [1.0, 1.0], dense_output=True)   # NumPy path
