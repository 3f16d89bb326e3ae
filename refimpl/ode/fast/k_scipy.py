"""Compiled twin of ``preset_scipy.run_scipy`` (``solve_ivp`` RK45, dopri5 tableau).

scipy's arithmetic per component: stage ``y + (Σ_j a_sj k_j) h`` (``rk.py::rk_step``),
error ``(Σ_i E_i k_i) h / scale`` with ``E = b̂ − b = −e``, norm ``‖x‖₂ / √n``
(``common.py::norm``), dense output ``y_old + h Σ_k (Kᵀ P)_k x^(k+1)`` at ``t_eval``.
In place on preallocated work arrays.

References
----------
scipy ``integrate/_ivp/rk.py`` (``rk_step``, ``RungeKutta._step_impl``, ``RkDenseOutput``),
``common.py::select_initial_step``; Hairer I, Sec. II.4.
"""
import math

import numpy as np
from numba import njit

from .. import errors as E
from .common import copy_row, finite, grow, grow_history, push, put, put_history, rhs_into


@njit(cache=True, inline="always")   # (takes fun: see common.py, 'inline')
def _initial_step(fun, args, t0, y0, f0, direction, interval, rtol, atol, max_step, w1, w2):
    """common.py::select_initial_step (RMS norms ‖x‖₂/√n, capped at the interval)."""
    n = y0.shape[0]
    s0 = s1 = 0.0
    for k in range(n):
        sc = atol[k] + abs(y0[k]) * rtol
        s0 += (y0[k] / sc) ** 2
        s1 += (f0[k] / sc) ** 2
    rn = n ** 0.5
    d0, d1 = math.sqrt(s0) / rn, math.sqrt(s1) / rn
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h0 = min(h0, interval)
    for k in range(n):
        w1[k] = y0[k] + h0 * direction * f0[k]
    rhs_into(fun, t0 + h0 * direction, w1, w2, args)
    s2 = 0.0
    for k in range(n):
        s2 += ((w2[k] - f0[k]) / (atol[k] + abs(y0[k]) * rtol)) ** 2
    d2 = math.sqrt(s2) / rn / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1 / 5)
    return min(100 * h0, h1, interval, max_step)


@njit(cache=True)
def run_scipy(fun, args, t0, t1, y0, f0, rtol, atol, first_step, max_step, max_steps, te,
              has_te, A, b, c, e, P):
    n, exponent = y0.shape[0], -1.0 / 5.0
    direction = 1.0 if t1 >= t0 else -1.0
    K = np.empty((7, n))
    copy_row(K[0], f0)
    y, y_new, ys_, tmp = y0.copy(), np.empty(n), np.empty(n), np.empty(n)
    ts, ys, H = np.empty(16), np.empty((16, n)), np.empty((64, 4))
    m = mh = j = 0
    if not has_te:
        ts, ys, m = push(ts, ys, m, t0, y0)
    elif t0 == t1:
        ts, ys, m = push(ts, ys, m, t0, y0)
        j = te.shape[0]
    nfev, n_acc, n_rej = 1, 0, 0
    interval = abs(t1 - t0)
    if first_step > 0:
        h_abs = first_step
    elif interval == 0.0:
        h_abs = 0.0
    else:
        h_abs = _initial_step(fun, args, t0, y0, f0, direction, interval, rtol, atol, max_step,
                              ys_, tmp)
        nfev += 1
    t, h, t_new = t0, math.nan, t0
    rn = n ** 0.5
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
            # rk.py::rk_step: K[s] = f(t + c_s h, y + (Σ_j a_sj K_j) h)
            for s in range(1, 6):
                for k in range(n):
                    acc = 0.0
                    for jj in range(s):
                        acc += A[s, jj] * K[jj, k]
                    ys_[k] = y[k] + acc * h
                rhs_into(fun, t + c[s] * h, ys_, K[s], args)
            for k in range(n):                           # y_new = y + h Σ b_i K_i
                acc = 0.0
                for jj in range(6):
                    acc += b[jj] * K[jj, k]
                y_new[k] = y[k] + h * acc
            rhs_into(fun, t + h, y_new, K[6], args)
            nfev += 6
            ssum = 0.0                                   # scipy: E = b_hat - b = -e
            for k in range(n):
                acc = 0.0
                for jj in range(7):
                    acc += -e[jj] * K[jj, k]
                x = acc * h / (atol[k] + max(abs(y[k]), abs(y_new[k])) * rtol)
                ssum += x * x
            err = math.sqrt(ssum) / rn
            accepted = err < 1
            if mh == H.shape[0]:
                H = grow_history(H, mh)
            put_history(H, mh, t, h, err, accepted)
            mh += 1
            if accepted:
                fac = 10.0 if err == 0 else min(10.0, 0.9 * err ** exponent)
                h_abs *= min(1.0, fac) if rejected else fac
                break
            fac = 0.9 * err ** exponent
            h_abs *= fac if fac > 0.2 else 0.2          # max(0.2, nan) is 0.2 in Python
            n_rej += 1
            rejected = True
        n_acc += 1
        if not finite(y_new):
            return E.STATUS_NONFINITE, t_new, h, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]
        t_old, t = t, t_new
        y, y_new = y_new, y                              # y_new now holds y_old
        if not has_te:
            if m == ts.shape[0]:
                ts, ys = grow(ts, ys, m)
            put(ts, ys, m, t, y)
            m += 1
        else:
            hh = t - t_old                               # ivp.py: t_eval walk, RkDenseOutput
            while j < te.shape[0] and direction * (te[j] - t) <= 0:
                x1 = (te[j] - t_old) / hh
                for k in range(n):                       # y_old + hh Σ_p (Kᵀ P)_p x1^(p+1)
                    yy, pw = 0.0, 1.0
                    for p in range(4):
                        pw = pw * x1
                        qp = 0.0
                        for i in range(7):
                            qp += K[i, k] * P[i, p]
                        yy += qp * pw
                    tmp[k] = hh * yy + y_new[k]
                ts, ys, m = push(ts, ys, m, te[j], tmp)
                j += 1
        copy_row(K[0], K[6])                             # FSAL: f(t, y) for the next step
    return E.STATUS_SUCCESS, t, h, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]
