"""`odeint`'s arguments, validated into one flat problem (split out of `odeint.py`).

`validate_odeint_args` checks every argument (ValueError naming it) and returns the problem
the gradient modes run on: the flat state y0: (n,), the times, the list of differentiable
leaves of `args`, the `FlatODE` (with the fused VJP of `refimpl.nn.MLPDynamics`-like
dynamics when present), the error norm for tuple states, and the codecs between the user's
state (an array or a tuple of arrays) and the flat one.
"""
import math
import numbers
import warnings

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval, isbox

from .adjoint import NORMS
from .flat import FlatODE, flat_concat, tree_flatten, tree_unflatten
from .options import MAX_STEPS_DEFAULT, check_step_options
from .tableaus import ButcherTableau, get_tableau
from .traced import GroupNorm

__all__ = ["GRADIENTS", "validate_odeint_args"]

GRADIENTS = ("adjoint", "backprop", "checkpoint")
_OPTIONS = ("first_step", "max_step", "max_steps", "step_size")


# --- validation and flattening ----------------------------------------------------------
class _Problem:
    pass


def _is_float_leaf(x):
    if isbox(x):
        return True
    if isinstance(x, (float, np.floating)):
        return True
    return isinstance(x, np.ndarray) and x.dtype.kind in "fc"


def validate_odeint_args(func, y0, t, args, method, rtol, atol, gradient, adjoint_rtol, adjoint_atol,
              adjoint_norm, checkpoints, info, options):
    p = _Problem()
    if not callable(func):
        raise ValueError(f"func: expected a callable func(t, y, *args), got {type(func).__name__}")
    if isinstance(method, ButcherTableau):
        p.tab = method
    else:
        p.tab = get_tableau(method)
    if gradient not in GRADIENTS:
        raise ValueError(f"gradient: expected one of {GRADIENTS}, got {gradient!r}")
    if adjoint_norm not in NORMS:
        raise ValueError(f"adjoint_norm: expected one of {NORMS}, got {adjoint_norm!r}")
    if checkpoints is not None and (not isinstance(checkpoints, numbers.Integral)
                                    or checkpoints < 1):
        raise ValueError(f"checkpoints: expected None or an integer >= 1, got {checkpoints!r}")
    if info is not None and not isinstance(info, dict):
        raise ValueError(f"info: expected None or a dict, got {type(info).__name__}")
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ValueError(f"solver_options: unknown option(s) {unknown}; expected some of "
                         f"{list(_OPTIONS)}")
    p.options = dict(options)

    # --- state: an array or a tuple of arrays, flattened to (n,) ---
    p.is_tuple = isinstance(getval(y0), tuple)
    parts = [y0[i] for i in range(len(getval(y0)))] if p.is_tuple else [y0]
    if not parts:
        raise ValueError("y0: expected an array or a non-empty tuple of arrays, got ()")
    vals = [np.asarray(getval(v)) for v in parts]
    for v in vals:
        if v.dtype.kind not in "fiu" or v.size == 0:
            raise ValueError(f"y0: expected non-empty float arrays, got dtype {v.dtype} and "
                             f"shape {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError("y0: expected finite values, got NaN or inf")
    dtype = np.result_type(*[v.dtype for v in vals], np.float32)
    if dtype.kind != "f" or dtype.itemsize < 4:
        dtype = np.dtype(np.float64)
    parts = [v if isbox(v) and _dt(v) == dtype else (v.astype(dtype) if isbox(v)
             else np.asarray(v, dtype)) for v in parts]
    p.shapes = [np.shape(getval(v)) for v in parts]
    p.sizes = [int(np.prod(s, dtype=np.int64)) for s in p.shapes]
    p.y0 = anp.ravel(parts[0]) if len(parts) == 1 else flat_concat(parts)
    p.dtype = dtype
    # tuple states: max over the elements of their RMS errors (torchdiffeq's mixed norm)
    p.norm = GroupNorm(p.sizes, [True] * len(p.sizes)) if p.is_tuple and len(parts) > 1 \
        else None

    # --- tolerances (rtol floor as solve / scipy, in the state's precision) ---
    for name, v in (("rtol", rtol), ("atol", atol), ("adjoint_rtol", adjoint_rtol),
                    ("adjoint_atol", adjoint_atol)):
        if v is None and name.startswith("adjoint_"):
            continue
        if not (isinstance(v, numbers.Real) or np.ndim(v) == 0) or not math.isfinite(float(v)) \
                or float(v) < 0:
            raise ValueError(f"{name}: expected a finite scalar >= 0, got {v!r}")
    floor = 100 * float(np.finfo(dtype).eps)
    p.rtol, p.atol = float(rtol), float(atol)
    if p.rtol < floor:
        warnings.warn(f"rtol={p.rtol!r} is below 100*eps of {dtype}; using rtol={floor!r}",
                      stacklevel=3)
        p.rtol = floor
    p.adjoint_rtol = p.rtol if adjoint_rtol is None else max(float(adjoint_rtol), floor)
    p.adjoint_atol = p.atol if adjoint_atol is None else float(adjoint_atol)

    # --- output times ---
    tv = np.asarray(getval(t))
    if tv.ndim != 1 or tv.size < 1 or tv.dtype.kind not in "fiu":
        raise ValueError(f"t: expected a non-empty 1-D array of times, got shape {tv.shape} "
                         f"and dtype {tv.dtype}")
    if not np.all(np.isfinite(tv)):
        raise ValueError("t: expected finite times, got NaN or inf")
    if tv.size > 1:
        d = np.diff(tv.astype(np.float64))
        if not (np.all(d > 0) or np.all(d < 0)):
            raise ValueError("t: expected strictly increasing or strictly decreasing times, "
                             f"got {tv!r}")
    p.t = t if isbox(t) else (tv if tv.dtype.kind == "f" else tv.astype(np.float64))

    # --- step options: one validator with solve (a ValueError naming the option) ---
    fixed = p.options.get("step_size") is not None or not p.tab.adaptive
    span = float(abs(tv[-1] - tv[0]))
    cleaned = check_step_options(p.options.get("first_step"),
                                 p.options.get("max_step", math.inf),
                                 p.options.get("max_steps", MAX_STEPS_DEFAULT),
                                 p.options.get("step_size"), span, fixed=fixed,
                                 t0=float(tv[0]))
    p.options = {k: v for k, v in zip(_OPTIONS, cleaned) if k in p.options}

    # --- args: differentiable float leaves and static leaves ---
    args = (tuple(args[i] for i in range(len(getval(args))))
            if isinstance(getval(args), (tuple, list)) else (args,))
    all_leaves, argdef = tree_flatten(args)
    is_diff = [_is_float_leaf(x) for x in all_leaves]
    p.leaves = [x for x, d in zip(all_leaves, is_diff) if d]
    leaf_shapes = [np.shape(getval(x)) for x in p.leaves]

    def rebuild(leaves):
        it = iter(leaves)
        return tree_unflatten(argdef, [next(it) if d else x for x, d in zip(all_leaves, is_diff)])

    p.unflatten_y, flatten_out = _state_codec(p.shapes, p.sizes, p.is_tuple, func)

    def fun(s, y, leaves):
        out = flatten_out(func(s, p.unflatten_y(y), *rebuild(leaves)))
        if _dt(out) != dtype:                 # e.g. float64 parameters in float32 mode
            out = out.astype(dtype) if isbox(out) else np.asarray(out, dtype)
        return out

    # The fused-VJP protocol: a `func` with a method f_and_vjp(t, y, params, a) -> (f,
    # aᵀ∂f/∂y, aᵀ∂f/∂params (same tree as params), aᵀ∂f/∂t) and args == (params,) gets its
    # hand-written VJP called by the adjoint instead of one autograd.make_vjp per stage
    # (`refimpl.nn.MLPDynamics`, `refimpl.ffjord.fast`). For a tuple state y, a, f and
    # aᵀ∂f/∂y are tuples like y0 (`refimpl.ffjord.tuple_state.TupleState`).
    fused = None
    if callable(getattr(func, "f_and_vjp", None)) and len(args) == 1 and all(is_diff):
        def fused(s, y, leaves, a):
            params = rebuild(leaves)[0]
            f, g_y, g_params, g_t = func.f_and_vjp(s, p.unflatten_y(y), params,
                                                   p.unflatten_y(a))
            if p.is_tuple:
                return flatten_out(f), flatten_out(g_y), tree_flatten(g_params)[0], g_t
            return anp.ravel(f), anp.ravel(g_y), tree_flatten(g_params)[0], g_t
    p.ode = FlatODE(fun, leaf_shapes, fused_vjp=fused)

    N = tv.size

    def unflatten_ys(ys):                                   # (N, n) -> user layout
        if not p.is_tuple:
            return anp.reshape(ys, (N,) + p.shapes[0])
        out, i = [], 0
        for shp, n in zip(p.shapes, p.sizes):
            out.append(anp.reshape(ys[:, i:i + n], (N,) + shp))
            i += n
        return tuple(out)
    p.unflatten_ys = unflatten_ys
    return p


def _dt(x):
    return np.result_type(getval(x))


def _state_codec(shapes, sizes, is_tuple, func):
    """(unflatten (n,) -> user state, flatten user derivative -> (n,), checking shapes)."""
    if not is_tuple:
        shape = shapes[0]
        unflat = (lambda y: y) if len(shape) == 1 else (lambda y: anp.reshape(y, shape))

        def flat(out):
            if np.shape(getval(out)) != shape:
                raise ValueError(f"func: expected a return value of shape {shape} (the shape "
                                 f"of y0), got shape {np.shape(getval(out))}")
            return out if len(shape) == 1 else anp.ravel(out)
        return unflat, flat
    bounds = np.cumsum([0] + list(sizes))

    def unflat(y):
        return tuple(anp.reshape(y[a:b], s) for a, b, s in zip(bounds[:-1], bounds[1:], shapes))

    def flat(out):
        got = [np.shape(getval(o)) for o in out] if isinstance(out, (tuple, list)) else None
        if got is None or [tuple(g) for g in got] != [tuple(s) for s in shapes]:
            raise ValueError(f"func: expected a tuple of arrays of shapes {shapes} (those of "
                             f"y0), got {got if got is not None else type(out).__name__}")
        return anp.concatenate([anp.ravel(o) for o in out])
    return unflat, flat
