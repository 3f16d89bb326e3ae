"""Compiled twin of ``stepper.run_adaptive`` with ``control.DefaultController`` (dopri5).

Same step control and operation order per component as the NumPy loop (stage states
``y + Σ (h a_ij) k_j`` left to right, error ``h Σ e_i k_i`` scaled by
``atol + rtol max(|y|, |y_new|)``), in place on preallocated work arrays. BLAS sums in a
different order there, so states agree to ~1e-16 relative, not bit for bit.

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, 2nd ed. (1993), Sec. II.4
(eq. (4.12) initial step, eq. (4.13) step-size rule).
"""
import math

import numpy as np
from numba import njit

from .. import errors as E
from .common import copy_row, finite, grow_history, push_start, put_history, record_step, \
    rhs_into, stage_h_inside


@njit(cache=True, inline="always")   # (takes fun: see common.py, 'inline')
def _initial_step(fun, args, t0, y0, f0, direction, interval, rtol, atol, max_step, q, w1, w2):
    """control.initial_step (Hairer I, Sec. II.4, (a)-(f)); w1, w2: (n,) work arrays."""
    n = y0.shape[0]
    s0 = s1 = 0.0
    for k in range(n):                                   # d0 = ‖y0‖, d1 = ‖f0‖ (RMS, scaled)
        sc = atol[k] + abs(y0[k]) * rtol
        s0 += (y0[k] / sc) ** 2
        s1 += (f0[k] / sc) ** 2
    d0, d1 = math.sqrt(s0 / n), math.sqrt(s1 / n)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, interval)
    for k in range(n):
        w1[k] = y0[k] + (direction * h0) * f0[k]
    rhs_into(fun, t0 + direction * h0, w1, w2, args)
    s2 = 0.0
    for k in range(n):
        sc = atol[k] + abs(y0[k]) * rtol
        s2 += ((w2[k] - f0[k]) / sc) ** 2
    d2 = math.sqrt(s2 / n) / h0
    if max(d1, d2) <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (q + 1))
    if not math.isfinite(h1):
        h1 = h0
    return min(100 * h0, h1, interval, max_step)


@njit(cache=True)
def _factor(err, q, rejected):
    """DefaultController.factor: 0.9 err^(-1/(q+1)) in [0.2, 10]; no growth after a rejection."""
    if not math.isfinite(err):
        return 0.2
    fac = 10.0 if err == 0.0 else min(10.0, max(0.2, 0.9 * err ** (-1.0 / (q + 1))))
    return min(1.0, fac) if rejected else fac


@njit(cache=True)
def run_default(fun, args, t0, t1, y0, f0, rtol, atol, first_step, max_step, max_steps, te,
                has_te, A, b, c, e, P):
    n, q = y0.shape[0], 4
    direction = 1.0 if t1 >= t0 else -1.0
    K = np.empty((7, n))                                 # k_0 .. k_6 (k_6 = f(t_new, y_new))
    copy_row(K[0], f0)
    y, y_new, ys_, tmp = y0.copy(), np.empty(n), np.empty(n), np.empty(n)
    ts, ys, H = np.empty(16), np.empty((16, n)), np.empty((64, 4))
    mh = 0
    ts, ys, m, j = push_start(ts, ys, t0, y0, te, has_te)
    nfev, n_acc, n_rej = 1, 0, 0
    interval = abs(t1 - t0)
    if first_step > 0:
        h_abs = first_step
    elif interval == 0.0:
        h_abs = 0.0
    else:
        h_abs = _initial_step(fun, args, t0, y0, f0, direction, interval, rtol, atol, max_step,
                              q, ys_, tmp)
        nfev += 1
    t, h, err = t0, math.nan, 0.0
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
                st = E.STATUS_STEP_UNDERFLOW if math.isfinite(err) else E.STATUS_NONFINITE
                return st, t, h, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]
            # Hairer I, eq. (1.8): k_i = f(t + c_i h, y + h Σ_j a_ij k_j)
            for i in range(1, 6):
                stage_h_inside(ys_, y, h, A[i], K, i)
                rhs_into(fun, t + c[i] * h, ys_, K[i], args)
            stage_h_inside(y_new, y, h, b, K, 6)         # y + h Σ b_i k_i
            rhs_into(fun, t_new, y_new, K[6], args)      # FSAL stage
            nfev += 6
            # error h Σ e_i k_i in the norm of control.error_norm (RMS, scaled)
            ssum = 0.0
            for k in range(n):
                ek = 0.0
                for i in range(7):
                    ek += e[i] * K[i, k]
                x = ek / (atol[k] + rtol * max(abs(y[k]), abs(y_new[k])))
                ssum += x * x
            err = abs(h) * math.sqrt(ssum / n)
            accepted = err <= 1.0
            if mh == H.shape[0]:
                H = grow_history(H, mh)
            put_history(H, mh, t, h, err, accepted)
            mh += 1
            if accepted:
                break
            n_rej += 1
            h_abs = abs(h) * _factor(err, q, rejected)
            rejected = True
        n_acc += 1
        if not finite(y_new):
            return E.STATUS_NONFINITE, t_new, h, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]
        ts, ys, m, j = record_step(te, has_te, j, ts, ys, m, direction, t, t_new, y, y_new, K,
                                   P, h, tmp)
        h_abs = abs(h) * _factor(err, q, rejected)
        t = t_new
        y, y_new = y_new, y                              # swap the work arrays
        copy_row(K[0], K[6])
    return E.STATUS_SUCCESS, t, h, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]
