"""A fixed-grid step loop over a given grid, for torchdiffeq's fixed-grid options.

    ys = fixed_grid(fun, y0, grid, method, perturb=False, callback=None)

``grid``: (m+1,) strictly monotonic times (from ``step_size``, ``grid_constructor`` or the
output times); one step per interval, of an explicit tableau (``refimpl.ode.traced.rk_step``,
the engine's traced step) or an implicit one (``refimpl.ode.implicit.implicit_step``).
Returns y at every grid point (a list of (n,)), autograd-traceable.

``perturb`` (torchdiffeq's option): within the step [t_k, t_{k+1}] an evaluation at t_k is
made at the next float towards t_{k+1}, and one at t_{k+1} at the next float towards t_k —
the one-sided limits, so that a ``func`` with a jump at a grid point sees the right side.
``callback(t_k, y_k, h)`` is called before each step (torchdiffeq's ``callback_step``).

References
----------
torchdiffeq ``_impl/solvers.py::FixedGridODESolver.integrate``, ``misc.py::_PerturbFunc``.
"""
import numpy as np
from autograd.tracer import getval

from .implicit import IMPLICIT_TABLEAUS, ImplicitTableau, _Jacobian, get_implicit, implicit_step
from .tableaus import get_tableau
from .traced import rk_step

__all__ = ["fixed_grid"]


def _perturbed(fun, ta, tb):
    """fun with evaluations at ta / tb moved one float inwards (module docstring)."""
    ta_in, tb_in = np.nextafter(ta, tb), np.nextafter(tb, ta)

    def f(s, y):
        sv = float(getval(s))
        if sv == ta:
            return fun(ta_in, y)
        if sv == tb:
            return fun(tb_in, y)
        return fun(s, y)
    return f


def fixed_grid(fun, y0, grid, method, perturb=False, callback=None):
    """One step of ``method`` per grid interval; y at every grid point (module docstring)."""
    implicit = isinstance(method, ImplicitTableau) or method in IMPLICIT_TABLEAUS
    tab = get_implicit(method) if implicit else get_tableau(method)
    if not implicit and tab.adaptive:
        raise ValueError(f"method: {tab.name!r} is adaptive; fixed_grid takes a fixed-step "
                         "method")
    jac = _Jacobian(fun) if implicit else None
    y, ys = y0, [y0]
    gv = np.asarray(getval(grid), dtype=float)
    for k in range(len(gv) - 1):
        ta, tb = grid[k], grid[k + 1]
        h = tb - ta
        f = _perturbed(fun, gv[k], gv[k + 1]) if perturb else fun
        if callback is not None:
            callback(ta, y, h)
        f0 = f(ta, y)
        if implicit:
            stage_times = [ta + ci * h if 0 < ci < 1 else (ta if ci == 0 else tb)
                           for ci in tab.c]
            y = implicit_step(f, ta, y, h, tab, f0=f0, jac=_Jacobian(f) if perturb else jac,
                              stage_times=stage_times)
        else:
            y, _ = rk_step(f, ta, y, h, f0, tab, t_new=tb)
        ys.append(y)
    return ys

