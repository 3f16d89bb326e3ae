"""Pieces shared by the compiled loops: the right-hand-side call, output and history
buffers, and allocation-free vector loops.

``rhs_into(fun, t, y, out, args)`` is the one place that calls the user's function. It is
resolved at compile time from the function's type: an in-place ``fun(t, y, out, *args)``
(one more positional parameter than ``args`` + 2) writes ``out``; ``fun(t, y, *args)``
returns an array that is copied into ``out``. Every jitted helper that takes ``fun`` is
``inline="always"``: a separately compiled helper keeps its first-class-function overload,
and typing a later call with a specialised ``fun`` of another arity then fails inside numba
(it tries to convert the dispatcher; regression test in ``tests/ode/test_fast_path.py``).

Every loop below writes into preallocated arrays; only the output buffers grow (by
doubling), and the per-step writes (``put``, ``put_history``) return nothing: a helper that
returns arrays costs ~40 ns a call in reference counting.

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, 2nd ed. (1993), Sec. II.4, II.6.
"""
import functools
import inspect
import math

import numpy as np
from numba import njit, types
from numba.extending import overload


@functools.lru_cache(maxsize=256)
def positional_arity(py_func):
    """Number of positional parameters of ``py_func`` without a default value."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for q in inspect.signature(py_func).parameters.values()
               if q.kind in kinds and q.default is q.empty)


def _is_inplace(fun, n_args):
    """Compile-time: does the numba-typed ``fun`` take ``out`` (in place) or return dy/dt?"""
    if isinstance(fun, types.FunctionType):              # first-class function (cached path)
        return len(fun.signature.args) == 3 + n_args
    return positional_arity(fun.dispatcher.py_func) == 3 + n_args


def rhs_into(fun, t, y, out, args):
    """out = f(t, y, *args) (pure-Python stand-in; the compiled version is the overload)."""
    raise NotImplementedError("rhs_into is only callable from compiled code")


@overload(rhs_into)
def _rhs_into_ol(fun, t, y, out, args):
    n_args = len(args)
    if _is_inplace(fun, n_args):
        if n_args == 0:                                  # (a star call costs ~25 ns here)
            def impl(fun, t, y, out, args):
                fun(t, y, out)
        else:
            def impl(fun, t, y, out, args):
                fun(t, y, out, *args)
        return impl

    if n_args == 0:
        def impl(fun, t, y, out, args):
            _copy_checked(fun(t, y), out)
    else:
        def impl(fun, t, y, out, args):
            _copy_checked(fun(t, y, *args), out)
    return impl


@njit(cache=True, inline="always")
def _copy_checked(r, out):
    """out = r for the array an allocating RHS returned (its length checked)."""
    if r.shape[0] != out.shape[0]:
        raise ValueError("func: returned an array of the wrong length (numba fast path)")
    for k in range(out.shape[0]):
        out[k] = r[k]


# --- growing output buffers -------------------------------------------------------------
@njit(cache=True)
def grow(ts, ys, m):
    """Copies of the full buffers ``ts[:m], ys[:m]`` with room for twice as many rows."""
    ts2, ys2 = np.empty(2 * m + 16), np.empty((2 * m + 16, ys.shape[1]))
    ts2[:m], ys2[:m] = ts[:m], ys[:m]
    return ts2, ys2


@njit(cache=True, inline="always")
def put(ts, ys, m, t, y):
    """Write ``(t, y)`` into row ``m`` (the caller grows the buffers first when full:
    ``if m == ts.shape[0]: ts, ys = grow(ts, ys, m)``; helpers that return arrays cost
    ~40 ns a call in refcounting, so the per-step path returns nothing)."""
    ts[m] = t
    for k in range(y.shape[0]):
        ys[m, k] = y[k]


@njit(cache=True, inline="always")
def push(ts, ys, m, t, y):
    """Append ``(t, y)`` at row ``m``; returns the (possibly reallocated) buffers and m + 1."""
    if m == ts.shape[0]:
        ts, ys = grow(ts, ys, m)
    put(ts, ys, m, t, y)
    return ts, ys, m + 1


@njit(cache=True)
def push_start(ts, ys, t0, y0, te, has_te):
    """Record y0 at the start: once without t_eval, else once per leading t_eval == t0.
    Returns the buffers, the row count m and the index j of the next t_eval point."""
    m = j = 0
    if has_te:
        while j < te.shape[0] and te[j] == t0:
            ts, ys, m = push(ts, ys, m, t0, y0)
            j += 1
    else:
        ts, ys, m = push(ts, ys, m, t0, y0)
    return ts, ys, m, j


@njit(cache=True)
def grow_history(H, m):
    """A copy of the history ``H[:m]`` (attempts, 4) with room for twice as many rows."""
    H2 = np.empty((2 * m + 16, 4))
    H2[:m] = H[:m]
    return H2


@njit(cache=True, inline="always")
def put_history(H, m, t, h, err, acc):
    """Write attempt ``(t, h, error norm, accepted)`` into row ``m`` of ``H`` (cap, 4);
    the caller grows ``H`` first when full (as for ``put``)."""
    H[m, 0], H[m, 1], H[m, 2], H[m, 3] = t, h, err, 1.0 if acc else 0.0


# --- vector loops (no temporaries) ------------------------------------------------------
@njit(cache=True, inline="always")
def copy_row(dst, v):
    for k in range(v.shape[0]):
        dst[k] = v[k]


@njit(cache=True, inline="always")
def finite(v):
    for x in v:
        if not math.isfinite(x):
            return False
    return True


@njit(cache=True, inline="always")
def stage_h_inside(out, y, h, a, K, i):
    """out = y + Σ_{j<i} (h a_j) K_j, left to right (stepper.py: [1, h a] @ [y; K])."""
    for k in range(out.shape[0]):
        acc = y[k]
        for j in range(i):
            acc += (h * a[j]) * K[j, k]
        out[k] = acc


@njit(cache=True, inline="always")
def poly_dense_into(out, K, P, y, h, theta):
    """dense.step_coefficients + eval_step for "poly": y + Σ_j θ^(j+1) h (Kᵀ P)_j (Horner)."""
    p = P.shape[1]
    for k in range(out.shape[0]):
        acc = 0.0
        for jj in range(p - 1, -1, -1):                   # Hairer I, eq. (6.7), Horner in θ
            cj = 0.0
            for i in range(K.shape[0]):
                cj += K[i, k] * P[i, jj]
            acc = (acc + cj * h) * theta
        out[k] = acc + y[k]


@njit(cache=True)
def emit_poly(te, j, ts, ys, m, direction, t, t_new, y, y_new, K, P, h, tmp):
    """stepper.Output.add_step: interpolate the t_eval points inside the step, copy at t_new."""
    while j < te.shape[0] and direction * (te[j] - t_new) < 0:
        poly_dense_into(tmp, K, P, y, h, (te[j] - t) / h)
        ts, ys, m = push(ts, ys, m, te[j], tmp)
        j += 1
    if j < te.shape[0] and te[j] == t_new:
        ts, ys, m = push(ts, ys, m, t_new, y_new)
        j += 1
    return ts, ys, m, j


@njit(cache=True, inline="always")
def record_step(te, has_te, j, ts, ys, m, direction, t, t_new, y, y_new, K, P, h, tmp):
    """After an accepted step t -> t_new: append (t_new, y_new) without t_eval, else emit the
    t_eval points the step passed (dense output). Returns the buffers, m and j."""
    if not has_te:
        if m == ts.shape[0]:
            ts, ys = grow(ts, ys, m)
        put(ts, ys, m, t_new, y_new)
        m += 1
    elif j < te.shape[0] and direction * (te[j] - t_new) <= 0:
        ts, ys, m, j = emit_poly(te, j, ts, ys, m, direction, t, t_new, y, y_new, K, P, h, tmp)
    return ts, ys, m, j
