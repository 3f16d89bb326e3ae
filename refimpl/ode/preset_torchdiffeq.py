"""``controller="torchdiffeq"``: torchdiffeq's ``dopri5`` (``odeint(func, y0, t)``), step for step.

Mirrors ``torchdiffeq/_impl/rk_common.py::RKAdaptiveStepsizeODESolver`` (torchdiffeq
0.2.x) with its default options; tests compare evaluation counts and outputs with
torchdiffeq itself when it is installed. Same evaluation counts on every problem of
``numerics/results/preset_agreement.md``, but not bit for bit (torch's reductions sum in
their own order): outputs agree to 1.6e-10 on Lorenz to t = 20 and 1.8e-10 on Arenstorf
(chaotic / near-singular, the last-bit differences are amplified), <= 4e-12 elsewhere.

What torchdiffeq does, and where it differs from scipy / Hairer
----------------------------------------------------------------
* **Different embedded weights**: ``b_hat = (1951/21600, 0, 22642/50085, 451/720,
  -12231/42400, 649/6300, 1/60)`` — not Dormand–Prince's ``5179/57600, ...`` used by
  scipy and Hairer (``c_error`` in ``dopri5.py``). Steps therefore differ from the
  other presets even at equal tolerances.
* Initial step: Hairer II.4 with RMS norms, ``min(100 h0, h1)`` — no cap by the
  interval length (``misc.py::_select_initial_step``); 1 evaluation.
* Acceptance ``err <= 1``. Next step ``dt * min(10, max(0.9 err^(-1/5), dfac))`` with
  ``dfac = 1`` after an accepted step with ``err < 1`` (never shrinks after acceptance)
  and ``dfac = 0.2`` otherwise; ``10 dt`` at ``err == 0``; no growth cap after a
  rejection (``misc.py::_optimal_step_size``).
* Steps are not clipped to output times or to ``t1``: the solver steps past them and
  evaluates a quartic through ``y0, y_mid, y1`` with end slopes ``f0, f1``, where
  ``y_mid = y0 + dt Σ c_mid,i k_i`` (Shampine's midpoint, ``DPS_C_MID``; ``interp.py``).
  Output at a step end is interpolated (x = 1), not copied.
* Backwards: time is negated, ``g(s, y) = -f(-s, y)`` (``misc.py::_ReverseFunc``).
* Evaluations: ``f(t0)`` + 1 for the initial step + 6 per attempt (FSAL).
* With ``t_eval=None`` the output is every accepted step end before ``t1`` and the
  interpolated value at ``t1`` (the last step usually ends past ``t1``).

References
----------
R. T. Q. Chen, torchdiffeq (https://github.com/rtqichen/torchdiffeq), ``_impl/dopri5.py``,
``rk_common.py``, ``misc.py``, ``interp.py``. L. F. Shampine, Math. Comp. 46 (1986) 135–150.
"""
import math

import numpy as np

from . import errors as E
from .stepper import Output

__all__ = ["TorchdiffeqController", "TD_C_ERROR", "TD_C_MID", "run_torchdiffeq"]

#: torchdiffeq's dopri5 error weights b - b_hat (its own b_hat, see module docstring)
TD_C_ERROR = np.array([35 / 384 - 1951 / 21600, 0, 500 / 1113 - 22642 / 50085,
                       125 / 192 - 451 / 720, -2187 / 6784 - -12231 / 42400,
                       11 / 84 - 649 / 6300, -1. / 60.])
#: weights of the midpoint value y(t0 + dt/2) (torchdiffeq ``DPS_C_MID``)
TD_C_MID = np.array([6025192743 / 30085553152 / 2, 0, 51252292925 / 65400821598 / 2,
                     -2691868925 / 45128329728 / 2, 187940372067 / 1594534317056 / 2,
                     -1776094331 / 19743644256 / 2, 11237099 / 235043384 / 2])


def _wsum(w, K):
    """``Σ_j K_j w_j`` left to right (torch.sum over the stage axis of ``k * w``)."""
    acc = K[0] * w[0]
    for j in range(1, len(w)):
        acc = acc + K[j] * w[j]
    return acc


def rms(x):
    """torchdiffeq's ``_rms_norm``: ``sqrt(mean(|x|^2))``."""
    return math.sqrt(float(np.mean(np.abs(x) ** 2)))


class TorchdiffeqController:
    """Step-control rules of torchdiffeq's adaptive RK solvers (defaults)."""
    name = "torchdiffeq"
    safety, ifactor, dfactor, order = 0.9, 10.0, 0.2, 5

    def initial_step(self, fun, t0, y0, f0, rtol, atol):
        """``misc.py::_select_initial_step`` with order - 1 = 4; returns (dt, nfev)."""
        scale = atol + np.abs(y0) * rtol
        d0, d1 = rms(y0 / scale), rms(f0 / scale)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        f1 = fun(t0 + h0, y0 + h0 * f0)
        d2 = abs(rms((f1 - f0) / scale) / h0)
        if d1 <= 1e-15 and d2 <= 1e-15:
            h1 = max(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** (1.0 / float(self.order - 1 + 1))
        return min(100 * h0, h1), 1

    @staticmethod
    def accept(err):
        return err <= 1

    def next_step(self, dt, err):
        """``misc.py::_optimal_step_size``."""
        if err == 0:
            return dt * self.ifactor
        dfactor = 1.0 if err < 1 else self.dfactor
        if not math.isfinite(err):
            return math.nan
        return dt * min(self.ifactor, max(self.safety / err ** (1.0 / self.order), dfactor))


def _interp_fit(y0, y1, k, dt):
    """Quartic through y0, y_mid, y1 with slopes f0, f1 (interp.py); power form in x."""
    y_mid = y0 + _wsum(dt * TD_C_MID, k)
    f0, f1 = k[0], k[-1]
    a = 2 * dt * (f1 - f0) - 8 * (y1 + y0) + 16 * y_mid
    b = dt * (5 * f0 - 3 * f1) + 18 * y0 + 14 * y1 - 32 * y_mid
    c = dt * (f1 - 4 * f0) - 11 * y0 - 5 * y1 + 16 * y_mid
    return np.stack([y0, dt * f0, c, b, a])


def _interp_evaluate(coeffs, t0, t1, t):
    x = (t - t0) / (t1 - t0)
    total = coeffs[0] + x * coeffs[1]
    x_power = x
    for coefficient in coeffs[2:]:
        x_power = x_power * x
        total = total + x_power * coefficient
    return total


def run_torchdiffeq(p, f0, dense_output, ctrl=TorchdiffeqController()):
    tab, n = p.tab, p.y0.size
    d = p.direction                                        # backwards: s = -t, g = -f(-s, y)
    fun = p.fun if d > 0 else (lambda s, y: -1.0 * p.fun(-s, y))
    rtol, atol = p.rtol, p.atol
    alpha = [float(v) for v in tab.c[1:]]
    beta = [tab.A[i, :i] for i in range(1, tab.n_stages)]
    s_end = d * p.t1
    if p.t_eval is not None:
        outs = [d * v for v in p.t_eval]
    else:
        outs = [d * p.t0] if p.t1 == p.t0 else [d * p.t0, s_end]
    out = Output(p, dense_output, "poly")
    out.ts, out.ys = [], []
    record = out.history.append
    y, f, s = p.y0, f0 if d > 0 else -1.0 * f0, d * p.t0
    nfev = 1
    if p.first_step is None:
        dt, k = ctrl.initial_step(fun, s, y, f, rtol, atol)
        nfev += k
    else:
        dt = p.first_step
    K = np.empty((tab.n_stages, n))
    coeffs, s_prev = np.stack([y] * 5), s                  # rk_state before the first step
    n_acc = n_rej = 0
    j = 0
    if outs[0] == s:                                       # solution[0] = y0
        out.ts.append(d * outs[0]), out.ys.append(y)
        j = 1
    steps_mode = p.t_eval is None
    while j < len(outs):
        target = outs[j]
        while target > s:                                  # _advance: step past the target
            if n_acc + n_rej >= p.max_steps:
                raise E.SolverError(f"max_steps={p.max_steps} exceeded", t=d * s, h=d * dt,
                                    nfev=nfev, n_steps=n_acc + n_rej, n_accepted=n_acc,
                                    n_rejected=n_rej, status=E.STATUS_MAX_STEPS)
            if not math.isfinite(dt) or not s + dt > s:
                bad = not math.isfinite(dt)
                raise E.SolverError("underflow in dt" + (" after non-finite values" if bad
                                                         else ""),
                                    t=d * s, h=d * dt, nfev=nfev, n_steps=n_acc + n_rej,
                                    n_accepted=n_acc, n_rejected=n_rej,
                                    status=E.STATUS_NONFINITE if bad else E.STATUS_STEP_UNDERFLOW)
            dt = min(dt, p.max_step)
            s1 = s + dt
            K[0] = f                                       # rk_common.py::_runge_kutta_step
            for i, (a_i, b_i) in enumerate(zip(alpha, beta), start=1):
                ti = s1 if a_i == 1.0 else s + a_i * dt
                yi = y + _wsum(b_i * dt, K)
                K[i] = fun(ti, yi)
            nfev += tab.n_stages - 1
            y1 = yi                                        # FSAL: the last stage state
            err_vec = _wsum(dt * TD_C_ERROR, K)
            err = rms(err_vec / (atol + rtol * np.maximum(np.abs(y), np.abs(y1))))
            accepted = ctrl.accept(err)
            record((d * s, d * dt, err, bool(accepted)))
            if accepted:
                n_acc += 1
                coeffs = _interp_fit(y, y1, K, dt)
                s_prev, s, y, f = s, s1, y1, K[-1].copy()
                if dense_output:
                    out.seg_t.append(d * s), out.seg_c.append(coeffs)
                if steps_mode and s < s_end:
                    out.ts.append(d * s), out.ys.append(y)
            else:
                n_rej += 1
            dt = ctrl.next_step(dt, err)
        out.ts.append(d * target)
        out.ys.append(_interp_evaluate(coeffs, s_prev, s, target))
        j += 1
    out.counts = (nfev, n_acc, n_rej)
    return out
