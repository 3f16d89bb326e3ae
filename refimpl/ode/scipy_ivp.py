"""``solve_ivp``: a drop-in of ``scipy.integrate.solve_ivp`` for its explicit RK methods.

``solve_ivp(fun, t_span, y0, method="RK45", t_eval=None, dense_output=False, events=None,
vectorized=False, args=None, **options)`` returns scipy's ``OdeResult`` (``t`` (m,), ``y``
(n, m), ``sol``, ``t_events``, ``y_events``, ``nfev``, ``njev``, ``nlu``, ``status``,
``message``, ``success``). It is scipy's driver loop (``ivp.py``) over the step objects of
``refimpl.ode.scipy_classes`` — which run the engine's ``preset_scipy.ScipyRK`` — with the
engine's event location (``refimpl.ode.events``). Results are bit-identical to scipy's
(t, y, nfev, t_events; tested in ``tests/ode/test_scipy_ivp_layer.py``); scipy's own test
suite runs against it in ``tests/peers/``.

Methods: "RK23", "RK45", "DOP853", "Radau" (or one of those classes; Radau is
``refimpl.ode.scipy_radau``, the engine's adaptive Radau IIA 5). scipy's other implicit
methods ("BDF", "LSODA") are not part of the engine: a ValueError names them.
``options``: ``first_step``, ``max_step``, ``rtol``, ``atol`` (scalars or arrays of shape
(n,)); others (e.g. ``jac``) warn as in scipy ("no effect for a chosen solver").

References
----------
scipy ``integrate/_ivp/ivp.py::solve_ivp`` (1.17).
"""
import inspect

import numpy as np

from .events import EventTracker
from .radau import Radau5
from .scipy_classes import DOP853, RK23, RK45, OdeSolution, RungeKutta
from .scipy_radau import Radau

__all__ = ["solve_ivp", "OdeResult", "METHODS", "MESSAGES"]

METHODS = {"RK23": RK23, "RK45": RK45, "DOP853": DOP853, "Radau": Radau}
NOT_IMPLEMENTED = ("BDF", "LSODA")
MESSAGES = {0: "The solver successfully reached the end of the integration interval.",
            1: "A termination event occurred."}


class OdeResult(dict):
    """scipy's result: a dict whose keys are also attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e

    __setattr__ = dict.__setitem__
    __delattr__ = dict.__delitem__

    def __dir__(self):
        return list(self.keys())


def _check_t_eval(t_eval, t0, tf):
    t_eval = np.asarray(t_eval)
    if t_eval.ndim != 1:
        raise ValueError("`t_eval` must be 1-dimensional.")
    if np.any(t_eval < min(t0, tf)) or np.any(t_eval > max(t0, tf)):
        raise ValueError("Values in `t_eval` are not within `t_span`.")
    d = np.diff(t_eval)
    if tf > t0 and np.any(d <= 0) or tf < t0 and np.any(d >= 0):
        raise ValueError("Values in `t_eval` are not properly sorted.")
    return t_eval if tf > t0 else t_eval[::-1]               # decreasing for searchsorted


def solve_ivp(fun, t_span, y0, method="RK45", t_eval=None, dense_output=False, events=None,
              vectorized=False, args=None, **options):
    """Solve ``dy/dt = fun(t, y)`` as ``scipy.integrate.solve_ivp`` does (see module doc)."""
    if isinstance(method, str) and method in NOT_IMPLEMENTED:
        raise ValueError(f"method: {method!r} is an implicit scipy method, not implemented by "
                         f"refimpl.ode (use one of {', '.join(METHODS)})")
    if method not in METHODS and not (inspect.isclass(method)
                                      and issubclass(method, (RungeKutta, Radau5))):
        raise ValueError(f"`method` must be one of {METHODS} or OdeSolver class.")
    t0, tf = map(float, t_span)
    if np.isnan(t0) or np.isnan(tf):
        raise ValueError(f"t_span: expected two numbers (either may be infinite), got {t_span!r}")
    if args is not None:
        try:
            _ = [*(args)]
        except TypeError as exp:
            raise TypeError("Supplied 'args' cannot be unpacked. Please supply `args`"
                            f" as a tuple (e.g. `args=({args},)`)") from exp
        user_fun = fun
        fun = lambda t, x: user_fun(t, x, *args)              # noqa: E731
        if callable(options.get("jac")):                       # scipy: Radau's jac gets args
            user_jac = options["jac"]
            options["jac"] = lambda t, x: user_jac(t, x, *args)   # noqa: E731
    if t_eval is not None:
        t_eval = _check_t_eval(t_eval, t0, tf)
        t_eval_i = 0 if tf > t0 else t_eval.shape[0]
    method = METHODS.get(method, method)
    solver = method(fun, t0, y0, tf, vectorized=vectorized, **options)

    if t_eval is None:
        ts, ys = [t0], [solver.y]
    else:
        ts, ys = [], []
    ti = [t0]                                                  # segment ends with t_eval
    interpolants = []
    tracker = None
    if events is not None:
        tracker = EventTracker(events, t0, y0, () if args is None else tuple(args))

    status = None
    message = None
    while status is None:
        message = solver.step()
        if solver.status == "finished":
            status = 0
        elif solver.status == "failed":
            status = -1
            break
        t_old, t, y = solver.t_old, solver.t, solver.y
        sol = None
        if dense_output:
            sol = solver.dense_output()
            interpolants.append(sol)
        if tracker is not None:
            make_sol = (lambda s=sol: s) if sol is not None else solver.dense_output
            t_stop, sol_ev = tracker.after_step(t_old, t, y, make_sol)
            sol = sol_ev if sol_ev is not None else sol
            if t_stop is not None:
                status = 1
                t, y = t_stop, sol(t_stop)
        if t_eval is None:
            if not (len(ts) > 1 and ts[-1] == t and dense_output):
                ts.append(t)
                ys.append(y)
            elif interpolants:
                interpolants.pop()
        else:
            if solver.direction > 0:
                t_eval_i_new = np.searchsorted(t_eval, t, side="right")
                t_eval_step = t_eval[t_eval_i:t_eval_i_new]
            else:
                t_eval_i_new = np.searchsorted(t_eval, t, side="left")
                t_eval_step = t_eval[t_eval_i_new:t_eval_i][::-1]
            if t_eval_step.size > 0:
                if sol is None:
                    sol = solver.dense_output()
                ts.append(t_eval_step)
                ys.append(sol(t_eval_step))
                t_eval_i = t_eval_i_new
        if t_eval is not None and dense_output:
            ti.append(t)

    message = MESSAGES.get(status, message)
    t_events = y_events = None
    if tracker is not None:
        t_events, y_events = tracker.results()
    if t_eval is None:
        ts, ys = np.array(ts), np.vstack(ys).T
    elif ts:
        ts, ys = np.hstack(ts), np.hstack(ys)
    sol = None
    if dense_output:
        sol = OdeSolution(ts if t_eval is None else ti, interpolants)
    return OdeResult(t=ts, y=ys, sol=sol, t_events=t_events, y_events=y_events,
                     nfev=solver.nfev, njev=solver.njev, nlu=solver.nlu, status=status,
                     message=message, success=status >= 0)
