"""Every step loop of refimpl.ode takes steps of the one definition, `refimpl.ode.rk_step.rk_step`
(formula visible: dy = K[:i].T @ a[:i] * h): each accepted step (t_k, y_k) -> (t_{k+1}, y_{k+1})
of a solve, replayed through the definition, gives y_{k+1} to rounding.

The loops (refimpl/ode/__init__.py lists them with these tests):
* the NumPy stepper `stepper.run_adaptive` / `run_fixed` (controller "default", and step_size);
* the presets' replays of a library's control flow: `preset_scipy.run_scipy`,
  `preset_hairer.run_hairer`, `preset_torchdiffeq.run_torchdiffeq`;
* the numba kernels `fast/k_default`, `k_scipy`, `k_hairer`, `k_torchdiffeq` (a jitted func);
* the traced loop of `odeint`, `traced.rk_step` (one step, raw and under autograd).

torchdiffeq's last output is interpolated at t1 (it steps past t1), so it is not a step end.
"""
import sys

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from numba import njit

from refimpl.ode import METHODS, FIXED_METHODS, get_tableau, solve
from refimpl.ode import traced
from refimpl.ode.rk_step import rk_step

ROUNDING = 1e-14          # states are O(1): a few ulps of accumulated summation-order change


def pendulum(t, y):
    return np.array([y[1], -np.sin(y[0]) + 0.1 * np.cos(t)])


@njit(cache=True)
def pendulum_jit(t, y):
    return np.array([y[1], -np.sin(y[0]) + 0.1 * np.cos(t)])


def _replay_error(func, sol, method, skip_last=False):
    n = len(sol.t) - 1 - int(skip_last)
    assert n >= 5
    return max(np.max(np.abs(rk_step(func, sol.t[k], sol.y[k], sol.t[k + 1] - sol.t[k], method)[0]
                             - sol.y[k + 1])) for k in range(n))


PRESETS = {"default": [m for m in METHODS if m not in FIXED_METHODS],
           "scipy": ["bosh3", "dopri5", "dop853"], "hairer": ["dopri5", "dop853"],
           "torchdiffeq": ["dopri5"]}


@pytest.mark.parametrize("controller, method", [(c, m) for c, ms in PRESETS.items() for m in ms])
def test_adaptive_loops_step_by_the_definition(controller, method):
    sol = solve(pendulum, (0.0, 5.0), np.array([1.0, 0.0]), method=method, rtol=1e-8, atol=1e-10,
                controller=controller)
    assert _replay_error(pendulum, sol, method, skip_last=controller == "torchdiffeq") < ROUNDING


@pytest.mark.parametrize("method", list(FIXED_METHODS) + ["dopri5"])
def test_fixed_step_loop_steps_by_the_definition(method):
    sol = solve(pendulum, (0.0, 5.0), np.array([1.0, 0.0]), method=method, step_size=0.1)
    assert _replay_error(pendulum, sol, method) < ROUNDING


@pytest.mark.parametrize("controller", ["default", "scipy", "hairer", "torchdiffeq"])
def test_numba_kernels_step_by_the_definition(controller, monkeypatch):
    solve_module = sys.modules["refimpl.ode.solve"]          # (the package attribute is the function)
    calls = []
    real = solve_module.solve_fast
    monkeypatch.setattr(solve_module, "solve_fast", lambda *a: calls.append(1) or real(*a))
    sol = solve(pendulum_jit, (0.0, 5.0), np.array([1.0, 0.0]), method="dopri5", rtol=1e-8,
                atol=1e-10, controller=controller)
    assert calls == [1]                                # the compiled loop ran
    assert _replay_error(pendulum, sol, "dopri5", skip_last=controller == "torchdiffeq") < ROUNDING


@pytest.mark.parametrize("method", METHODS)
def test_traced_step_is_the_definition(method):
    tab = get_tableau(method)
    y, t, h = np.array([1.0, -0.5]), 0.3, 0.07
    y_def, K, err = rk_step(pendulum, t, y, h, method)
    y_tr, ks = traced.rk_step(pendulum, t, y, h, pendulum(t, y), tab)
    assert np.max(np.abs(y_tr - y_def)) < ROUNDING
    assert np.max(np.abs(np.array(ks) - K)) < ROUNDING
    assert (err is None) == (tab.e is None)

    def f(t, y, w):                                   # traced: the stages are autograd boxes
        return anp.array([y[1], -w * anp.sin(y[0])])

    def last(w, step):
        out = step(w)
        return anp.sum(out[0])
    g_tr = grad(last)(1.3, lambda w: traced.rk_step(f, t, y, h, f(t, y, w), tab, (w,)))
    eps = 1e-6
    fd = (rk_step(f, t, y, h, method, (1.3 + eps,))[0].sum()
          - rk_step(f, t, y, h, method, (1.3 - eps,))[0].sum()) / (2 * eps)
    assert abs(g_tr - fd) < 1e-8


def test_error_estimate_is_h_K_e():
    tab = get_tableau("dopri5")
    y_new, K, err = rk_step(pendulum, 0.0, np.array([1.0, 0.0]), 0.5, "dopri5")
    y_hat = np.array([1.0, 0.0]) + 0.5 * K.T @ (tab.b - tab.e)     # the embedded solution
    assert np.allclose(y_new - y_hat, err, rtol=0, atol=1e-15)


def test_the_package_docstring_names_tests_that_exist():
    import re

    import refimpl.ode

    named = set(re.findall(r"test ``(test_[A-Za-z0-9_]+)``", refimpl.ode.__doc__))
    here = {n for n in globals() if n.startswith("test_")}
    assert len(named) == 5 and named <= here
