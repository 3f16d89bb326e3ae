"""Events on a fixed grid for the methods with their own step loops (the implicit RK family
of ``refimpl.ode.implicit`` and the Adams methods of ``refimpl.ode.fixed_adams``):
torchdiffeq's ``FixedGridODESolver.integrate_until_event``.

    tau, y_tau = until_event_on_grid(run_grid, fun, y0, t0, t1, step_size, g, interp,
                                     max_steps)

Steps of ``step_size`` from ``t0`` towards ``t1`` and beyond (the grid ``t0 + k h``, no end),
``run_grid(grid) -> [y_0, ..., y_m]`` stepping the method over a grid. ``g(t, y)`` is the
combined event (``min_k(sign0_k event_k)``, positive at ``t0``): the first grid point with
``g <= 0`` closes the bracket ``[t_{k-1}, t_k]``, and the event time is the root of
``g(t, p(t))`` on the grid interpolant ``p`` ("linear", or "cubic": the Hermite cubic
through ``(y, f)`` at both ends), found by ``scipy.optimize.brentq`` to a few ulps
(torchdiffeq bisects to ``atol``). Returns ``(tau, p(tau))``.

The grid is extended by doubling its length (``ceil(|t1 - t0| / h)`` steps first) and
re-stepped from ``t0``: the grid's points do not change as it grows, so the values are those
of one continuous run (the Adams history included) at under twice its cost.
Forward only (no gradients through the event time for these methods).

References
----------
torchdiffeq ``_impl/solvers.py::FixedGridODESolver.integrate_until_event``,
``event_handling.py::find_event``; scipy ``integrate/_ivp/ivp.py::find_active_events``.
"""
import math

import numpy as np
from scipy.optimize import brentq

__all__ = ["until_event_on_grid", "grid_interpolant"]


def grid_interpolant(ta, tb, ya, yb, fa=None, fb=None):
    """p(t) on [ta, tb]: linear through (ta, ya), (tb, yb), or with ``fa``, ``fb`` the cubic
    Hermite through (y, f) at both ends (torchdiffeq's ``_cubic_hermite_interp``)."""
    h = tb - ta

    def p(t):
        s = (t - ta) / h
        if fa is None:
            return ya + s * (yb - ya)
        h00, h10 = (1 + 2 * s) * (1 - s) ** 2, s * (1 - s) ** 2
        h01, h11 = s * s * (3 - 2 * s), s * s * (s - 1)
        return h00 * ya + h10 * h * fa + h01 * yb + h11 * h * fb
    return p


def until_event_on_grid(run_grid, fun, y0, t0, t1, step_size, g, interp="linear",
                        max_steps=20_000):
    """(tau, y(tau)) at the first zero of ``g`` along the fixed-grid solution (module docstring)."""
    if interp not in ("linear", "cubic"):
        raise ValueError(f"options: interp must be 'linear' or 'cubic', got {interp!r}")
    d = 1.0 if t1 >= t0 else -1.0
    n = max(1, math.ceil(abs(t1 - t0) / step_size))
    gs = [g(t0, y0)]                                # g at the grid points seen so far
    while True:
        n = min(n, max_steps)
        grid = t0 + d * step_size * np.arange(n + 1.0)
        ys = run_grid(grid)
        for k in range(len(gs), n + 1):
            gs.append(g(grid[k], ys[k]))
            if gs[k] <= 0:                          # the bracket [t_{k-1}, t_k]
                ta, tb, ya, yb = grid[k - 1], grid[k], ys[k - 1], ys[k]
                if gs[k] == 0:
                    return float(tb), yb
                fa, fb = (fun(ta, ya), fun(tb, yb)) if interp == "cubic" else (None, None)
                p = grid_interpolant(ta, tb, ya, yb, fa, fb)
                lo, hi = min(ta, tb), max(ta, tb)
                tau = brentq(lambda s: g(s, p(s)), lo, hi, xtol=1e-15 * max(1.0, abs(hi)),
                             rtol=4 * np.finfo(float).eps)
                return float(tau), p(tau)
        if n >= max_steps:
            raise ValueError(f"event_fn: no event within max_num_steps = {max_steps} fixed "
                             f"steps of {step_size} from t = {t0}")
        n *= 2
