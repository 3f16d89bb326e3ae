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

One engine for ``solve`` and ``odeint``
---------------------------------------
``advance`` is torchdiffeq's ``_advance`` loop (steps, error ratio, acceptance, next step,
interpolation at each output time) written once, on plain arrays or on autograd boxes:
``run_torchdiffeq`` (``solve(controller="torchdiffeq")``) drives it with hooks for the step
history and the dense output, ``integrate_torchdiffeq`` (``odeint(controller="torchdiffeq")``,
both gradient modes, through ``refimpl.ode.traced.integrate``) with whatever autograd traces.
What torchdiffeq's own ``odeint`` differentiates, the traced run differentiates too:

* the first step ``dt0 = min(100 h0, h1)`` is computed with grad in torchdiffeq
  (``_select_initial_step`` is not under ``no_grad``), so y0 and the parameters reach the
  output through dt0 as well: through the first step's stages, its interpolant and every
  later step's start time ``t0 + dt0 + ...`` (time-dependent dynamics). ``initial_step`` is
  written with ``autograd.numpy`` for that reason (``anp.minimum``: both branches stay in the
  graph, as with ``torch.min``); the later steps come from ``_optimal_step_size`` under
  ``no_grad`` and are constants;
* the output ``y(t_i)`` is the quartic at ``x = (t_i - t_k)/(t_{k+1} - t_k)``, so d/dt_i flows
  through x.

Not reproduced: torchdiffeq evaluates the stages with ``c_i = 1`` one float before the step's
end (``Perturb.PREV``, meant for ``jump_t``); only time-dependent dynamics see it, as a
relative change of order 1e-16.

The error norm (``norm``): RMS (torchdiffeq's ``_rms_norm``) or, for a
``refimpl.ode.traced.GroupNorm``, the max over its included groups of their RMS
(torchdiffeq's ``_mixed_norm`` for tuple states, and its default adjoint norm
``max(|a_t|, ‖y‖, ‖a‖, max_p ‖a_p‖)`` when the groups are the adjoint's).

References
----------
R. T. Q. Chen, torchdiffeq (https://github.com/rtqichen/torchdiffeq), ``_impl/dopri5.py``,
``rk_common.py``, ``misc.py``, ``interp.py``. L. F. Shampine, Math. Comp. 46 (1986) 135–150.
"""
import math

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval, isbox

from . import errors as E
from .stepper import Output
from .traced_ops import poly_eval_reference, wsum

__all__ = ["TorchdiffeqController", "TD_C_ERROR", "TD_C_MID", "run_torchdiffeq", "advance",
           "integrate_torchdiffeq", "td_norm"]

#: torchdiffeq's dopri5 error weights b - b_hat (its own b_hat, see module docstring)
TD_C_ERROR = np.array([35 / 384 - 1951 / 21600, 0, 500 / 1113 - 22642 / 50085,
                       125 / 192 - 451 / 720, -2187 / 6784 - -12231 / 42400,
                       11 / 84 - 649 / 6300, -1. / 60.])
#: weights of the midpoint value y(t0 + dt/2) (torchdiffeq ``DPS_C_MID``)
TD_C_MID = np.array([6025192743 / 30085553152 / 2, 0, 51252292925 / 65400821598 / 2,
                     -2691868925 / 45128329728 / 2, 187940372067 / 1594534317056 / 2,
                     -1776094331 / 19743644256 / 2, 11237099 / 235043384 / 2])


def _wsum(w, K):
    """``Σ_j K_j w_j`` left to right (torch.sum over the stage axis of ``k * w``); K an (s, n)
    array. For a list of stages (a traced run, ``advance``): one primitive with its own VJP
    (`traced_ops.wsum`, the same left-to-right sum), one autograd operation instead of 2 len(w)."""
    if isinstance(K, list):
        return wsum(w, list(K[:len(w)]))
    acc = K[0] * w[0]
    for j in range(1, len(w)):
        acc = acc + K[j] * w[j]
    return acc


def rms(x):
    """torchdiffeq's ``_rms_norm``: ``sqrt(mean(|x|^2))``; traceable when x is a box."""
    if isbox(x):
        return anp.sqrt(anp.mean(anp.abs(x) ** 2))
    return math.sqrt(float(np.mean(np.abs(x) ** 2)))


def td_norm(group_norm=None):
    """torchdiffeq's norm as a traceable callable: ``rms``, or for a ``GroupNorm`` (bounds,
    include) the max over the included non-empty groups of their ``rms`` (``_mixed_norm``)."""
    if group_norm is None:
        return rms
    groups = [(lo, hi) for lo, hi, inc in zip(group_norm.bounds[:-1], group_norm.bounds[1:],
                                              group_norm.include) if inc and hi > lo]

    def norm(x):
        return max((rms(x[lo:hi]) for lo, hi in groups), default=0.0)
    return norm


class TorchdiffeqController:
    """Step-control rules of torchdiffeq's adaptive RK solvers (defaults)."""
    name = "torchdiffeq"
    safety, ifactor, dfactor, order = 0.9, 10.0, 0.2, 5
    #: odeint_adjoint calls odeint afresh on every backward interval [t_i, t_{i-1}]: a new
    #: f(t_i), a new initial step (``refimpl.ode.adjoint`` reads this flag)
    fresh_adjoint_intervals = True
    #: its augmented state always holds a_t (``adjoint.py``: ``t_.requires_grad_(True)`` acts
    #: on the detached t in place, so vjp_t is always computed and enters the norm)
    adjoint_carries_t = True

    def initial_step(self, fun, t0, y0, f0, rtol, atol, norm=rms):
        """``misc.py::_select_initial_step`` with order - 1 = 4; returns (dt, nfev).

        Written with ``autograd.numpy``: dt is traced when y0 / f0 are boxes (torchdiffeq
        differentiates through it). ``norm`` as ``td_norm``."""
        scale = atol + anp.abs(y0) * rtol
        d0, d1 = norm(y0 / scale), norm(f0 / scale)
        h0 = 1e-6 if getval(d0) < 1e-5 or getval(d1) < 1e-5 else 0.01 * d0 / d1
        f1 = fun(t0 + h0, y0 + h0 * f0)
        d2 = abs(norm((f1 - f0) / scale) / h0)
        if getval(d1) <= 1e-15 and getval(d2) <= 1e-15:
            h1 = anp.maximum(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** (1.0 / float(self.order - 1 + 1))
        dt = anp.minimum(100 * h0, h1)
        return (dt if isbox(dt) else float(dt)), 1

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
    """Quartic through y0, y_mid, y1 with slopes f0, f1 (interp.py): its power-form
    coefficients [e, d, c, b, a] (x^0 .. x^4) as a list (traceable)."""
    y_mid = y0 + _wsum(dt * TD_C_MID.astype(np.result_type(getval(dt))), k)
    f0, f1 = k[0], k[-1]
    a = 2 * dt * (f1 - f0) - 8 * (y1 + y0) + 16 * y_mid
    b = dt * (5 * f0 - 3 * f1) + 18 * y0 + 14 * y1 - 32 * y_mid
    c = dt * (f1 - 4 * f0) - 11 * y0 - 5 * y1 + 16 * y_mid
    return [y0, dt * f0, c, b, a]


def _cast(x, dtype):
    """x (a float or an autograd box) in `dtype` (torch's ``.to(dtype)``, ``type_as``)."""
    return x.astype(dtype) if isbox(x) else dtype.type(x)


def _interp_block(coeffs, t0, t1, ts, dtype=np.float64):
    """``_interp_evaluate`` at every t in ts (m times) as one product: (m, n), traceable."""
    traced = any(isbox(v) for v in ts)
    tv = anp.stack(ts) if traced else np.array([float(v) for v in ts])
    x = (tv - t0) / (t1 - t0)                                     # (m,)
    if dtype != np.float64:
        x = _cast(x, dtype)
    x2 = x * x
    powers = anp.stack([anp.ones_like(x), x, x2, x2 * x, x2 * x2], axis=1)   # (m, 5)
    return anp.dot(powers, anp.stack(coeffs))                     # (m, 5) @ (5, n)


def _interp_evaluate(coeffs, t0, t1, t, dtype=np.float64):
    x = (t - t0) / (t1 - t0)
    if dtype != np.float64:
        x = _cast(x, dtype)
    return poly_eval_reference(x, coeffs)                       # torchdiffeq's loop, in its order


CONTROLLER = TorchdiffeqController()


def advance(fun, s, y, f, dt, targets, tab, *, rtol, atol, norm=rms, max_steps,
            max_step=math.inf, ctrl=CONTROLLER, on_attempt=None, sign=1.0):
    """torchdiffeq's ``integrate`` after ``_before_integrate``: for each target time (in
    increasing order, all > s) step until the last accepted step ends at or past it, then
    evaluate that step's quartic there (``rk_common.py::_advance``). The solver's time s
    increases (the caller negates time and f for a backwards solve, ``_ReverseFunc``).

    fun(s, y) -> (n,); s, y, f = fun(s, y), dt: the start (any may be an autograd box: then
    the stages are a list and everything is traced; the step sizes after the first are
    constants, as torchdiffeq's ``_optimal_step_size`` runs under ``no_grad``).
    on_attempt(s, dt, err, accepted, s_new, y_new, coeffs): called after every attempt
    (plain floats for s, dt; ``sign`` only scales the times in error messages).
    Returns (outputs, counts dict nfev / n_steps / n_accepted / n_rejected and dt_next, the
    step proposed after the last attempt); outputs: y at every target, a list of (n,) rows,
    or for a traced run a list of (m, n) blocks, one per accepted step that reached targets
    (its quartic evaluated at all of them in one product: ``_interp_block``)."""
    alpha = [float(v) for v in tab.c[1:]]
    # torchdiffeq's mixed precision: tableau and dt in the state's dtype, times in float64
    dtype = np.result_type(getval(y))
    beta = [tab.A[i, :i].astype(dtype) for i in range(1, tab.n_stages)]
    c_error = TD_C_ERROR.astype(dtype)
    traced = any(isbox(v) for v in (s, y, f, dt))
    K = [None] * tab.n_stages if traced else np.empty((tab.n_stages, np.size(y)), dtype)
    c = dict(nfev=0, n_steps=0, n_accepted=0, n_rejected=0)
    coeffs, s_prev = None, s
    s_val = float(getval(s))
    out, j = [], 0
    while j < len(targets):
        target = targets[j]
        while float(getval(target)) > s_val:                # _advance: step past the target
            if c["n_steps"] >= max_steps:
                raise E.SolverError(f"max_steps={max_steps} exceeded", t=sign * s_val,
                                    h=sign * float(getval(dt)), status=E.STATUS_MAX_STEPS,
                                    **_err_counts(c))
            dt_val = float(getval(dt))
            if not math.isfinite(dt_val) or not s_val + dt_val > s_val:
                bad = not math.isfinite(dt_val)
                raise E.SolverError("underflow in dt" + (" after non-finite values" if bad
                                                         else ""),
                                    t=sign * s_val, h=sign * dt_val, **_err_counts(c),
                                    status=E.STATUS_NONFINITE if bad else E.STATUS_STEP_UNDERFLOW)
            if dt_val > max_step:
                dt = dt_val = max_step
            s1 = s + dt
            dt_y = dt if dtype == np.float64 else _cast(dt, dtype)
            K[0] = f                                       # rk_common.py::_runge_kutta_step
            for i, (a_i, b_i) in enumerate(zip(alpha, beta), start=1):
                ti = s1 if a_i == 1.0 else s + a_i * dt
                yi = y + _wsum(b_i * dt_y, K)
                K[i] = fun(ti, yi)
            c["nfev"] += tab.n_stages - 1
            c["n_steps"] += 1
            y1 = yi                                        # FSAL: the last stage state
            y_raw, y1_raw = getval(y), getval(y1)
            Kv = K if not traced else [getval(k) for k in K]
            err_vec = _wsum(getval(dt_y) * c_error, Kv)   # _compute_error_ratio (plain values)
            err = float(norm(err_vec / (atol + rtol * np.maximum(np.abs(y_raw), np.abs(y1_raw)))))
            accepted = ctrl.accept(err)
            if accepted:
                c["n_accepted"] += 1
                coeffs = _interp_fit(y, y1, K, dt_y)
                s_prev, s, y = s, s1, y1
                s_val = float(getval(s))
                f = K[-1] if traced else K[-1].copy()
            else:
                c["n_rejected"] += 1
            if on_attempt is not None:
                on_attempt(float(getval(s_prev if accepted else s)), dt_val, err, accepted,
                           s_val, getval(y), coeffs)
            dt = ctrl.next_step(dt_val, err)                # a constant from here on
        if traced:                  # every target this step reached, at once
            k = j + 1
            while k < len(targets) and float(getval(targets[k])) <= s_val:
                k += 1
            out.append(_interp_block(coeffs, s_prev, s, targets[j:k], dtype))
            j = k
        else:
            out.append(_interp_evaluate(coeffs, s_prev, s, target, dtype))
            j += 1
    c["dt_next"] = float(getval(dt))
    return out, c


def _err_counts(c):
    return dict(nfev=c["nfev"], n_steps=c["n_steps"], n_accepted=c["n_accepted"],
                n_rejected=c["n_rejected"])


def run_torchdiffeq(p, f0, dense_output, ctrl=CONTROLLER):
    """``solve(controller="torchdiffeq")``: ``advance`` on plain arrays, with the step
    history, the dense segments and (t_eval=None) every accepted step end as outputs."""
    d = p.direction                                        # backwards: s = -t, g = -f(-s, y)
    fun = p.fun if d > 0 else (lambda s, y: -1.0 * p.fun(-s, y))
    s_end = d * p.t1
    if p.t_eval is not None:
        outs = [d * v for v in p.t_eval]
    else:
        outs = [d * p.t0] if p.t1 == p.t0 else [d * p.t0, s_end]
    out = Output(p, dense_output, "poly")
    out.ts, out.ys = [], []
    y, f, s = p.y0, f0 if d > 0 else -1.0 * f0, d * p.t0
    nfev = 1
    if p.first_step is None:
        dt, k = ctrl.initial_step(fun, s, y, f, p.rtol, p.atol)
        nfev += k
    else:
        dt = p.first_step
    j = 0
    if outs[0] == s:                                       # solution[0] = y0
        out.ts.append(d * outs[0]), out.ys.append(y)
        j = 1
    steps_mode = p.t_eval is None

    def on_attempt(s0, h, err, accepted, s1, y1, coeffs):
        out.history.append((d * s0, d * h, err, bool(accepted)))
        if accepted:
            if dense_output:
                out.seg_t.append(d * s1), out.seg_c.append(np.stack(coeffs))
            if steps_mode and s1 < s_end:
                out.ts.append(d * s1), out.ys.append(y1)
    try:
        ys, c = advance(fun, s, y, f, dt, outs[j:], p.tab, rtol=p.rtol, atol=p.atol,
                        max_steps=p.max_steps, max_step=p.max_step, ctrl=ctrl,
                        on_attempt=on_attempt, sign=d)
    except E.SolverError as e:                             # counts include f(t0), the probe
        e.nfev = getattr(e, "nfev", 0) + nfev
        raise
    out.ts.extend(d * v for v in outs[j:])
    out.ys.extend(ys)
    out.counts = (nfev + c["nfev"], c["n_accepted"], c["n_rejected"])
    return out


def integrate_torchdiffeq(func, y0, t, args=(), *, tab, rtol, atol, norm=None,
                          first_step=None, max_step=math.inf, max_steps=100_000,
                          ctrl=CONTROLLER):
    """``torchdiffeq.odeint(func, y0, t, method="dopri5")`` on a flat state, traceable: y at
    every t[i] (a list; ys[0] = y0; a traced run returns one (N, n) array) and stats (nfev, n_steps, n_accepted, n_rejected,
    h_next: the step torchdiffeq would try next). The engine of ``odeint(controller="torchdiffeq")`` in both gradient modes
    (``refimpl.ode.traced.integrate`` dispatches here). norm: None (RMS) or a GroupNorm."""
    t_vals = [float(v) for v in np.asarray(getval(t))]
    stats = dict(nfev=0, n_steps=0, n_accepted=0, n_rejected=0, h_next=None)
    if len(t_vals) == 1:
        return [y0], stats
    d = 1.0 if t_vals[-1] >= t_vals[0] else -1.0             # misc.py::_check_inputs
    dtype = np.result_type(getval(y0))
    # _PerturbFunc: func sees t in the state's dtype (float32 mode: t rounded to float32)
    tcast = (lambda s: s) if dtype == np.float64 else (lambda s: _cast(s, dtype))
    if d > 0:
        def fun(s, y):
            return func(tcast(s), y, *args)
    else:
        def fun(s, y):                                       # _ReverseFunc(mul=-1)
            return -1.0 * func(tcast(-s), y, *args)
    s0 = t[0] if d > 0 else -t[0]
    f0 = fun(s0, y0)
    norm = td_norm(norm)
    stats["nfev"] = 1
    if first_step is None:
        dt, k = ctrl.initial_step(fun, s0, y0, f0, rtol, atol, norm=norm)
        stats["nfev"] += k
    else:
        dt = float(first_step)
    targets = [t[i] if d > 0 else -t[i] for i in range(1, len(t_vals))]
    try:
        ys, c = advance(fun, s0, y0, f0, dt, targets, tab, rtol=rtol, atol=atol, norm=norm,
                        max_steps=max_steps, max_step=max_step, ctrl=ctrl, sign=d)
    except E.SolverError as e:
        e.nfev = getattr(e, "nfev", 0) + stats["nfev"]
        raise
    for k in ("nfev", "n_steps", "n_accepted", "n_rejected"):
        stats[k] += c[k]
    stats["h_next"] = c["dt_next"]      # unused by the adjoint here (fresh_adjoint_intervals)
    if ys and np.ndim(getval(ys[0])) == 2:              # traced: blocks -> one (N, n) array
        return anp.concatenate([anp.reshape(y0, (1, -1))] + ys), stats
    return [y0] + ys, stats
