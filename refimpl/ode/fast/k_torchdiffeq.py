"""Compiled twin of ``preset_torchdiffeq.run_torchdiffeq`` (torchdiffeq's ``dopri5``).

torchdiffeq's arithmetic per component: stage ``y + Σ_j k_j (a_ij dt)``, its own error
weights ``c_err`` (b − b̂ with b̂ = 1951/21600, …), RMS norm through a mean (numpy's
pairwise sum, as the NumPy twin), steps past the output times and a quartic through the
midpoint ``y + dt Σ c_mid_i k_i`` (``interp.py``). Backwards runs integrate
``g(s, y) = −f(−s, y)``. In place on preallocated work arrays.

References
----------
R. T. Q. Chen, torchdiffeq (2018): ``_impl/rk_common.py``, ``misc.py``
(``_select_initial_step``, ``_optimal_step_size``, ``_ReverseFunc``), ``interp.py``.
"""
import math

import numpy as np
from numba import njit

from .. import errors as E
from .common import copy_row, finite, grow, grow_history, push, put, put_history, rhs_into


@njit(cache=True, inline="always")
def _g(fun, args, d, s, y, out):
    """out = g(s, y): f(s, y) forwards, −f(−s, y) backwards (misc.py::_ReverseFunc)."""
    if d > 0:
        rhs_into(fun, s, y, out, args)
    else:
        rhs_into(fun, -s, y, out, args)
        for k in range(out.shape[0]):
            out[k] = -1.0 * out[k]


@njit(cache=True)
def _block_sum(sq, lo, n):
    """numpy's pairwise_sum leaf (loops_utils.h) on ``sq[lo:lo + n]``, n <= 128: a plain
    sum below 8, else 8 accumulators over blocks of 8, combined as a tree, plus the tail."""
    if n < 8:
        r = 0.0
        for i in range(lo, lo + n):
            r += sq[i]
        return r
    r0, r1, r2, r3 = sq[lo], sq[lo + 1], sq[lo + 2], sq[lo + 3]
    r4, r5, r6, r7 = sq[lo + 4], sq[lo + 5], sq[lo + 6], sq[lo + 7]
    i = 8
    while i < n - (n % 8):
        r0 += sq[lo + i]
        r1 += sq[lo + i + 1]
        r2 += sq[lo + i + 2]
        r3 += sq[lo + i + 3]
        r4 += sq[lo + i + 4]
        r5 += sq[lo + i + 5]
        r6 += sq[lo + i + 6]
        r7 += sq[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i2 in range(i, n):
        res += sq[lo + i2]
    return res


@njit(cache=True)
def _pairwise_sum(sq, lo, n):
    """numpy's pairwise sum of ``sq[lo:lo + n]``: above 128 split at
    ``n2 = n // 2 - (n // 2) % 8`` and add the halves' sums. Iterative with an explicit
    stack (numba's disk cache does not load a recursive function safely: it segfaulted)."""
    if n <= 128:
        return _block_sum(sq, lo, n)
    los = np.empty(256, np.int64)       # pending nodes: (start, length, halves done?)
    ns = np.empty(256, np.int64)
    done = np.empty(256, np.int64)
    vals = np.empty(256)                # sums of finished subtrees, left before right
    top, vtop = 0, 0
    los[0], ns[0], done[0] = lo, n, 0
    top = 1
    while top > 0:
        top -= 1
        a, m, d = los[top], ns[top], done[top]
        if m <= 128:
            vals[vtop] = _block_sum(sq, a, m)
            vtop += 1
        elif d == 1:                    # both halves summed: left + right
            vals[vtop - 2] = vals[vtop - 2] + vals[vtop - 1]
            vtop -= 1
        else:
            m2 = m // 2
            m2 -= m2 % 8
            los[top], ns[top], done[top] = a, m, 1                 # combine after ...
            los[top + 1], ns[top + 1], done[top + 1] = a + m2, m - m2, 0   # ... the right
            los[top + 2], ns[top + 2], done[top + 2] = a, m2, 0     # ... and the left half
            top += 3
    return vals[0]


@njit(cache=True)
def _mean_sq(sq, n):
    """``np.mean(sq[:n])`` bit for bit (numpy's pairwise summation, any n)."""
    return _pairwise_sum(sq, 0, n) / n


@njit(cache=True, inline="always")   # (takes fun: see common.py, 'inline')
def _initial_step(fun, args, d, s, y, f, rtol, atol, w1, w2, sq):
    """misc.py::_select_initial_step (no interval cap)."""
    n = y.shape[0]
    for k in range(n):
        sq[k] = (y[k] / (atol[k] + abs(y[k]) * rtol)) ** 2
    d0 = math.sqrt(_mean_sq(sq, n))
    for k in range(n):
        sq[k] = (f[k] / (atol[k] + abs(y[k]) * rtol)) ** 2
    d1 = math.sqrt(_mean_sq(sq, n))
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    for k in range(n):
        w1[k] = y[k] + h0 * f[k]
    _g(fun, args, d, s + h0, w1, w2)
    for k in range(n):
        sq[k] = ((w2[k] - f[k]) / (atol[k] + abs(y[k]) * rtol)) ** 2
    d2 = abs(math.sqrt(_mean_sq(sq, n)) / h0)
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / 5.0)
    return min(100 * h0, h1)


@njit(cache=True, inline="always")
def _wsum_at(K, w, dt, upto, k):
    """(Σ_j K_j (w_j dt))[k], left to right (rk_common.py: sum of k_j * (a_j dt))."""
    acc = K[0, k] * (w[0] * dt)
    for jj in range(1, upto):
        acc = acc + K[jj, k] * (w[jj] * dt)
    return acc


@njit(cache=True)
def run_torchdiffeq(fun, args, t0, t1, y0, f0, rtol, atol, first_step, max_step, max_steps,
                    te, has_te, A, b, c, c_err, c_mid):
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
    K = np.empty((7, n))
    y, y1, yi, tmp, sq = y0.copy(), np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    s = d * t0
    for k in range(n):
        K[0, k] = f0[k] if d > 0 else -1.0 * f0[k]
    nfev = 1
    if first_step > 0:
        dt = first_step
    else:
        dt = _initial_step(fun, args, d, s, y, K[0], rtol, atol, yi, tmp, sq)
        nfev += 1
    coeffs = np.empty((5, n))
    for k in range(5):
        copy_row(coeffs[k], y)
    s_prev = s
    n_acc = n_rej = 0
    j = 0
    if outs[0] == s:
        ts, ys, m = push(ts, ys, m, d * outs[0], y)
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
            # rk_common.py::_runge_kutta_step: k_i = g(s + c_i dt, y + Σ_j k_j (a_ij dt))
            for i in range(1, 7):
                ti = s1 if c[i] == 1.0 else s + c[i] * dt
                out = y1 if i == 6 else yi
                for k in range(n):
                    out[k] = y[k] + _wsum_at(K, A[i], dt, i, k)
                _g(fun, args, d, ti, out, K[i])
            nfev += 6
            for k in range(n):                           # error Σ k_j (c_err_j dt), scaled
                sc = atol[k] + rtol * max(abs(y[k]), abs(y1[k]))
                sq[k] = abs(_wsum_at(K, c_err, dt, 7, k) / sc) ** 2
            err = math.sqrt(_mean_sq(sq, n))
            accepted = err <= 1
            if mh == H.shape[0]:
                H = grow_history(H, mh)
            put_history(H, mh, d * s, d * dt, err, accepted)
            mh += 1
            if accepted:
                n_acc += 1
                for k in range(n):                       # interp.py::_interp_fit
                    f0k, f1k, yk, y1k = K[0, k], K[6, k], y[k], y1[k]
                    ym = yk + _wsum_at(K, c_mid, dt, 7, k)
                    coeffs[4, k] = 2 * dt * (f1k - f0k) - 8 * (y1k + yk) + 16 * ym
                    coeffs[3, k] = dt * (5 * f0k - 3 * f1k) + 18 * yk + 14 * y1k - 32 * ym
                    coeffs[2, k] = dt * (f1k - 4 * f0k) - 11 * yk - 5 * y1k + 16 * ym
                    coeffs[1, k] = dt * f0k
                    coeffs[0, k] = yk
                s_prev, s = s, s1
                y, y1 = y1, y                            # swap the work arrays
                copy_row(K[0], K[6])
                if not finite(y):
                    return E.STATUS_NONFINITE, d * s, d * dt, nfev, n_acc, n_rej, ts[:m], \
                        ys[:m], H[:mh]
                if not has_te and s < s_end:
                    if m == ts.shape[0]:
                        ts, ys = grow(ts, ys, m)
                    put(ts, ys, m, d * s, y)
                    m += 1
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
        for k in range(n):
            total = coeffs[0, k] + x * coeffs[1, k]
            x_power = x
            for p in range(2, 5):
                x_power = x_power * x
                total = total + x_power * coeffs[p, k]
            tmp[k] = total
        ts, ys, m = push(ts, ys, m, d * target, tmp)
        j += 1
    return E.STATUS_SUCCESS, d * s, d * dt, nfev, n_acc, n_rej, ts[:m], ys[:m], H[:mh]
