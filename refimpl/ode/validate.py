"""Input validation for ``refimpl.ode.solve``: every bad argument is a ValueError
that names the argument, says what was expected and what was given.

References
----------
DESIGN.md, "Bad input"; scipy ``integrate/_ivp/common.py::validate_tol`` (the
``rtol`` floor of ``100 eps``, raised with a warning).
"""
import math
import numbers
import warnings
from types import SimpleNamespace

import numpy as np

from .control import DefaultController
from .options import check_step_options
from .tableaus import FIXED_METHODS, get_tableau

__all__ = ["validate_solve_args", "RTOL_FLOOR"]

#: smallest relative tolerance (scipy's floor): below it the error estimate is rounding noise
RTOL_FLOOR = 100 * np.finfo(np.float64).eps


def _float_array(name, v):
    """``v`` as a float64 array, or a ValueError naming ``name`` (e.g. ``rtol="abc"``)."""
    try:
        return np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number or an array of numbers, "
                         f"got {v!r}") from None


def _state(y0):
    y = np.asarray(y0)
    if y.dtype.kind in "iu":
        y = y.astype(np.float64)
    elif y.dtype.kind == "f":
        y = y.astype(np.float64, copy=True)
    else:
        raise ValueError(f"y0: expected a real numeric (float or integer) array, "
                         f"got dtype {y.dtype}")
    if y.size == 0:
        raise ValueError(f"y0: expected a non-empty array, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y0: expected finite values, got NaN or inf")
    return y


#: controllers and, for presets that reproduce a library, the methods they cover
CONTROLLERS = {"default": None, "scipy": ("dopri5", "bosh3", "dop853"),
               "hairer": ("dopri5", "dop853"), "torchdiffeq": ("dopri5",)}


def validate_solve_args(func, t_span, y0, args, method, rtol, atol, t_eval, first_step,
                        max_step, max_steps, step_size, controller="default"):
    """Check ``solve``'s arguments; returns a namespace of cleaned values.

    Fields: ``tab, y0`` (flat (n,) float64), ``shape, t0, t1, direction,
    rtol`` (float), ``atol`` (float or (n,)), ``t_eval`` ((m,) or None), ``first_step,
    max_step, max_steps, step_size``, ``fun`` (``fun(t, y_flat) -> flat``), ``fixed`` (bool).
    """
    if not callable(func):
        raise ValueError(f"func: expected a callable func(t, y, *args), got {type(func).__name__}")
    tab = get_tableau(method)
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise ValueError(f"t_span: expected two numbers (t0, t1), got {t_span!r}") from None
    if not (math.isfinite(t0) and math.isfinite(t1)):
        raise ValueError(f"t_span: expected finite (t0, t1), got {(t0, t1)!r}")
    direction = 1.0 if t1 >= t0 else -1.0
    y = _state(y0)
    shape, n = y.shape, y.size

    # --- tolerances ---
    rtol_a = _float_array("rtol", rtol)
    if rtol_a.ndim != 0 or not math.isfinite(float(rtol_a)) or rtol_a < 0:
        raise ValueError(f"rtol: expected a finite scalar >= 0, got {rtol!r}")
    rtol = float(rtol_a)
    if rtol < RTOL_FLOOR:
        warnings.warn(f"rtol={rtol!r} is below 100*eps; using rtol={RTOL_FLOOR!r} (as scipy)",
                      stacklevel=3)
        rtol = RTOL_FLOOR
    atol_a = _float_array("atol", atol)
    if atol_a.ndim != 0 and atol_a.shape != shape:
        raise ValueError(f"atol: expected a scalar or an array of shape {shape} (like y0), "
                         f"got shape {atol_a.shape}")
    if np.any(atol_a < 0) or not np.all(np.isfinite(atol_a)):
        raise ValueError(f"atol: expected finite values >= 0, got {atol!r}")
    atol = float(atol_a) if atol_a.ndim == 0 else atol_a.reshape(n).copy()

    # --- output times ---
    if t_eval is not None:
        t_eval = np.array(t_eval, dtype=np.float64)
        if t_eval.ndim != 1 or t_eval.size == 0:
            raise ValueError(f"t_eval: expected a non-empty 1-D array, got shape {t_eval.shape}")
        lo, hi = min(t0, t1), max(t0, t1)
        if not np.all(np.isfinite(t_eval)) or t_eval.min() < lo or t_eval.max() > hi:
            raise ValueError(f"t_eval: expected times within t_span [{lo}, {hi}], got values "
                             f"from {t_eval.min()} to {t_eval.max()}")
        if t_eval.size > 1 and not np.all(direction * np.diff(t_eval) > 0):
            raise ValueError("t_eval: expected strictly "
                             f"{'increasing' if direction > 0 else 'decreasing'} times "
                             "(the direction of integration)")

    # --- steps ---
    first_step, max_step, max_steps, step_size = check_step_options(
        first_step, max_step, max_steps, step_size, abs(t1 - t0),
        fixed=step_size is not None or not tab.adaptive, t0=t0)
    fixed = step_size is not None or not tab.adaptive
    if not tab.adaptive and step_size is None and t_eval is None:
        raise ValueError(f"step_size: method {tab.name!r} is fixed-step (one of "
                         f"{', '.join(FIXED_METHODS)}); pass step_size or a t_eval grid")

    ctrl = None
    if isinstance(controller, DefaultController):    # a rule object for the default loop
        ctrl, controller = controller, "default"
    if not isinstance(controller, str) or controller not in CONTROLLERS:
        raise ValueError(f"controller: expected one of {', '.join(CONTROLLERS)}, "
                         f"got {controller!r}")
    if CONTROLLERS[controller] is not None:
        if tab.name not in CONTROLLERS[controller] or fixed:
            raise ValueError(f"controller: {controller!r} reproduces adaptive methods "
                             f"{', '.join(CONTROLLERS[controller])} only, got method {tab.name!r}"
                             f"{' with step_size' if step_size is not None else ''}")

    # --- right-hand side on flat states ---
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    if len(shape) == 1:
        fun = (lambda t, y: func(t, y, *args)) if args else func
    else:
        fun = lambda t, y: np.reshape(func(t, y.reshape(shape), *args), n)  # noqa: E731
    return SimpleNamespace(tab=tab, y0=y.reshape(n), shape=shape, t0=t0, t1=t1,
                           direction=direction, rtol=rtol, atol=atol, t_eval=t_eval,
                           first_step=first_step, max_step=max_step, max_steps=int(max_steps),
                           step_size=step_size, fun=fun, fixed=fixed, func=func, args=args,
                           controller=controller, ctrl=ctrl)
