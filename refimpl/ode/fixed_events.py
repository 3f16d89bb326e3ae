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
Differentiable (``traced_event``): the event time of this discrete procedure,
``g(τ, p(τ)) = 0`` with ``p`` the interpolant of the grid values, has by the implicit
function theorem [Chen, Amos & Nickel 2021, eq. (5), on the interpolant instead of the exact
flow] ``dτ/dθ = -(∂g/∂θ + ∂g/∂y · ∂p(τ)/∂θ) / (∂g/∂t + ∂g/∂y · p'(τ))``, ``∂p(τ)/∂θ``
through the traced grid run (``refimpl.ode.implicit``'s IFT Newton step, the Adams
arithmetic) and ``p'(τ)`` the interpolant's slope; it is the gradient finite differences of
the forward event time approximate.

References
----------
torchdiffeq ``_impl/solvers.py::FixedGridODESolver.integrate_until_event``,
``event_handling.py::find_event``; scipy ``integrate/_ivp/ivp.py::find_active_events``.
"""
import math

import autograd.numpy as anp
import numpy as np
from autograd import grad
from autograd.tracer import getval
from scipy.optimize import brentq

__all__ = ["until_event_on_grid", "grid_interpolant", "traced_event"]


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


def _slope(ta, tb, ya, yb, fa, fb, t):
    """p'(t) of ``grid_interpolant`` (plain values): (yb - ya)/h, or the Hermite's slope."""
    h = tb - ta
    if fa is None:
        return (yb - ya) / h
    s = (t - ta) / h
    d00, d10 = 6 * s * s - 6 * s, 3 * s * s - 4 * s + 1
    d01, d11 = -6 * s * s + 6 * s, 3 * s * s - 2 * s
    return (d00 * ya + d01 * yb) / h + d10 * fa + d11 * fb


def traced_event(run_grid, fun, t0, t1, step_size, tau, g, interp="linear"):
    """(t*, y*) = (τ, p(τ)) in value, with the derivative of the discrete event time
    (module docstring). ``run_grid`` and ``fun`` traced (autograd boxes flow through them);
    ``tau`` the forward event time (``until_event_on_grid``); ``g(t, y)`` the event component
    that fired, traceable, positive before τ. Steps the grid ``t0 + k h`` to the bracket's end
    ``t_k >= τ`` again, under autograd."""
    d = 1.0 if t1 >= t0 else -1.0
    k = max(1, math.ceil(d * (tau - t0) / step_size))
    grid = t0 + d * step_size * np.arange(k + 1.0)
    ys = run_grid(grid)
    ta, tb, ya, yb = grid[-2], grid[-1], ys[-2], ys[-1]
    fa, fb = (fun(ta, ya), fun(tb, yb)) if interp == "cubic" else (None, None)
    y_hat = grid_interpolant(ta, tb, ya, yb, fa, fb)(tau)                      # (n,) traced
    plain = [None if v is None else np.asarray(getval(v)) for v in (ya, yb, fa, fb)]
    slope = _slope(ta, tb, *plain, tau)                                        # p'(τ), (n,)
    yv = np.asarray(getval(y_hat), dtype=float)
    dgdt = float(grad(g, 0)(tau, yv)) + float(np.dot(grad(g, 1)(tau, yv), slope))
    if dgdt == 0:
        raise ValueError("event_fn: dg/dt = 0 at the event (a tangential zero); its time "
                         "has no gradient")
    # one Newton step with dg/dt held constant: value τ - g/dg/dt ≈ τ (g ≈ 0 at the root),
    # derivative -(dg/dθ)/(dg/dt); the state moves along the interpolant's slope
    t_star = tau - g(tau, y_hat) / dgdt
    return t_star, y_hat + anp.asarray(slope) * (t_star - tau)
