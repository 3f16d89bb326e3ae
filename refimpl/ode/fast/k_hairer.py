"""Compiled twin of ``preset_hairer.run_hairer``: DOPCOR of Hairer's ``dopri5.f`` as
shipped (in C) in ``scipy.integrate.ode("dopri5")``, element by element in the C loops'
order (stage sums left to right over the nonzero coefficients), in place.

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, 2nd ed. (1993), Sec. II.4–II.5
(HINIT; Lund stabilisation, eq. (4.13) with β = 0.04); scipy ``integrate/dopri5``.
"""
import math

import numpy as np
from numba import njit

from .. import errors as E
from ..preset_hairer import UROUND
from .common import copy_row, finite, grow_history, push_start, put_history, record_step, \
    rhs_into


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


@njit(cache=True, inline="always")   # (takes fun: see common.py, 'inline')
def _hinit(fun, args, x, y, f0, posneg, hmax, rtol, atol, w1, w2):
    """HINIT of dopri5.f: sums (not means) of squares; 1 evaluation."""
    n = y.shape[0]
    dnf = dny = 0.0
    for k in range(n):
        sk = atol[k] + rtol * abs(y[k])
        dnf += (f0[k] / sk) ** 2
        dny += (y[k] / sk) ** 2
    h = 1.0e-6 if dnf <= 1e-10 or dny <= 1e-10 else math.sqrt(dny / dnf) * 0.01
    h = math.copysign(min(h, hmax), posneg)
    for k in range(n):
        w1[k] = y[k] + h * f0[k]
    rhs_into(fun, x + h, w1, w2, args)
    der2 = 0.0
    for k in range(n):
        der2 += ((w2[k] - f0[k]) / (atol[k] + rtol * abs(y[k]))) ** 2
    der2 = math.sqrt(der2) / h
    der12 = max(abs(der2), math.sqrt(dnf))
    h1 = max(1.0e-6, abs(h) * 1.0e-3) if der12 <= 1e-15 else (0.01 / der12) ** (1.0 / 5)
    return math.copysign(min(100 * abs(h), h1, hmax), posneg)


@njit(cache=True)
def run_hairer(fun, args, t0, xend, y0, f0, rtol, atol, first_step, max_step, max_steps, te,
               has_te, A, b, c, e, P, params):
    n = y0.shape[0]
    safe, fac1, fac2, beta, expo1 = params[0], params[1], params[2], params[3], params[4]
    facc1, facc2, facold = 1.0 / fac1, 1.0 / fac2, 1.0e-4
    posneg = 1.0 if xend >= t0 else -1.0
    hmax = abs(max_step) if math.isfinite(max_step) else abs(xend - t0)
    K = np.empty((7, n))
    copy_row(K[0], f0)
    ts, ys, H = np.empty(16), np.empty((16, n)), np.empty((64, 4))
    mh = 0
    ts, ys, m, j = push_start(ts, ys, t0, y0, te, has_te)
    if t0 == xend:
        return E.STATUS_SUCCESS, t0, math.nan, 1, 0, 0, ts[:m], ys[:m], H[:mh]
    x = t0
    y, ys_, y_new, acc = y0.copy(), np.empty(n), np.empty(n), np.empty(n)   # work arrays
    if first_step > 0:
        h = posneg * first_step
    else:
        h = _hinit(fun, args, x, y, f0, posneg, hmax, rtol, atol, ys_, acc)
    nfev, naccpt, nrej = 2, 0, 0
    reject = False
    err = 0.0
    while True:
        if naccpt + nrej >= max_steps:
            return E.STATUS_MAX_STEPS, x, h, nfev, naccpt, nrej, ts[:m], ys[:m], H[:mh]
        if 0.1 * abs(h) <= abs(x) * UROUND:      # (after NaN errors: status "non-finite")
            st = E.STATUS_STEP_UNDERFLOW if math.isfinite(err) else E.STATUS_NONFINITE
            return st, x, h, nfev, naccpt, nrej, ts[:m], ys[:m], H[:mh]
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
            rhs_into(fun, x + c[i] * h, ys_, K[i], args)
        xph = x + h
        _lincomb_into(acc, b, K, 6)                      # k4 = Σ b_i k_i; y_new = y + h k4
        for k in range(n):
            y_new[k] = y[k] + h * acc[k]
        rhs_into(fun, xph, y_new, K[6], args)
        nfev += 6
        _lincomb_into(acc, e, K, 7)                      # err = sqrt(Σ (h Σ e_i k_i / sk)² / n)
        ssum = 0.0
        for k in range(n):
            sk = atol[k] + rtol * max(abs(y[k]), abs(y_new[k]))
            v = acc[k] * h / sk
            ssum += v * v
        err = math.sqrt(ssum / n)
        accepted = err <= 1.0
        if mh == H.shape[0]:
            H = grow_history(H, mh)
        put_history(H, mh, x, h, err, accepted)
        mh += 1
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
        if not (finite(y_new) and finite(K[6])):
            return E.STATUS_NONFINITE, xph, h, nfev, naccpt, nrej, ts[:m], ys[:m], H[:mh]
        t_new = xend if last else xph
        ts, ys, m, j = record_step(te, has_te, j, ts, ys, m, posneg, x, t_new, y, y_new, K, P,
                                   h, acc)
        x = t_new
        y, y_new = y_new, y                              # swap the work arrays
        copy_row(K[0], K[6])
        if last:
            break
        if abs(h_new) > hmax:
            h_new = posneg * hmax
        if reject:
            h_new = posneg * min(abs(h_new), abs(h))
        reject = False
        h = h_new
    return E.STATUS_SUCCESS, x, h, nfev, naccpt, nrej, ts[:m], ys[:m], H[:mh]
