"""Numba fast path of ``solve``: the whole adaptive loop in compiled code.

When ``func`` is a numba-jitted function (``numba.core.registry.CPUDispatcher``, e.g.
``@njit def f(t, y): ...`` returning a float64 array of the shape of ``y``), ``solve`` runs
the stages, the error norm, the step control of every controller ("default", "scipy",
"hairer", "torchdiffeq") and the dense output at ``t_eval`` in one compiled kernel per
controller. Each kernel is a line-by-line twin of its NumPy loop (``stepper.run_adaptive``,
``preset_scipy.run_scipy``, ``preset_hairer.run_hairer``, ``preset_torchdiffeq.run_torchdiffeq``)
with the same operation order: BLAS ``dot``/``gemv`` where the NumPy loop calls it, left-to-right
sums where the preset sums so, numpy's pairwise sum for torchdiffeq's ``mean``. Measured: the
step histories, counts and step-end states are identical to the last bit; ``t_eval``
interpolants differ by ~1e-16 (a loop here, ``K.T @ P`` there); tests assert 1e-13.

Scope (otherwise ``solve`` silently takes the NumPy path): method "dopri5", a 1-D ``y0``,
no ``args``, ``dense_output=False``. Non-finite values stop the run with ``SolverError``
(status -3) at the first non-finite state; the NumPy loops first try to shrink the step.

Speed: the "hairer" kernel works in place on preallocated arrays (element-wise, which is
exactly the C code's order): ~0.5 µs per step plus the RHS on Lorenz. The "default" and
"scipy" kernels call BLAS ``dot``/``gemv`` where the NumPy loops do (that is what makes
them bit-identical) and allocate temporaries, ~4× slower; "torchdiffeq" still allocates
per stage. Cost: a kernel takes the user's function as an argument, so numba compiles it
once per (function, controller, process) — 8–16 s on a loaded 2-core machine
(``numerics/results/bench_ode.md``); numba's on-disk cache does not apply to kernels
specialised on a function argument (the small helpers are cached).

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, 2nd ed. (1993), Sec. II.4–II.6.
The library sources each twin follows are cited in the preset modules.
"""
import math

import numpy as np
from numba import njit
from numba.core.registry import CPUDispatcher

from . import errors as E
from .preset_hairer import HAIRER_PARAMS, UROUND
from .preset_torchdiffeq import TD_C_ERROR, TD_C_MID
from .tableaus import get_tableau

__all__ = ["fast_eligible", "solve_fast"]

_TAB = get_tableau("dopri5")
_A, _B, _C, _E, _P = (np.ascontiguousarray(v, dtype=np.float64)
                      for v in (_TAB.A, _TAB.b, _TAB.c, _TAB.e, _TAB.P))


def fast_eligible(p, dense_output):
    """True when ``solve`` can run the compiled loop for the validated arguments ``p``."""
    return (isinstance(p.func, CPUDispatcher) and not p.args and len(p.shape) == 1
            and not p.fixed and not dense_output and p.tab.name == "dopri5")


# --- growing output buffers -------------------------------------------------------------
@njit(cache=True, inline="always")
def _push(ts, ys, m, t, y):
    """Append ``(t, y)`` at row ``m``; returns the (possibly reallocated) buffers and m + 1."""
    if m == ts.shape[0]:
        ts2, ys2 = np.empty(2 * m + 16), np.empty((2 * m + 16, ys.shape[1]))
        ts2[:m], ys2[:m] = ts[:m], ys[:m]
        ts, ys = ts2, ys2
    ts[m] = t
    _setrow(ys, m, y)
    return ts, ys, m + 1


@njit(cache=True, inline="always")
def _push_start(ts, ys, t0, y0, te, has_te):
    """Record y0 at the start: once without t_eval, else once per leading t_eval == t0.
    Returns the buffers, the row count m and the index j of the next t_eval point."""
    m = j = 0
    if has_te:
        while j < te.shape[0] and te[j] == t0:
            ts, ys, m = _push(ts, ys, m, t0, y0)
            j += 1
    else:
        ts, ys, m = _push(ts, ys, m, t0, y0)
    return ts, ys, m, j


@njit(cache=True, inline="always")
def _record(H, m, t, h, err, acc):
    """Append one attempt ``(t, h, error norm, accepted)`` to the history ``H`` (cap, 4)."""
    if m == H.shape[0]:
        H2 = np.empty((2 * m + 16, 4))
        H2[:m] = H[:m]
        H = H2
    H[m, 0], H[m, 1], H[m, 2], H[m, 3] = t, h, err, 1.0 if acc else 0.0
    return H, m + 1


@njit(cache=True)
def _poly_eval(K, P, y, h, theta):
    """dense.step_coefficients + eval_step for "poly": C_j = h (Kᵀ P)_j, Horner in θ."""
    n, p = y.shape[0], P.shape[1]
    C = np.zeros((p, n))                                 # (K.T @ P) * h, rows = powers
    for j in range(p):
        for i in range(K.shape[0]):
            C[j] += K[i] * P[i, j]
        C[j] *= h
    out = C[p - 1] * theta                               # Hairer I, eq. (6.7), Horner
    for j in range(p - 2, -1, -1):
        out += C[j]
        out *= theta
    return out + y


@njit(cache=True)
def _emit(te, has_te, j, ts, ys, m, direction, t, t_new, y, y_new, K, P, h):
    """stepper.Output.add_step: interpolate the t_eval points inside the step, copy at t_new."""
    if not has_te:
        ts, ys, m = _push(ts, ys, m, t_new, y_new)
        return ts, ys, m, j
    while j < te.shape[0] and direction * (te[j] - t_new) < 0:
        ts, ys, m = _push(ts, ys, m, te[j], _poly_eval(K, P, y, h, (te[j] - t) / h))
        j += 1
    if j < te.shape[0] and te[j] == t_new:
        ts, ys, m = _push(ts, ys, m, t_new, y_new)
        j += 1
    return ts, ys, m, j


@njit(cache=True, inline="always")
def _setrow(M, i, v):
    """M[i] = v as a plain loop (numba's generic broadcasting copy costs ~50-100 ns)."""
    for k in range(v.shape[0]):
        M[i, k] = v[k]


@njit(cache=True, inline="always")
def _finite(v):
    for x in v:
        if not math.isfinite(x):
            return False
    return True


@njit(cache=True)
def _rms(x):
    """control.rms_norm: sqrt(x·x / n) (BLAS dot, as NumPy)."""
    return math.sqrt(np.dot(x, x) / x.shape[0])


@njit(cache=True)
def _scipy_norm(x):
    """scipy's common.py::norm: np.linalg.norm(x) / sqrt(n) = sqrt(x·x) / n**0.5."""
    return math.sqrt(np.dot(x, x)) / x.shape[0] ** 0.5


# --- controller="default" (stepper.run_adaptive + control.DefaultController) ------------
@njit(cache=True)
def _default(fun, t0, t1, y0, f0, rtol, atol, first_step, max_step, max_steps, te, has_te,
             A, b, c, e, P):
    n, q = y0.shape[0], 4
    direction = 1.0 if t1 >= t0 else -1.0
    YK = np.empty((8, n))                                # [y; k_0 .. k_6]
    K = YK[1:]
    K[0] = f0
    R0 = np.zeros((7, 7))                                # row i: [1, a_i0, ..., a_i,i-1]
    R0[:, 1:] = A[:, :6]
    ts, ys, H = np.empty(16), np.empty((16, n)), np.empty((64, 4))
    mh = 0
    ts, ys, m, j = _push_start(ts, ys, t0, y0, te, has_te)
    nfev, n_acc, n_rej = 1, 0, 0
    interval = abs(t1 - t0)
    if first_step > 0:
        h_abs = first_step
    elif interval == 0.0:
        h_abs = min(interval, max_step)
    else:                                                # control.initial_step, (a)-(f)
        scale = atol + np.abs(y0) * rtol
        d0, d1 = _rms(y0 / scale), _rms(f0 / scale)
        h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
        h0 = min(h0, interval)
        f1 = fun(t0 + direction * h0, y0 + (direction * h0) * f0)
        d2 = _rms((f1 - f0) / scale) / h0
        if max(d1, d2) <= 1e-15:
            h1 = max(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** (1.0 / (q + 1))
        if not math.isfinite(h1):
            h1 = h0
        h_abs = min(100 * h0, h1, interval, max_step)
        nfev += 1
    t, y = t0, y0.copy()
    abs_y = np.abs(y)
    h, err = math.nan, 0.0
    y_new = y
    while direction * (t1 - t) > 0:
        h_abs = min(h_abs, max_step)
        rejected = False
        while True:                                      # --- attempts ---
            if n_acc + n_rej >= max_steps:
                return E.STATUS_MAX_STEPS, t, h, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]
            if direction * (t + direction * 1.01 * h_abs - t1) >= 0:      # last_step
                h = t1 - t
            else:
                h = direction * h_abs
            t_new = t1 if abs(h) >= abs(t1 - t) else t + h
            if abs(h) < 10.0 * abs(np.nextafter(t, direction * np.inf) - t) and t_new != t1:
                return E.STATUS_STEP_UNDERFLOW, t, h, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]
            # Hairer I, eq. (1.8): k_i = f(t + c_i h, y + h Σ_j a_ij k_j)
            R = R0 * h
            R[:, 0] = 1.0
            YK[0] = y
            for i in range(1, 7):                        # one BLAS gemv per stage, as NumPy
                yi = np.dot(np.ascontiguousarray(R[i, :i + 1]), YK[:i + 1])
                if i < 6:
                    K[i] = fun(t + c[i] * h, yi)
                else:
                    y_new = yi                           # y + h Σ b_i k_i (last row of A = b)
                    K[6] = fun(t_new, y_new)
            nfev += 6
            abs_new = np.abs(y_new)
            scale = atol + rtol * np.maximum(abs_y, abs_new)
            x = np.dot(e, K) / scale
            err = abs(h) * math.sqrt(abs(np.dot(x, x)) / n)
            accepted = err <= 1.0
            H, mh = _record(H, mh, t, h, err, accepted)
            if accepted:
                break
            n_rej += 1
            fac = 0.2 if not math.isfinite(err) else \
                min(10.0, max(0.2, 0.9 * err ** (-1.0 / (q + 1))))
            h_abs = abs(h) * fac
            rejected = True
        n_acc += 1
        if not np.all(np.isfinite(y_new)):
            return E.STATUS_NONFINITE, t_new, h, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]
        ts, ys, m, j = _emit(te, has_te, j, ts, ys, m, direction, t, t_new, y, y_new, K, P, h)
        fac = 10.0 if err == 0.0 else min(10.0, max(0.2, 0.9 * err ** (-1.0 / (q + 1))))
        if rejected:
            fac = min(1.0, fac)
        h_abs = abs(h) * fac
        t, y, abs_y = t_new, y_new, abs_new
        K[0] = K[6]
    return E.STATUS_SUCCESS, t, h, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]


# --- controller="scipy" (preset_scipy.run_scipy: solve_ivp RK45) ------------------------
@njit(cache=True)
def _scipy(fun, t0, t1, y0, f0, rtol, atol, first_step, max_step, max_steps, te, has_te,
           A, b, c, e, P):
    n, exponent = y0.shape[0], -1.0 / 5.0
    direction = 1.0 if t1 >= t0 else -1.0
    K = np.empty((7, n))
    Escipy = -e
    ts, ys, H = np.empty(16), np.empty((16, n)), np.empty((64, 4))
    m = mh = j = 0
    if not has_te:
        ts, ys, m = _push(ts, ys, m, t0, y0)
    elif t0 == t1:
        ts, ys, m = _push(ts, ys, m, t0, y0)
        j = te.shape[0]
    nfev, n_acc, n_rej = 1, 0, 0
    interval = abs(t1 - t0)
    if first_step > 0:
        h_abs = first_step
    elif interval == 0.0:
        h_abs = 0.0
    else:                                                # common.py::select_initial_step
        scale = atol + np.abs(y0) * rtol
        d0, d1 = _scipy_norm(y0 / scale), _scipy_norm(f0 / scale)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        h0 = min(h0, interval)
        f1 = fun(t0 + h0 * direction, y0 + h0 * direction * f0)
        d2 = _scipy_norm((f1 - f0) / scale) / h0
        if d1 <= 1e-15 and d2 <= 1e-15:
            h1 = max(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** (1 / 5)
        h_abs = min(100 * h0, h1, interval, max_step)
        nfev += 1
    t, y, f = t0, y0.copy(), f0.copy()
    h = math.nan
    y_new = y
    while direction * (t - t1) < 0:                      # OdeSolver.step
        min_step = 10 * abs(np.nextafter(t, direction * np.inf) - t)
        if h_abs > max_step:
            h_abs = max_step
        elif h_abs < min_step:
            h_abs = min_step
        rejected, err = False, 0.0
        while True:                                      # RungeKutta._step_impl
            if h_abs < min_step:
                st = E.STATUS_STEP_UNDERFLOW if math.isfinite(err) else E.STATUS_NONFINITE
                return st, t, h_abs * direction, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]
            if n_acc + n_rej >= max_steps:
                return E.STATUS_MAX_STEPS, t, h_abs * direction, nfev, n_acc, n_rej, ts[:m], \
                    ys[:m], H[:mh]
            t_new = t + h_abs * direction
            if direction * (t_new - t1) > 0:
                t_new = t1
            h = t_new - t
            h_abs = abs(h)
            K[0] = f                                     # rk.py::rk_step
            for s in range(1, 6):                      # BLAS gemv, as NumPy's np.dot
                dy = np.dot(K[:s].T, np.ascontiguousarray(A[s, :s])) * h
                K[s] = fun(t + c[s] * h, y + dy)
            y_new = y + h * np.dot(K[:6].T, b[:6])
            K[6] = fun(t + h, y_new)
            nfev += 6
            scale = atol + np.maximum(np.abs(y), np.abs(y_new)) * rtol
            err = _scipy_norm(np.dot(K.T, Escipy) * h / scale)  # scipy: E = b_hat - b = -e
            accepted = err < 1
            H, mh = _record(H, mh, t, h, err, accepted)
            if accepted:
                fac = 10.0 if err == 0 else min(10.0, 0.9 * err ** exponent)
                h_abs *= min(1.0, fac) if rejected else fac
                break
            fac = 0.9 * err ** exponent
            h_abs *= fac if fac > 0.2 else 0.2          # max(0.2, nan) is 0.2 in Python
            n_rej += 1
            rejected = True
        n_acc += 1
        if not np.all(np.isfinite(y_new)):
            return E.STATUS_NONFINITE, t_new, h, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]
        t_old, y_old = t, y
        t, y, f = t_new, y_new, K[6].copy()
        if not has_te:
            ts, ys, m = _push(ts, ys, m, t, y)
            continue
        hh = t - t_old                                   # ivp.py: t_eval walk, RkDenseOutput
        while j < te.shape[0] and direction * (te[j] - t) <= 0:
            x1 = (te[j] - t_old) / hh
            Q = K.T.dot(P)                               # (n, 4)
            yy = np.zeros(n)
            pw = 1.0
            for k in range(4):
                pw = pw * x1
                yy += Q[:, k] * pw
            ts, ys, m = _push(ts, ys, m, te[j], hh * yy + y_old)
            j += 1
    return E.STATUS_SUCCESS, t, h, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]


# --- controller="hairer" (preset_hairer.run_hairer: DOPCOR of dopri5.f, as in scipy) ----
@njit(cache=True)
def _lincomb(w, K, upto):
    """Σ_j w_j K_j over the nonzero w_j, left to right (the C stage loops)."""
    acc = np.zeros(K.shape[1])
    first = True
    for jj in range(upto):
        if w[jj] != 0.0:
            if first:
                acc = w[jj] * K[jj]
                first = False
            else:
                acc = acc + w[jj] * K[jj]
    return acc


@njit(cache=True, inline="always")
def _lincomb_into(out, w, K, upto):
    """out = Σ_j w_j K_j over the nonzero w_j, left to right, in place (no allocation)."""
    first = True
    for jj in range(upto):
        wj = w[jj]
        if wj != 0.0:
            if first:
                for k in range(out.shape[0]):
                    out[k] = wj * K[jj, k]
                first = False
            else:
                for k in range(out.shape[0]):
                    out[k] = out[k] + wj * K[jj, k]


@njit(cache=True)
def _seqsum(v):
    s = 0.0
    for x in v:
        s += x
    return s


@njit(cache=True)
def _hairer(fun, t0, xend, y0, f0, rtol, atol, first_step, max_step, max_steps, te, has_te,
            A, b, c, e, P, params):
    n = y0.shape[0]
    safe, fac1, fac2, beta, expo1 = params[0], params[1], params[2], params[3], params[4]
    facc1, facc2, facold = 1.0 / fac1, 1.0 / fac2, 1.0e-4
    posneg = 1.0 if xend >= t0 else -1.0
    hmax = abs(max_step) if math.isfinite(max_step) else abs(xend - t0)
    K = np.empty((7, n))
    K[0] = f0
    ts, ys, H = np.empty(16), np.empty((16, n)), np.empty((64, 4))
    mh = 0
    ts, ys, m, j = _push_start(ts, ys, t0, y0, te, has_te)
    if t0 == xend:
        return E.STATUS_SUCCESS, t0, math.nan, 1, 0, 0, ts[:m], ys[:m], H[:mh]
    x, y = t0, y0.copy()
    if first_step > 0:
        h = posneg * first_step
    else:                                                # HINIT (sums of squares)
        sk = atol + rtol * np.abs(y)
        dnf, dny = _seqsum((f0 / sk) ** 2), _seqsum((y / sk) ** 2)
        h = 1.0e-6 if dnf <= 1e-10 or dny <= 1e-10 else math.sqrt(dny / dnf) * 0.01
        h = math.copysign(min(h, hmax), posneg)
        f1 = fun(x + h, y + h * f0)
        der2 = math.sqrt(_seqsum(((f1 - f0) / sk) ** 2)) / h
        der12 = max(abs(der2), math.sqrt(dnf))
        h1 = max(1.0e-6, abs(h) * 1.0e-3) if der12 <= 1e-15 else (0.01 / der12) ** (1.0 / 5)
        h = math.copysign(min(100 * abs(h), h1, hmax), posneg)
    nfev, naccpt, nrej = 2, 0, 0
    reject = False
    ys_, y_new, acc = np.empty(n), np.empty(n), np.empty(n)   # work arrays: no allocation
    while True:
        if naccpt + nrej >= max_steps:
            return E.STATUS_MAX_STEPS, x, h, nfev, naccpt, nrej, ts[:m], ys[:m], H[:mh]
        if 0.1 * abs(h) <= abs(x) * UROUND:
            return E.STATUS_STEP_UNDERFLOW, x, h, nfev, naccpt, nrej, ts[:m], ys[:m], H[:mh]
        last = False
        if (x + 1.01 * h - xend) * posneg > 0:           # stretch the last step
            h, last = xend - x, True
        # DOPCOR "THE FIRST 6 STAGES", element by element in the C loops' order
        for i in range(1, 6):
            if i == 1:
                ha = h * A[1, 0]
                for k in range(n):
                    ys_[k] = y[k] + ha * K[0, k]
            else:
                _lincomb_into(acc, A[i], K, i)
                for k in range(n):
                    ys_[k] = y[k] + h * acc[k]
            _setrow(K, i, fun(x + c[i] * h, ys_))
        xph = x + h
        _lincomb_into(acc, b, K, 6)                      # k4 = Σ b_i k_i; y_new = y + h k4
        for k in range(n):
            y_new[k] = y[k] + h * acc[k]
        _setrow(K, 6, fun(xph, y_new))
        nfev += 6
        _lincomb_into(acc, e, K, 7)                      # err = sqrt(Σ (h Σ e_i k_i / sk)² / n)
        ssum = 0.0
        for k in range(n):
            sk = atol[k] + rtol * max(abs(y[k]), abs(y_new[k]))
            v = acc[k] * h / sk
            ssum += v * v
        err = math.sqrt(ssum / n)
        accepted = err <= 1.0
        H, mh = _record(H, mh, x, h, err, accepted)
        if not math.isfinite(err):                       # HairerController.new_step
            h_new = h / facc1
        elif not accepted:
            h_new = h / min(facc1, err ** expo1 / safe)
        else:
            fac = err ** expo1 / facold ** beta          # Lund stabilisation (PI)
            fac = max(facc2, min(facc1, fac / safe))
            facold = max(err, 1.0e-4)
            h_new = h / fac
        if not accepted:
            reject = True
            nrej += 1
            h = h_new
            continue
        naccpt += 1
        if not (_finite(y_new) and _finite(K[6])):
            return E.STATUS_NONFINITE, xph, h, nfev, naccpt, nrej, ts[:m], ys[:m], H[:mh]
        t_new = xend if last else xph
        if has_te:
            ts, ys, m, j = _emit(te, has_te, j, ts, ys, m, posneg, x, t_new, y, y_new, K, P, h)
        else:
            ts, ys, m = _push(ts, ys, m, t_new, y_new)
        x = t_new
        y, y_new = y_new, y                              # swap the work arrays
        _setrow(K, 0, K[6])
        if last:
            break
        if abs(h_new) > hmax:
            h_new = posneg * hmax
        if reject:
            h_new = posneg * min(abs(h_new), abs(h))
        reject = False
        h = h_new
    return E.STATUS_SUCCESS, x, h, nfev, naccpt, nrej, ts[:m], ys[:m], H[:mh]


# --- controller="torchdiffeq" (preset_torchdiffeq.run_torchdiffeq) ----------------------
@njit(cache=True)
def _tdfun(fun, d, s, y):
    """Backwards runs integrate g(s, y) = -f(-s, y) (misc.py::_ReverseFunc)."""
    return fun(s, y) if d > 0 else -1.0 * fun(-s, y)


@njit(cache=True)
def _pairwise_sum(a, lo, n):
    """numpy's pairwise summation (``np.add.reduce``; numpy/_core/src/umath/loops_utils.h),
    exact for n <= 128 (numba cannot cache the recursion numpy uses beyond)."""
    if n < 8:
        r = 0.0
        for i in range(lo, lo + n):
            r += a[i]
        return r
    if n <= 128:
        r = np.empty(8)
        for k in range(8):
            r[k] = a[lo + k]
        i = 8
        while i < n - (n % 8):
            for k in range(8):
                r[k] += a[lo + i + k]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for i2 in range(i, n):
            res += a[lo + i2]
        return res
    return np.sum(a[lo:lo + n])      # n > 128: plain sum (numpy recurses; last bits may differ)


@njit(cache=True)
def _td_rms(x):
    """torchdiffeq's ``_rms_norm`` as the NumPy twin computes it: sqrt(mean(|x|²))."""
    sq = np.abs(x) ** 2
    return math.sqrt(_pairwise_sum(sq, 0, sq.shape[0]) / sq.shape[0])


@njit(cache=True)
def _wsum(w, K, upto):
    acc = K[0] * w[0]
    for jj in range(1, upto):
        acc = acc + K[jj] * w[jj]
    return acc


@njit(cache=True)
def _torchdiffeq(fun, t0, t1, y0, f0, rtol, atol, first_step, max_step, max_steps, te, has_te,
                 A, b, c, c_err, c_mid):
    n = y0.shape[0]
    d = 1.0 if t1 >= t0 else -1.0
    s_end = d * t1
    if has_te:
        outs = d * te
    elif t1 == t0:
        outs = np.array([d * t0])
    else:
        outs = np.array([d * t0, s_end])
    ts, ys, H = np.empty(16), np.empty((16, n)), np.empty((64, 4))
    m = mh = 0
    y, s = y0.copy(), d * t0
    f = f0.copy() if d > 0 else -1.0 * f0
    nfev = 1
    if first_step > 0:
        dt = first_step
    else:                                                # misc.py::_select_initial_step
        scale = atol + np.abs(y) * rtol
        d0, d1 = _td_rms(y / scale), _td_rms(f / scale)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        f1 = _tdfun(fun, d, s + h0, y + h0 * f)
        d2 = abs(_td_rms((f1 - f) / scale) / h0)
        if d1 <= 1e-15 and d2 <= 1e-15:
            h1 = max(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** (1.0 / 5.0)
        dt = min(100 * h0, h1)
        nfev += 1
    K = np.empty((7, n))
    coeffs = np.empty((5, n))
    for k in range(5):
        coeffs[k] = y
    s_prev = s
    n_acc = n_rej = 0
    j = 0
    if outs[0] == s:
        ts, ys, m = _push(ts, ys, m, d * outs[0], y)
        j = 1
    while j < outs.shape[0]:
        target = outs[j]
        while target > s:                                # _advance: step past the target
            if n_acc + n_rej >= max_steps:
                return E.STATUS_MAX_STEPS, d * s, d * dt, nfev, n_acc, n_rej, ts[:m], ys[:m], \
                    H[:mh]
            if not math.isfinite(dt) or not s + dt > s:
                st = E.STATUS_STEP_UNDERFLOW if math.isfinite(dt) else E.STATUS_NONFINITE
                return st, d * s, d * dt, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]
            dt = min(dt, max_step)
            s1 = s + dt
            K[0] = f                                     # rk_common.py::_runge_kutta_step
            yi = y
            for i in range(1, 7):
                ti = s1 if c[i] == 1.0 else s + c[i] * dt
                yi = y + _wsum(A[i, :i] * dt, K, i)
                K[i] = _tdfun(fun, d, ti, yi)
            nfev += 6
            y1 = yi
            err_vec = _wsum(dt * c_err, K, 7)
            err = _td_rms(err_vec / (atol + rtol * np.maximum(np.abs(y), np.abs(y1))))
            accepted = err <= 1
            H, mh = _record(H, mh, d * s, d * dt, err, accepted)
            if accepted:
                n_acc += 1
                f0_, f1_ = K[0], K[6]                    # interp.py::_interp_fit
                y_mid = y + _wsum(dt * c_mid, K, 7)
                coeffs[4] = 2 * dt * (f1_ - f0_) - 8 * (y1 + y) + 16 * y_mid
                coeffs[3] = dt * (5 * f0_ - 3 * f1_) + 18 * y + 14 * y1 - 32 * y_mid
                coeffs[2] = dt * (f1_ - 4 * f0_) - 11 * y - 5 * y1 + 16 * y_mid
                coeffs[1] = dt * f0_
                coeffs[0] = y
                s_prev, s, y, f = s, s1, y1, K[6].copy()
                if not np.all(np.isfinite(y)):
                    return E.STATUS_NONFINITE, d * s, d * dt, nfev, n_acc, n_rej, ts[:m], \
                        ys[:m], H[:mh]
                if not has_te and s < s_end:
                    ts, ys, m = _push(ts, ys, m, d * s, y)
            else:
                n_rej += 1
            if err == 0:                                 # misc.py::_optimal_step_size
                dt = dt * 10.0
            elif not math.isfinite(err):
                dt = math.nan
            else:
                dfactor = 1.0 if err < 1 else 0.2
                dt = dt * min(10.0, max(0.9 / err ** (1.0 / 5), dfactor))
        x = (target - s_prev) / (s - s_prev)             # interp.py::_interp_evaluate
        total = coeffs[0] + x * coeffs[1]
        x_power = x
        for k in range(2, 5):
            x_power = x_power * x
            total = total + x_power * coeffs[k]
        ts, ys, m = _push(ts, ys, m, d * target, total)
        j += 1
    return E.STATUS_SUCCESS, d * s, d * dt, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]


# --- glue -------------------------------------------------------------------------------
_MESSAGES = {E.STATUS_STEP_UNDERFLOW: "step size underflow", E.STATUS_MAX_STEPS:
             "max_steps exceeded", E.STATUS_NONFINITE: "non-finite state or derivative"}


def solve_fast(p, f0):
    """Run the compiled loop of ``p.controller`` and build ``solve``'s ``Solution``."""
    from .solve import Solution, StepHistory          # (solve.py imports this module)
    n = p.y0.size
    atol = np.ascontiguousarray(np.broadcast_to(np.asarray(p.atol, dtype=np.float64), (n,)))
    te = np.ascontiguousarray(p.t_eval if p.t_eval is not None else np.empty(0))
    first = -1.0 if p.first_step is None else float(p.first_step)
    common = (p.func, p.t0, p.t1, np.ascontiguousarray(p.y0), np.ascontiguousarray(f0),
              p.rtol, atol, first, float(p.max_step), p.max_steps, te, p.t_eval is not None,
              _A, _B, _C)
    if p.controller == "scipy":
        res = _scipy(*common, _E, _P)
    elif p.controller == "hairer":
        res = _hairer(*common, _E, _P, np.array(HAIRER_PARAMS["dopri5"]))
    elif p.controller == "torchdiffeq":
        res = _torchdiffeq(*common, TD_C_ERROR, TD_C_MID)
    else:
        res = _default(*common, _E, _P)
    status, t, h, nfev, n_acc, n_rej, ts, ys, H = res
    if status != E.STATUS_SUCCESS:
        raise E.SolverError(_MESSAGES[status] + " (numba fast path)", t=t, h=h, nfev=nfev,
                            n_steps=n_acc + n_rej, status=status, n_accepted=n_acc,
                            n_rejected=n_rej)
    hist = StepHistory(H[:, 0].copy(), H[:, 1].copy(), H[:, 2].copy(), H[:, 3] > 0.5)
    return Solution(t=ts.copy(), y=ys.copy(), nfev=nfev, n_steps=n_acc + n_rej,
                    n_accepted=n_acc, n_rejected=n_rej, status=E.STATUS_SUCCESS,
                    message="The solver successfully reached the end of the integration interval.",
                    sol=None, method=p.tab.name, controller=p.controller, history=hist)
