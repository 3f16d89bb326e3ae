"""The NumPy step loops of ``solve``: an adaptive and a fixed-step loop (the default controller).

Twins of the definition ``refimpl.ode.rk_step.rk_step``, faster: the stage rows are
precomputed (below), tied to the definition by tests/ode/test_rk_step_definition.py.

Both loops run any ``ButcherTableau``. Per attempt ``h`` from ``(t, y)``
(Hairer I, eq. (1.8)): ``k_i = f(t + c_i h, y + h Σ_j a_ij k_j)``, with ``k_0 = f(t, y)``
reused from the previous step; ``y_new = y + h Σ_i b_i k_i``; error ``h Σ_i e_i k_i``.
The stage states are computed as one product ``[1, h a_i0, ..., h a_i,i-1] @ [y; k_0; ...]``
(one NumPy call per stage). Step control comes from a controller
(``refimpl.ode.control.DefaultController``); its error norm is inlined here.

Evaluation count per attempt: ``s - 1``; non-FSAL methods add ``f(t_new, y_new)``
on acceptance (dop853: 11 per rejected, 12 per accepted step, as Hairer's code);
dop853's dense output adds 3 per step that needs it.

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, 2nd ed. (1993), Sec. II.1, II.4.
"""
import math

import numpy as np

from . import errors as E
from .control import DEFAULT, min_step
from .dense import eval_step, step_coefficients

__all__ = ["run_adaptive", "run_fixed", "Output"]


def _stage_storage(tab, n, dtype):
    """Work arrays of one run.

    ``YK`` (1 + rows, n): row 0 is the current ``y``, rows 1.. are the stages ``K``
    (s stages, + ``f(t_new, y_new)`` for non-FSAL methods, 16 rows for dop853).
    ``R0`` (ns + 1, ns + 1): row i < ns is ``[1, A[i, :ns]]``, row ns is ``[1, b[:ns]]``;
    scaled by ``h`` (except column 0) into ``R`` every step, so that a stage state
    ``y + h Σ_j a_ij k_j`` is one product ``R[i, :i+1] @ YK[:i+1]``.
    """
    rows = 16 if tab.dense == "dop853" else tab.n_stages + (0 if tab.fsal else 1)
    YK = np.empty((1 + rows, n), dtype=dtype)
    ns = tab.n_stages - 1 if tab.fsal else tab.n_stages
    R0 = np.zeros((ns + 1, ns + 1))
    R0[:ns, 1:] = tab.A[:ns, :ns]
    R0[ns, 1:] = tab.b[:ns]
    return YK, R0, ns


class Output:
    """Collects the reported points: every accepted step, or the ``t_eval`` points."""

    def __init__(self, p, dense_output, kind):
        self.dir, self.kind = p.direction, kind
        self.t_eval = None if p.t_eval is None else [float(v) for v in p.t_eval]
        self.history = []                       # (t, h, error norm, accepted) per attempt
        self.status, self.trunc_end = 0, None   # 1 after a terminal event; its step's end
        self.counts = (0, 0, 0)                 # nfev, n_accepted, n_rejected
        self.ts, self.ys, self.j = [p.t0], [p.y0], 0
        if self.t_eval is not None:
            self.ts, self.ys = [], []
            while self.j < len(self.t_eval) and self.t_eval[self.j] == p.t0:
                self.ts.append(p.t0), self.ys.append(p.y0)
                self.j += 1
        self.dense = dense_output
        self.seg_t, self.seg_c = [p.t0], []
        self._set_next()

    def _set_next(self):
        """``next_te``: the next output time, or +-inf (so ``dir * (next_te - t) > 0``)."""
        te = self.t_eval
        self.next_te = te[self.j] if te is not None and self.j < len(te) else self.dir * np.inf

    def needs_dense(self, t_new):
        """True when this step must build its polynomial (dense_output or t_eval inside)."""
        return self.dense or (self.t_eval is not None and self.dir * (self.next_te - t_new) <= 0)

    def add_step(self, t, t_new, y_new, C, h):
        """Record an accepted step ending at ``(t_new, y_new)`` with dense coefficients ``C``."""
        te = self.t_eval
        if te is None:
            self.ts.append(t_new), self.ys.append(y_new)
        else:
            k = self.j
            while k < len(te) and self.dir * (te[k] - t_new) < 0:
                k += 1
            for i in range(self.j, k):                   # strictly inside the step
                self.ts.append(te[i])
                self.ys.append(eval_step(self.kind, C, (te[i] - t) / h))
            if k < len(te) and te[k] == t_new:            # exactly at the mesh point
                self.ts.append(t_new), self.ys.append(y_new)
                k += 1
            self.j = k
            self._set_next()
        if self.dense:
            self.seg_t.append(t_new), self.seg_c.append(C)


def _after_step_events(events, out, tab, K, y, y_new, f_new, h, t, t_new, fun):
    """Event detection after an accepted step (refimpl.ode.events). The step's interpolant is
    built only if an event function changed sign. Returns (C or None, t_end, y_end, extra f
    evaluations); a terminal event stops at its root (out.status = 1)."""
    built = [None, 0]

    def make_sol():
        built[0], built[1] = step_coefficients(tab, K, y, y_new, K[0], f_new, h, t, fun)
        return lambda tau, C=built[0]: eval_step(tab.dense, C, (tau - t) / h)
    t_stop, sol = events.after_step(t, t_new, y_new, make_sol)
    t_end, y_end = t_new, y_new
    if t_stop is not None:                                        # terminal: stop at the root
        t_end, y_end, out.status, out.trunc_end = t_stop, sol(t_stop), 1, t_new
    return built[0], t_end, y_end, built[1]


def run_adaptive(p, f0, dense_output, ctrl=DEFAULT, events=None):
    tab, fun, t1, direction = p.tab, p.fun, p.t1, p.direction
    rtol, atol, max_step = p.rtol, p.atol, p.max_step
    n, s, fsal, q = p.y0.size, tab.n_stages, tab.fsal, tab.error_order
    YK, R0, ns = _stage_storage(tab, n, p.y0.dtype)
    K = YK[1:]
    R = R0.copy()
    rows = [R[i, :i + 1] for i in range(ns + 1)]          # views, refreshed in place per step
    views = [YK[:i + 1] for i in range(ns + 1)]
    Ks = K[:s]                                            # stages entering the error estimate
    c = [float(v) for v in tab.c]
    e, e3 = tab.e, tab.e3
    out = Output(p, dense_output, tab.dense)
    record = out.history.append
    simple_out = p.t_eval is None and not dense_output
    t, y = p.t0, p.y0
    YK[0], K[0] = y, f0
    nfev, n_acc, n_rej = 1, 0, 0
    if p.first_step is None:
        h_abs, k = ctrl.initial_step(fun, t, y, f0, direction, q, rtol, atol, abs(t1 - t),
                                     max_step)
        nfev += k
    else:
        h_abs = p.first_step
    abs_y = np.abs(y)
    h, err = math.nan, 0.0
    while direction * (t1 - t) > 0:
        h_abs = min(h_abs, max_step)
        rejected = False
        while True:                                               # --- attempts ---
            if n_acc + n_rej >= p.max_steps:
                raise E.SolverError(f"max_steps={p.max_steps} exceeded", t=t, h=h, nfev=nfev,
                                    n_steps=n_acc + n_rej, status=E.STATUS_MAX_STEPS,
                                    n_accepted=n_acc, n_rejected=n_rej)
            h = ctrl.last_step(t, h_abs, t1, direction)
            t_new = t1 if abs(h) >= abs(t1 - t) else t + h
            if abs(h) < min_step(t, direction) and t_new != t1:
                bad = not math.isfinite(err)
                raise E.SolverError(
                    "step size underflow" + (" after non-finite values (blow-up?)" if bad else ""),
                    t=t, h=h, nfev=nfev, n_steps=n_acc + n_rej, n_accepted=n_acc,
                    n_rejected=n_rej,
                    status=E.STATUS_NONFINITE if bad else E.STATUS_STEP_UNDERFLOW)
            np.multiply(R0, h, out=R)
            R[:, 0] = 1.0
            # Hairer I, eq. (1.8): k_i = f(t + c_i h, y + h Σ_j a_ij k_j)
            for i in range(1, ns):
                K[i] = fun(t + c[i] * h, np.dot(rows[i], views[i]))
            y_new = np.dot(rows[ns], views[ns])                   # y + h Σ_i b_i k_i
            if fsal:
                K[ns] = fun(t_new, y_new)
            nfev += s - 1
            # error estimate h Σ e_i k_i in the norm of control.error_norm (inlined)
            abs_new = np.abs(y_new)
            scale = atol + rtol * np.maximum(abs_y, abs_new)
            x = np.dot(e, Ks) / scale
            if e3 is None:
                err = abs(h) * math.sqrt(abs(float(np.dot(x, x))) / n)
            else:                                                 # control.dop853_error_norm
                x3 = np.dot(e3, Ks) / scale
                s5, s3 = float(np.dot(x, x)), float(np.dot(x3, x3))
                err = 0.0 if s5 == 0 and s3 == 0 else abs(h) * s5 / math.sqrt((s5 + 0.01 * s3) * n)
            if ctrl.accept(err):
                record((t, h, err, True))
                break
            record((t, h, err, False))
            if not math.isfinite(err) and not np.all(np.isfinite(K[0])):
                raise E.SolverError("non-finite derivative", t=t, h=h, nfev=nfev,
                                    n_steps=n_acc + n_rej, status=E.STATUS_NONFINITE,
                                    n_accepted=n_acc, n_rejected=n_rej)
            n_rej += 1
            h_abs = abs(h) * ctrl.factor(err, q, rejected)
            rejected = True
        # --- accepted ---
        n_acc += 1
        if fsal:
            f_new = K[ns]
        else:
            K[s] = fun(t_new, y_new)           # (a list or a reused buffer becomes our copy)
            f_new = K[s]
            nfev += 1
        if not math.isfinite(float(np.add.reduce(abs_new))):      # overflow of the state
            raise E.SolverError("non-finite state", t=t_new, h=h, nfev=nfev,
                                n_steps=n_acc + n_rej, status=E.STATUS_NONFINITE,
                                n_accepted=n_acc, n_rejected=n_rej)
        C, t_end, y_end, m = None, t_new, y_new, 0
        if events is not None:                                    # refimpl.ode.events
            C, t_end, y_end, m = _after_step_events(events, out, tab, K, y, y_new, f_new, h, t, t_new, fun)
        nfev += m
        if simple_out:
            out.ts.append(t_end), out.ys.append(y_end)
        elif not dense_output and direction * (out.next_te - t_end) > 0:
            pass                                                  # no output time in this step
        else:
            if C is None and out.needs_dense(t_end):
                C, k = step_coefficients(tab, K, y, y_new, K[0], f_new, h, t, fun)
                nfev += k
            out.add_step(t, t_end, y_end, C, h)
        if out.status == 1:
            break
        h_abs = abs(h) * ctrl.factor(err, q, rejected)
        t, y, abs_y = t_new, y_new, abs_new
        YK[0], K[0] = y_new, f_new
    if not fsal and not np.all(np.isfinite(K[0])):
        raise E.SolverError("non-finite derivative at the end point", t=t, h=h, nfev=nfev,
                            n_steps=n_acc + n_rej, status=E.STATUS_NONFINITE,
                            n_accepted=n_acc, n_rejected=n_rej)
    out.counts = (nfev, n_acc, n_rej)
    return out


def _fixed_grid(p):
    """Step boundaries of a fixed-step run (see ``solve``'s ``t_eval``/``step_size``)."""
    t0, t1, d = p.t0, p.t1, p.direction
    if p.step_size is None:
        g = np.concatenate([[t0], p.t_eval, [t1]])
        return g[np.concatenate([[True], d * np.diff(g) > 0])]
    if t1 == t0:
        return np.array([t0])
    m = max(1, math.ceil(abs(t1 - t0) / p.step_size * (1 - 1e-12)))
    g = t0 + d * p.step_size * np.arange(m + 1.0)
    g[-1] = t1
    return g


def run_fixed(p, f0, dense_output, events=None):
    tab, fun = p.tab, p.fun
    s, fsal = tab.n_stages, tab.fsal
    YK, R0, ns = _stage_storage(tab, p.y0.size, p.y0.dtype)
    K = YK[1:]
    R = R0.copy()
    rows = [R[i, :i + 1] for i in range(ns + 1)]
    views = [YK[:i + 1] for i in range(ns + 1)]
    c = [float(v) for v in tab.c]
    grid = _fixed_grid(p)
    if len(grid) - 1 > p.max_steps:
        raise E.SolverError(f"max_steps={p.max_steps} exceeded by the fixed grid of "
                            f"{len(grid) - 1} steps", t=p.t0, h=math.nan, nfev=1, n_steps=0,
                            status=E.STATUS_MAX_STEPS)
    out = Output(p, dense_output, tab.dense)
    t, y, nfev = p.t0, p.y0, 1
    YK[0], K[0] = y, f0
    for k in range(1, len(grid)):
        t_new = float(grid[k])
        h = t_new - t
        np.multiply(R0, h, out=R)
        R[:, 0] = 1.0
        for i in range(1, ns):                     # Hairer I, eq. (1.8)
            K[i] = fun(t + c[i] * h, np.dot(rows[i], views[i]))
        y_new = np.dot(rows[ns], views[ns])
        K[ns] = fun(t_new, y_new)                  # FSAL stage, or f(t_new, y_new) (= K[s])
        f_new = K[ns]
        nfev += ns                                 # s - 1 stages (+ FSAL) or f(t_new, y_new)
        if not (np.all(np.isfinite(y_new)) and np.all(np.isfinite(f_new))):
            raise E.SolverError("non-finite state or derivative", t=t_new, h=h, nfev=nfev,
                                n_steps=k, status=E.STATUS_NONFINITE, n_accepted=k)
        C, t_end, y_end, m = None, t_new, y_new, 0
        if events is not None:                                    # refimpl.ode.events
            C, t_end, y_end, m = _after_step_events(events, out, tab, K, y, y_new, f_new, h, t, t_new, fun)
        nfev += m
        if C is None and out.needs_dense(t_end):
            C, m = step_coefficients(tab, K, y, y_new, K[0], f_new, h, t, fun)
            nfev += m
        out.add_step(t, t_end, y_end, C, h)
        out.history.append((t, h, math.nan, True))
        if out.status == 1:
            out.counts = (nfev, k, 0)
            return out
        t, y = t_new, y_new
        YK[0], K[0] = y_new, f_new
    n = len(grid) - 1
    out.counts = (nfev, n, 0)
    return out
