"""``controller="scipy"``: ``scipy.integrate.solve_ivp``'s RK45 / RK23 / DOP853, step for step.

The loop below mirrors scipy's ``rk.py::RungeKutta._step_impl`` and ``rk_step`` and
``ivp.py::solve_ivp`` (scipy 1.17) with the same arithmetic order, so the step
sequence, the evaluation counts and the results are bit-identical (tests compare).

What scipy does (``ScipyController``), and where it differs from the default
-----------------------------------------------------------------------------
* Initial step: ``common.py::select_initial_step`` — Hairer II.4 with RMS norms,
  first guess capped at the interval, ``min(100 h0, h1, interval, max_step)``;
  1 evaluation (same rule as the default; scipy's own norm ``‖x‖₂/√n``).
* Step-size floor: ``10 |nextafter(t, direction·inf) - t|``; ``|h|`` clamped to
  ``[min_step, max_step]`` before each step.
* Last step: ``t_new = t + h`` clipped to ``t_bound`` (no stretching: a sliver
  step can remain, the default stretches by up to 1 %).
* Acceptance: ``err < 1`` strictly (default: ``<= 1``).
* Next step: ``h *= min(10, 0.9 err^(-1/(q+1)))`` (``10`` if ``err == 0``); after a
  rejection within the same step the growth factor is capped at 1; on rejection
  ``h *= max(0.2, 0.9 err^(-1/(q+1)))``.
* Evaluations: ``f(t + h, y_new)`` is computed on *every* attempt, rejected ones
  too: 6 per attempt for RK45, 3 for RK23, 12 for DOP853 (Hairer's DOP853 code:
  11 per rejected attempt); DOP853's dense output costs 3 more per step that needs it.
* Error norms: RMS of ``h Kᵀ E / scale`` with scipy's ``E = b_hat - b`` (our ``-e``);
  DOP853: ``|h| ‖e5‖² / sqrt(n (‖e5‖² + 0.01 ‖e3‖²))``.
* ``t_eval`` points equal to a mesh point are interpolated (``θ = 1``), not copied.
* Non-finite values: scipy loops forever on NaN at ``t0`` (its step is NaN); here
  ``solve`` raises before the loop, and a NaN error norm shrinks the step by 0.2 until
  the step-size floor raises ``SolverError``.

References
----------
scipy ``integrate/_ivp/rk.py`` (``rk_step``, ``RungeKutta._step_impl``, ``RkDenseOutput``,
``DOP853._estimate_error_norm``, ``Dop853DenseOutput``), ``common.py::select_initial_step``,
``ivp.py::solve_ivp``. Hairer, Nørsett & Wanner, *Solving ODEs I*, Sec. II.4.
"""
import numpy as np

from . import errors as E
from .stepper import Output

__all__ = ["ScipyController", "SCIPY", "ScipyRK", "run_scipy", "RK23_P"]

#: RK23's dense output (the cubic Hermite interpolant in stage form), scipy's ``RK23.P``
RK23_P = np.array([[1, -4 / 3, 5 / 9], [0, 1, -2 / 3], [0, 4 / 3, -8 / 9], [0, -1, 1]])


def scipy_norm(x):
    """scipy's RMS norm ``np.linalg.norm(x) / sqrt(x.size)`` (common.py::norm)."""
    return np.linalg.norm(x) / x.size ** 0.5


class ScipyController:
    """Step-control rules of ``scipy.integrate.solve_ivp`` explicit RK methods."""
    name = "scipy"
    SAFETY, MIN_FACTOR, MAX_FACTOR = 0.9, 0.2, 10.0

    def initial_step(self, fun, t0, y0, f0, direction, order, rtol, atol, t_bound, max_step):
        """common.py::select_initial_step; returns (h_abs, nfev)."""
        if y0.size == 0:
            return np.inf, 0
        interval_length = abs(t_bound - t0)
        if interval_length == 0.0:
            return 0.0, 0
        scale = atol + np.abs(y0) * rtol
        d0, d1 = scipy_norm(y0 / scale), scipy_norm(f0 / scale)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        h0 = min(h0, interval_length)
        y1 = y0 + h0 * direction * f0
        f1 = fun(t0 + h0 * direction, y1)
        d2 = scipy_norm((f1 - f0) / scale) / h0
        if d1 <= 1e-15 and d2 <= 1e-15:
            h1 = max(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** (1 / (order + 1))
        return min(100 * h0, h1, interval_length, max_step), 1

    @staticmethod
    def min_step(t, direction):
        return 10 * np.abs(np.nextafter(t, direction * np.inf) - t)

    @staticmethod
    def accept(err):
        return err < 1

    def factor(self, err, exponent, rejected_before):
        """Multiplier of ``|h|`` (``exponent = -1/(q+1)``)."""
        if err < 1:
            fac = self.MAX_FACTOR if err == 0 else min(self.MAX_FACTOR,
                                                       self.SAFETY * err ** exponent)
            return min(1, fac) if rejected_before else fac
        return max(self.MIN_FACTOR, self.SAFETY * err ** exponent)

    @staticmethod
    def last_step(t, h_abs, t_bound, direction):
        """Signed step: ``t + h`` clipped to ``t_bound`` (returns ``(h, t_new)``)."""
        t_new = t + h_abs * direction
        if direction * (t_new - t_bound) > 0:
            t_new = t_bound
        return t_new - t, t_new


SCIPY = ScipyController()


def _arrays(tab, n, dtype):
    """scipy's class attributes for the tableau: A, B, C, E (or E5, E3), P; and K."""
    ns = tab.n_stages - 1 if tab.fsal else tab.n_stages       # scipy's n_stages
    d = dict(ns=ns, A=np.ascontiguousarray(tab.A[:ns, :ns]), B=np.ascontiguousarray(tab.b[:ns]),
             C=np.ascontiguousarray(tab.c[:ns]))
    if tab.name == "dop853":
        d["E5"], d["E3"] = np.append(tab.e, 0.0), np.append(tab.e3, 0.0)
        d["K_ext"] = np.empty((16, n), dtype=dtype)
        d["K"] = d["K_ext"][:ns + 1]
    else:
        d["E"] = -tab.e                                        # scipy: E = b_hat - b
        d["P"] = tab.P if tab.dense == "poly" else RK23_P
        d["K"] = np.empty((ns + 1, n), dtype=dtype)
    return d


def _dense(tab, d, fun, t_old, t, y_old, y, f_old, f, h):
    """scipy's dense output of the last step: ("poly", Q) or ("dop853", F), and nfev."""
    K = d["K"]
    if tab.name != "dop853":
        return K.T.dot(d["P"]), 0                              # Q: (n, order + 1)
    from .tableau_dop853 import A_EXT, C_EXT, D
    K = d["K_ext"]
    for s in range(d["ns"] + 1, 16):                           # Dop853._dense_output_impl
        dy = np.dot(K[:s].T, A_EXT[s, :s]) * h
        K[s] = fun(t_old + C_EXT[s] * h, y_old + dy)
    F = np.empty((7, len(y_old)), dtype=y_old.dtype)
    delta_y = y - y_old
    F[0] = delta_y
    F[1] = h * f_old - delta_y
    F[2] = 2 * delta_y - h * (f + f_old)
    F[3:] = h * np.dot(D, K)
    return F, 3


def _dense_eval(tab, data, t_old, t, y_old, tt):
    """scipy's RkDenseOutput / Dop853DenseOutput at ``tt``: a scalar -> (n,), 1-D -> (n, m).

    Both branches in scipy's own arithmetic (the scalar one is what ``brentq`` calls when
    locating events, so event times match scipy's bit for bit). Times outside the step
    extrapolate the step's polynomial, as scipy's.
    """
    tt = np.asarray(tt)
    h = t - t_old
    x = (tt - t_old) / h
    if tab.name != "dop853":
        order = data.shape[1] - 1
        if tt.ndim == 0:
            p = np.cumprod(np.tile(x, order + 1))
        else:
            p = np.cumprod(np.tile(x, (order + 1, 1)), axis=0)
        y = h * np.dot(data, p)
        y += y_old[:, None] if y.ndim == 2 else y_old
        return y
    if tt.ndim == 0:
        y = np.zeros_like(y_old)
    else:
        x = x[:, None]
        y = np.zeros((len(x), len(y_old)), dtype=y_old.dtype)
    for i, f in enumerate(reversed(data)):
        y += f
        if i % 2 == 0:
            y *= x
        else:
            y *= 1 - x
    y += y_old
    return y.T


def _coefficients(tab, data, y_old, h):
    """Power-form (or CONTD8-form) coefficients for ``DenseSolution``."""
    if tab.name == "dop853":
        return np.vstack([y_old[None], data])
    return np.vstack([y_old[None], (h * data).T])


class ScipyRK:
    """One ``solve_ivp`` RK integration, advanced one accepted step per ``step()``.

    The state machine of scipy's ``RungeKutta`` (``rk.py``): ``__init__`` is its constructor
    (``f(t0, y0)`` given as ``f0``, initial step ``select_initial_step``), ``step()`` is
    ``_step_impl`` (attempts until one is accepted; raises ``SolverError`` on step-size
    underflow or more than ``max_steps`` attempts), ``dense()`` the last step's interpolant
    data (``_dense_output_impl``, cached per step; dop853's costs 3 evaluations).
    ``run_scipy`` (``solve(controller="scipy")``) and ``refimpl.ode.scipy_api`` (``solve_ivp``
    and the ``RK23``/``RK45``/``DOP853`` classes) both drive this one object.

    Attributes: ``t, y, f`` (current point), ``t_old, y_old, f_old`` (start of the last step,
    ``t_old`` None before the first), ``h`` (the last step, signed), ``h_abs`` (next step
    size), ``K`` (stages of the last attempt, scipy's layout), ``nfev, n_acc, n_rej``,
    ``history`` (t, h, error norm, accepted) per attempt.
    """

    def __init__(self, tab, fun, t0, y0, f0, t_bound, rtol, atol, max_step, first_step=None,
                 max_steps=None, ctrl=SCIPY):
        self.tab, self.fun, self.ctrl = tab, fun, ctrl
        self.t_bound = t_bound
        self.direction = np.sign(t_bound - t0) if t_bound != t0 else 1
        self.rtol, self.atol, self.max_step = rtol, atol, max_step
        self.max_steps = np.inf if max_steps is None else max_steps
        self.d = _arrays(tab, y0.size, y0.dtype)
        self.K = self.d["K"]
        self.dop853 = tab.name == "dop853"
        self.exponent = -1 / (tab.error_order + 1)
        self.t, self.y, self.f = t0, y0, f0
        self.t_old = self.y_old = self.f_old = None
        self.h = None
        self.nfev, self.n_acc, self.n_rej = 1, 0, 0
        self.history = []
        if first_step is None:
            self.h_abs, k = ctrl.initial_step(fun, t0, y0, f0, self.direction, tab.error_order,
                                              rtol, atol, t_bound, max_step)
            self.nfev += k
        else:
            self.h_abs = first_step
        self._data = None

    def error_norm(self, K, h, scale):
        """scipy's ``_estimate_error_norm`` of the stages ``K`` (RMS; DOP853's 5/3 blend)."""
        d = self.d
        if self.dop853:                                        # DOP853._estimate_error_norm
            err5 = np.dot(K.T, d["E5"]) / scale
            err3 = np.dot(K.T, d["E3"]) / scale
            e5, e3 = np.linalg.norm(err5) ** 2, np.linalg.norm(err3) ** 2
            if e5 == 0 and e3 == 0:
                return 0.0
            return np.abs(h) * e5 / np.sqrt((e5 + 0.01 * e3) * len(scale))
        return scipy_norm(np.dot(K.T, d["E"]) * h / scale)

    def step(self):
        """One accepted step (``RungeKutta._step_impl``)."""
        ctrl, fun, direction, t_bound = self.ctrl, self.fun, self.direction, self.t_bound
        d, K, t, y, f = self.d, self.K, self.t, self.y, self.f
        ns, A, B, C = d["ns"], d["A"], d["B"], d["C"]
        min_step = ctrl.min_step(t, direction)
        h_abs = self.h_abs
        if h_abs > self.max_step:
            h_abs = self.max_step
        elif h_abs < min_step:
            h_abs = min_step
        rejected, err = False, 0.0
        while True:
            n_steps = self.n_acc + self.n_rej
            if h_abs < min_step or not np.isfinite(h_abs):     # a NaN step never compares below
                bad = not (np.isfinite(err) and np.isfinite(h_abs))
                raise E.SolverError("step size underflow" + (" after non-finite values" if bad
                                                             else ""),
                                    t=t, h=h_abs * direction, nfev=self.nfev, n_steps=n_steps,
                                    n_accepted=self.n_acc, n_rejected=self.n_rej,
                                    status=E.STATUS_NONFINITE if bad else E.STATUS_STEP_UNDERFLOW)
            if n_steps >= self.max_steps:
                raise E.SolverError(f"max_steps={self.max_steps} exceeded", t=t,
                                    h=h_abs * direction, nfev=self.nfev, n_steps=n_steps,
                                    n_accepted=self.n_acc, n_rejected=self.n_rej,
                                    status=E.STATUS_MAX_STEPS)
            h, t_new = ctrl.last_step(t, h_abs, t_bound, direction)
            h_abs = np.abs(h)
            # rk.py::rk_step
            K[0] = f
            for s in range(1, ns):
                dy = np.dot(K[:s].T, A[s, :s]) * h
                K[s] = fun(t + C[s] * h, y + dy)
            y_new = y + h * np.dot(K[:-1].T, B)
            f_new = np.asarray(fun(t + h, y_new), dtype=y.dtype)   # as solve_ivp's wrapper
            K[-1] = f_new
            self.nfev += ns
            scale = self.atol + np.maximum(np.abs(y), np.abs(y_new)) * self.rtol
            err = self.error_norm(K, h, scale)
            self.history.append((t, h, float(err), bool(ctrl.accept(err))))
            h_abs *= ctrl.factor(err, self.exponent, rejected)
            if ctrl.accept(err):
                break
            self.n_rej += 1
            rejected = True
        self.n_acc += 1
        self.h_abs, self.h = h_abs, h
        self.t_old, self.y_old, self.f_old = t, y, f
        self.t, self.y, self.f = t_new, y_new, f_new
        self._data = None

    def dense(self):
        """Interpolant data of the last step (``Q`` or DOP853's ``F``), built once per step."""
        if self._data is None:
            self._data, k = _dense(self.tab, self.d, self.fun, self.t_old, self.t, self.y_old,
                                   self.y, self.f_old, self.f, self.h)
            self.nfev += k
        return self._data

    def sol(self):
        """The last step's interpolant ``sol(τ)`` (scalar -> (n,), 1-D -> (n, m)); its
        data are computed now, so later changes of the state do not affect it."""
        tab, data, t_old, t, y_old = self.tab, self.dense(), self.t_old, self.t, self.y_old
        return lambda tt: _dense_eval(tab, data, t_old, t, y_old, tt)


def run_scipy(p, f0, dense_output, ctrl=SCIPY, events=None):
    """solve_ivp's loop (``ivp.py``) over ``ScipyRK``: output points, ``t_eval``, dense
    output, and ``events`` (an ``EventTracker``; a terminal event ends the run at its root,
    ``out.status = 1``)."""
    tab, t_bound, direction = p.tab, p.t1, p.direction
    rk = ScipyRK(tab, p.fun, p.t0, p.y0, f0, t_bound, p.rtol, p.atol, p.max_step,
                 p.first_step, p.max_steps, ctrl)
    out = Output(p, dense_output, "dop853" if tab.name == "dop853" else "poly")
    out.history = rk.history
    out.status, out.trunc_end = 0, None
    te = p.t_eval
    if te is not None:                                         # ivp.py: scipy's own t_eval walk
        out.ts, out.ys = ([p.t0], [p.y0]) if p.t0 == t_bound else ([], [])
        te_s = te if direction > 0 else te[::-1]
        te_i = 0 if direction > 0 else len(te)
    while direction * (rk.t - t_bound) < 0:                    # OdeSolver.step
        rk.step()
        t_old, t, y, h = rk.t_old, rk.t, rk.y, rk.h
        if dense_output:
            data = rk.dense()
            out.seg_t.append(t)
            out.seg_c.append(_coefficients(tab, data, rk.y_old, h))
        sol = None
        if events is not None:
            t_stop, sol = events.after_step(t_old, t, y, rk.sol)
            if t_stop is not None:
                out.status = 1
                t, y = t_stop, sol(t_stop)
                if dense_output:                               # the step's polynomial
                    out.seg_t[-1], out.trunc_end = t, rk.t     # still spans [t_old, rk.t]
        if te is None:
            out.ts.append(t), out.ys.append(y)
        else:
            if direction > 0:                                  # ivp.py: the t_eval walk
                te_new = np.searchsorted(te_s, t, side="right")
                step = te_s[te_i:te_new]
            else:
                te_new = np.searchsorted(te_s, t, side="left")
                step = te_s[te_new:te_i][::-1]
            if step.size > 0:
                if sol is None:
                    sol = rk.sol()
                out.ts.extend(step), out.ys.extend(sol(step).T)
                te_i = te_new
        if out.status == 1:
            break
    out.counts = (rk.nfev, rk.n_acc, rk.n_rej)
    return out
