"""`odeint`: a differentiable ODE solve (adjoint, backprop or checkpointed gradients).

    ys = odeint(func, y0, t, args=(params,), gradient="adjoint")    # ys[i] = y(t[i])
    loss = lambda params: np.sum(odeint(func, y0, t, (params,))[-1] ** 2)
    g = autograd.grad(loss)(params)

Argument order follows torchdiffeq (`func, y0, t`); `refimpl.ode.solve(func, t_span, y0)`
follows `scipy.integrate.solve_ivp`. `func(t, y, *args)` as in `solve`.

Gradient modes (all differentiate with respect to y0, every float array inside `args`, t):

* "adjoint" — the continuous adjoint of [NeuralODE Alg. 1] (`refimpl.ode.adjoint`):
  memory independent of the number of steps; the gradient is that of the exact ODE solution,
  computed to the adjoint's tolerance. Differentiable again (Hessian-vector products).
* "backprop" — autograd differentiates the solver's own arithmetic (`refimpl.ode.traced`):
  the exact gradient of the discrete solve, *with the accepted step sizes treated as
  constants* (the controller's choices are not differentiated; only the clipped final step
  to each t_i depends on t). Memory grows with the number of steps. Any order.
* "checkpoint" — stores the state at every k-th accepted step (`checkpoints=k`, default 1),
  then replays each segment under autograd: the same gradient as "backprop" (to rounding)
  with memory ∝ number of checkpoints + k steps. First order only.

Output times (`output`):

* "clip" (default) — every step that would pass an output time is clipped to it, so the
  solver lands on each t_i; ys are identical across the gradient modes. N output times
  force at least N-1 steps.
* "interpolate" — steps are clipped to the final time t_{N-1} only (no overshoot, unlike
  torchdiffeq's solvers, which step past it); every interior y(t_i) is the accepted step's
  continuous extension, written with autograd.numpy (`refimpl.ode.traced`,
  `refimpl.ode.dense.eval_step_traced`): dopri5/tsit5 the 4th-order `P` polynomial (scipy
  RK45.P, Hairer I eq. (6.7)), the other tableaus the cubic Hermite through (y, f) at both
  ends; dop853 raises ValueError (its 7th-order extension needs extra stages). The step
  sequence no longer depends on how many outputs are asked for, as in torchdiffeq and
  `solve(t_eval=...)`. "backprop" differentiates the interpolant (d/dt_i through θ);
  "adjoint" interpolates the forward solve while the backward solve still restarts at every
  output time (the cotangent jumps there); "checkpoint" refuses it (ValueError: its replay in
  `refimpl.ode.checkpoint` re-runs clipped steps only). With two output times both modes
  give the same numbers.

The error norm is the RMS of the scaled error (as `solve`); for a tuple state
it is the max over the elements of their RMS (torchdiffeq's mixed norm for tuples).
dtype follows y0 (float32 mode: coefficients and times cast to float32).
`info` (a dict you pass) receives nfev_forward, n_steps_forward, n_rejected_forward after
the call and nfev_backward, n_steps_backward, n_rejected_backward once the gradient ran
("backprop": evaluations whose VJP the backward pass runs).

References
----------
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
  equations. NeurIPS 2018 (Sec. 2, Alg. 1, App. B; Fig. 3 on evaluation counts).
P. Kidger, R. T. Q. Chen, T. Lyons. "Hey, that's not an ODE": faster ODE adjoints via
  seminorms. ICML 2021.
A. Griewank, A. Walther. Evaluating derivatives, 2nd ed. (2008), Ch. 12 (checkpointing).
torchdiffeq (`odeint`, `odeint_adjoint`): argument order, adjoint norm conventions.
"""
import math
import numbers
import warnings

import autograd.numpy as anp
import numpy as np
from autograd.extend import primitive, defvjp
from autograd.tracer import getval, isbox

from .adjoint import NORMS, AdjointSpec, odeint_adjoint_flat, publish_counts
from .checkpoint import CheckpointSpec, odeint_checkpoint_flat
from .tableaus import ButcherTableau, get_tableau
from .traced import (OUTPUTS, FlatODE, GroupNorm, check_output, flat_concat, integrate,
                     tree_flatten, tree_unflatten)

__all__ = ["odeint", "GRADIENTS", "OUTPUTS"]

GRADIENTS = ("adjoint", "backprop", "checkpoint")
_OPTIONS = ("first_step", "max_step", "max_steps", "step_size")


def odeint(func, y0, t, args=(), *, method="dopri5", rtol=1e-7, atol=1e-9, gradient="adjoint",
           adjoint_rtol=None, adjoint_atol=None, adjoint_norm="mixed", checkpoints=None,
           info=None, output="clip", **solver_options):
    """Solve dy/dt = func(t, y, *args) and return y at every t[i] (differentiably).

    Parameters
    ----------
    func : callable func(t, y, *args) -> dy/dt shaped like y (a tuple for tuple states).
        An object that also has `f_and_vjp(t, y, params, a)` (e.g. `refimpl.nn.mlp_dynamics`)
        gets its fused VJP used by the adjoint (see `_validate`).
    y0 : float array of any shape, or a tuple of arrays (e.g. (z, logp) for flows).
    t : (N,) strictly monotonic output times (increasing or decreasing); ys[0] = y0.
    args : tuple of arrays / nested lists, tuples, dicts of arrays (network parameters);
        non-float leaves (ints, strings, ...) are passed through undifferentiated.
    method : tableau name (see `refimpl.ode.METHODS`) or a ButcherTableau.
    rtol, atol : forward tolerances (scalars).
    gradient : "adjoint" | "backprop" | "checkpoint" (module docstring).
    adjoint_rtol, adjoint_atol : tolerances of the backward solve (default: rtol, atol).
    adjoint_norm : "mixed" | "seminorm" | "rms" (see `refimpl.ode.adjoint`).
    checkpoints : "checkpoint" mode: store every k-th accepted step (int k >= 1; default 1).
    info : optional dict, filled with evaluation counts (module docstring).
    output : "clip" | "interpolate" — how y(t_i) is produced (module docstring).
    **solver_options : first_step, max_step, max_steps, step_size (as `solve`).

    Returns
    -------
    ys : (N,) + y0.shape array, or a tuple of such arrays for a tuple y0.
    """
    p = _validate(func, y0, t, args, method, rtol, atol, gradient, adjoint_rtol, adjoint_atol,
                  adjoint_norm, checkpoints, info, solver_options)
    check_output(output, p.tab)
    if output == "interpolate" and gradient == "checkpoint":
        raise ValueError("output: 'interpolate' is not supported with gradient='checkpoint' "
                         "(its replay re-runs clipped steps only); use output='clip' or "
                         "gradient='backprop'")
    counters = {"forward": _zero_counts(), "backward": _zero_counts()}
    if info is not None:
        info.clear()
        info.update(gradient=gradient, method=p.tab.name)
        counters["info"] = info
    if gradient == "backprop":
        fun = p.ode.fun
        ode_fun = (lambda s, y, leaves: _tap(fun(s, y, leaves), counters)) \
            if info is not None else fun
        ys, stats = integrate(ode_fun, p.y0, p.t, (p.leaves,), tab=p.tab, rtol=p.rtol,
                              atol=p.atol, norm=p.norm, output=output, **p.options)
        ys = anp.stack(ys)
        counters["forward"] = {k: stats[k] for k in _zero_counts()}
    else:
        theta = flat_concat(p.leaves)                     # (p,) the differentiable args
        options = dict(p.options)
        if output != "clip":            # reaches `integrate` through the adjoint's options
            options["output"] = output
        first_step = options.pop("first_step", None) if gradient == "adjoint" else None
        common = dict(adjoint_rtol=p.adjoint_rtol, adjoint_atol=p.adjoint_atol,
                      adjoint_norm=adjoint_norm, options=options, counters=counters)
        if gradient == "adjoint":                         # first_step: forward solve only
            spec = AdjointSpec(p.ode, p.tab, p.rtol, p.atol, norm=p.norm,
                               state_sizes=p.sizes if p.is_tuple else None,
                               first_step=first_step, **common)
            ys = odeint_adjoint_flat(p.y0, p.t, theta, spec)
        else:
            spec = CheckpointSpec(p.ode, p.tab, p.rtol, p.atol, every=checkpoints or 1,
                                  norm=p.norm, **common)
            ys = odeint_checkpoint_flat(p.y0, p.t, theta, spec)
    publish_counts(counters)
    return p.unflatten_ys(_cast_cotangent(ys))


# --- evaluation counts ------------------------------------------------------------------
def _zero_counts():
    return dict(nfev=0, n_steps=0, n_accepted=0, n_rejected=0)


@primitive
def _cast_cotangent(ys):
    """Identity whose VJP casts the incoming gradient to ys' dtype (float32 mode: a loss
    mixing float64 constants would otherwise turn the whole backward pass into float64)."""
    return ys


def _cast_vjp(ans, ys):
    dtype = np.result_type(getval(ys))
    return lambda g: g if np.result_type(getval(g)) == dtype else (
        g.astype(dtype) if isbox(g) else np.asarray(g, dtype))


defvjp(_cast_cotangent, _cast_vjp)


@primitive
def _tap(y, counters):
    """Identity whose VJP counts how often the backward pass goes through func."""
    return y


def _tap_vjp(ans, y, counters):
    def vjp(g):
        counters["backward"]["nfev"] += 1
        publish_counts(counters)
        return g
    return vjp


defvjp(_tap, _tap_vjp)


# --- validation and flattening ----------------------------------------------------------
class _Problem:
    pass


def _is_float_leaf(x):
    if isbox(x):
        return True
    if isinstance(x, (float, np.floating)):
        return True
    return isinstance(x, np.ndarray) and x.dtype.kind in "fc"


def _validate(func, y0, t, args, method, rtol, atol, gradient, adjoint_rtol, adjoint_atol,
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
    # (`refimpl.nn.MLPDynamics`, `refimpl.ffjord.fast`).
    fused = None
    if (callable(getattr(func, "f_and_vjp", None)) and not p.is_tuple and len(args) == 1
            and all(is_diff)):
        def fused(s, y, leaves, a):
            params = rebuild(leaves)[0]
            f, g_y, g_params, g_t = func.f_and_vjp(s, p.unflatten_y(y), params,
                                                   p.unflatten_y(a))
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
