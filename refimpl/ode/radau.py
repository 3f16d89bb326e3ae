"""Adaptive Radau IIA of order 5 for stiff problems: scipy's ``Radau`` step by step.

    r = radau(fun, (t0, t1), y0, rtol=1e-3, atol=1e-6, t_eval=None, jac=None)
    r.t, r.y (n, m), r.nfev, r.njev, r.nlu, r.status, r.message, r.sol(t)

One step from ``(t, y)`` with ``h``: the stage increments ``Z_i = Y_i - y`` (3, n) solve the
collocation system [Hairer II, Sec. IV.8, eq. (8.2)]

    Z = h (A ⊗ I) F(Z),    F_i = f(t + c_i h, y + Z_i),    y_new = y + Z_3,

``A`` the Radau IIA 5 tableau (``refimpl.ode.implicit``, Hairer II Table 5.6). Simplified
Newton [eq. (8.4)]: ``(I - h A ⊗ J) ΔZ = h (A ⊗ I) F(Z) - Z`` with ``J`` a Jacobian held
over many steps, written here as one (3n, 3n) real system (scipy and Hairer's ``radau5.f``
diagonalise ``A⁻¹`` into a real and a complex n×n system instead: the same iterates). The
stopping rule is scipy's (the rate ``θ = ‖ΔW_k‖/‖ΔW_{k-1}‖``, Hairer eq. (8.10)-(8.11)) on the
increments in scipy's transformed variables ``ΔW = T⁻¹ ΔZ``, so both codes stop alike; tol
``max(10 eps / rtol, min(0.03, sqrt(rtol)))``, at most 6 iterations.

Error estimate [Hairer II, eq. (8.19)-(8.20)]: ``err = (γ/h I - J)⁻¹ (f(t, y) + (e · Z)/h)``,
``γ`` the real eigenvalue of ``A⁻¹``, ``e = (-13 - 7√6, -13 + 7√6, -1)/3``; after a rejection
an error above 1 is refined once through ``f(t, y + err)`` (eq. (8.21)). RMS norm of
``err / (atol + rtol max(|y|, |y_new|))``.

Step control (scipy ``radau.py``): Gustafsson's predictive controller ``factor =
min(1, h/h_old (err_old/err)^{1/4}) err^{-1/4}`` with safety ``0.9 (2·6 + 1)/(2·6 + n_iter)``,
clipped to [0.2, 10]; a non-converging Newton iteration first refreshes ``J``, then halves h;
``J`` is refreshed after a step whose Newton iteration took > 2 iterations at rate > 1e-3; the
factorisation is kept when the step would grow by less than 1.2. Starting step: scipy's
``select_initial_step`` (error order 3). Dense output: the collocation polynomial
``y_old + Q [x, x², x³]``, ``Q = Zᵀ P``, which also predicts the next step's ``Z``.

Counts as scipy's: ``nfev`` (f evaluations, Jacobians excluded), ``njev``, ``nlu`` (scipy
counts its real and its complex factorisation: 2 per Jacobian/step-size change; here one
(3n, 3n) factorisation plus the n×n one of the error filter, also counted as 2).
``jac``: a callable ``jac(t, y) -> (n, n)``, or None for autograd's Jacobian of ``fun``
(forward differences when ``fun`` is not traceable, ``refimpl.ode.implicit._Jacobian``).

References
----------
E. Hairer, G. Wanner, Solving ODEs II, 2nd ed. (1996), Sec. IV.8 (and ``radau5.f``).
scipy ``integrate/_ivp/radau.py`` (1.17): the constants ``T``/``TI`` (its normalisation of the
eigenvectors of ``A⁻¹``, which sets the Newton norm), ``P``, the control logic.
"""
import math
from types import SimpleNamespace

import numpy as np
from scipy.linalg import lu_factor, lu_solve

from .implicit import IMPLICIT_TABLEAUS, _Jacobian
from .scipy_classes import select_initial_step

__all__ = ["Radau5", "radau"]

_TAB = IMPLICIT_TABLEAUS["radauIIA5"]
A, C = _TAB.A, _TAB.c                                              # (3, 3), (3,)
S6 = math.sqrt(6.0)
E = np.array([-13 - 7 * S6, -13 + 7 * S6, -1]) / 3                # error weights (8.20)
GAMMA = 3 + 3 ** (2 / 3) - 3 ** (1 / 3)                           # real eigenvalue of A⁻¹
TI = np.array([[4.17871859155190428, 0.32768282076106237, 0.52337644549944951],
               [-4.17871859155190428, -0.32768282076106237, 0.47662355450055044],
               [0.50287263494578682, -2.57192694985560522, 0.59603920482822492]])
P = np.array([[13 / 3 + 7 * S6 / 3, -23 / 3 - 22 * S6 / 3, 10 / 3 + 5 * S6],
              [13 / 3 - 7 * S6 / 3, -23 / 3 + 22 * S6 / 3, 10 / 3 - 5 * S6],
              [1 / 3, -8 / 3, 10 / 3]])                            # dense output (collocation)
NEWTON_MAXITER, MIN_FACTOR, MAX_FACTOR = 6, 0.2, 10.0
EPS = np.finfo(float).eps


def _rms(x):
    return float(np.linalg.norm(x) / math.sqrt(x.size))


def predict_factor(h_abs, h_abs_old, err, err_old):
    """Gustafsson's predictive step factor [Hairer II, eq. (8.25)] (scipy's form)."""
    if err_old is None or h_abs_old is None or err == 0:
        mult = 1.0
    else:
        mult = h_abs / h_abs_old * (err_old / err) ** 0.25
    with np.errstate(divide="ignore"):
        return min(1.0, mult) * np.float64(err) ** -0.25       # err = 0: inf (then capped)


class _Collocation:
    """The collocation polynomial of one step: y_old + Q [x, x², x³], x = (t - t_old)/h."""

    def __init__(self, t_old, h, y_old, Z):
        self.t_old, self.h, self.y_old, self.Q = t_old, h, y_old, Z.T @ P     # Q: (n, 3)

    def __call__(self, t):
        x = (np.atleast_1d(np.asarray(t, dtype=float)) - self.t_old) / self.h    # (m,)
        y = self.y_old[:, None] + self.Q @ np.stack([x, x ** 2, x ** 3])         # (n, m)
        return y[:, 0] if np.ndim(t) == 0 else y


class _NonFinite(Exception):
    """f or the Jacobian turned NaN/inf: the solve stops (``Radau5.step``)."""


class Radau5:
    """scipy's step-object protocol: ``step()`` -> message or None; ``t``, ``y``, ``status``
    ("running" / "finished" / "failed"), ``nfev``, ``njev``, ``nlu``, ``sol`` (the last
    step's polynomial)."""

    def __init__(self, fun, t0, y0, t_bound, rtol=1e-3, atol=1e-6, first_step=None,
                 max_step=np.inf, jac=None):
        self.y = np.asarray(y0, dtype=float).ravel()
        self.n = self.y.size
        self.t, self.t_bound = float(t0), float(t_bound)
        self.direction = 1.0 if t_bound >= t0 else -1.0
        self.rtol, self.atol = max(float(rtol), 100 * EPS), atol
        self.max_step = max_step
        self.nfev = self.njev = self.nlu = 0
        self._fun = fun
        self.f = self.fun(self.t, self.y)
        self._jac = jac if jac is not None else _Jacobian(fun)
        self.status, self.sol = "running", None
        if first_step is None:
            self.h_abs = select_initial_step(self.fun, self.t, self.y, self.t_bound, max_step,
                                             self.f, self.direction, 3, self.rtol, self.atol)
        else:
            self.h_abs = float(first_step)
        self.h_abs_old = self.err_old = None
        self.newton_tol = max(10 * EPS / self.rtol, min(0.03, self.rtol ** 0.5))
        self.J = self.jac(self.t, self.y) if self.n else np.zeros((0, 0))
        self.current_jac, self.jac_const, self.LU, self.t_old = True, False, None, None

    def fun(self, t, y):
        self.nfev += 1
        return np.asarray(self._fun(t, y), dtype=float)

    def jac(self, t, y):
        self.njev += 1
        return np.asarray(self._jac(t, y), dtype=float).reshape(self.n, self.n)

    def _factor(self, h):
        """LU of I - h A⊗J (Newton) and of γ/h I - J (error filter)."""
        if not np.all(np.isfinite(self.J)):
            raise _NonFinite("the Jacobian")
        self.nlu += 2
        n = self.n
        return (lu_factor(np.eye(3 * n) - h * np.kron(A, self.J)),
                lu_factor(GAMMA / h * np.eye(n) - self.J))

    def _newton(self, t, y, h, Z, scale, LU):
        """Simplified Newton on Z = h (A⊗I) F(Z): (converged, iterations, Z, rate)."""
        dW_old, rate = None, None
        for k in range(NEWTON_MAXITER):
            F = np.stack([self.fun(t + C[i] * h, y + Z[i]) for i in range(3)])   # (3, n)
            if not np.all(np.isfinite(F)):
                return False, k + 1, Z, rate
            dZ = lu_solve(LU, (h * (A @ F) - Z).ravel()).reshape(3, self.n)
            dW = _rms((TI @ dZ) / scale)                                   # scipy's norm
            if dW_old is not None:
                rate = dW / dW_old
            if rate is not None and (rate >= 1 or
                                     rate ** (NEWTON_MAXITER - k) / (1 - rate) * dW
                                     > self.newton_tol):
                return False, k + 1, Z, rate
            Z = Z + dZ
            if dW == 0 or rate is not None and rate / (1 - rate) * dW < self.newton_tol:
                return True, k + 1, Z, rate
            dW_old = dW
        return False, NEWTON_MAXITER, Z, rate

    def step(self):
        """One accepted step (scipy ``Radau._step_impl``); returns None or a failure message.
        A non-finite f(t, y) or Jacobian at the step's start stops the solve with a message
        naming it (scipy: lu_factor's ValueError escapes)."""
        if self.status != "running":
            raise RuntimeError("Attempt to step on a failed or finished solver.")
        if self.n == 0 or self.t == self.t_bound:           # scipy's OdeSolver.step
            self.t_old, self.t, self.status = self.t, self.t_bound, "finished"
            return None
        try:
            if not np.all(np.isfinite(self.f)):
                raise _NonFinite("the right-hand side")
            return self._step()
        except _NonFinite as e:
            self.status = "failed"
            return (f"The right-hand side returned non-finite values near t = {self.t!r} "
                    f"({e.args[0]} at the step's start is NaN/inf).")

    def _step(self):
        t, y, f = self.t, self.y, self.f
        min_step = 10 * abs(np.nextafter(t, self.direction * np.inf) - t)
        h_abs, h_abs_old, err_old = self.h_abs, self.h_abs_old, self.err_old
        if h_abs > self.max_step:
            h_abs, h_abs_old, err_old = self.max_step, None, None
        elif h_abs < min_step:
            h_abs, h_abs_old, err_old = min_step, None, None
        LU, rejected = self.LU, False
        while True:
            if h_abs < min_step:
                self.status = "failed"
                return "Required step size is less than spacing between numbers."
            t_new = t + h_abs * self.direction
            if self.direction * (t_new - self.t_bound) > 0:
                t_new = self.t_bound
            h = t_new - t
            h_abs = abs(h)
            Z0 = np.zeros((3, self.n)) if self.sol is None else self.sol(t + h * C).T - y
            scale = self.atol + np.abs(y) * self.rtol
            while True:                                 # Newton; a fresh J once if needed
                if LU is None:
                    LU = self._factor(h)
                converged, n_iter, Z, rate = self._newton(t, y, h, Z0, scale, LU[0])
                if converged or self.current_jac or self.jac_const:
                    break
                self.J, self.current_jac, LU = self.jac(t, y), True, None
            if not converged:
                h_abs *= 0.5
                LU = None
                continue
            y_new = y + Z[-1]
            ZE = Z.T @ E / h
            error = lu_solve(LU[1], f + ZE)                                 # (8.20)
            scale = self.atol + np.maximum(np.abs(y), np.abs(y_new)) * self.rtol
            err = _rms(error / scale)
            safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
            if rejected and err > 1:                                        # (8.21)
                error = lu_solve(LU[1], self.fun(t, y + error) + ZE)
                err = _rms(error / scale)
            if err <= 1:
                break
            h_abs *= max(MIN_FACTOR, safety * predict_factor(h_abs, h_abs_old, err, err_old))
            LU, rejected = None, True
        recompute_jac = not self.jac_const and n_iter > 2 and rate > 1e-3
        factor = min(MAX_FACTOR, safety * predict_factor(h_abs, h_abs_old, err, err_old))
        if not recompute_jac and factor < 1.2:
            factor = 1.0
        else:
            LU = None
        f_new = self.fun(t_new, y_new)
        if recompute_jac:
            self.J, self.current_jac = self.jac(t_new, y_new), True
        elif not self.jac_const:
            self.current_jac = False
        self.h_abs_old, self.err_old = self.h_abs, err
        self.h_abs = h_abs * factor
        self.t_old, self.y_old = t, y
        self.t, self.y, self.f, self.LU = t_new, y_new, f_new, LU
        self.sol = _Collocation(t, h, y, Z)
        if self.direction * (self.t - self.t_bound) >= 0:
            self.status = "finished"
        return None


def radau(fun, t_span, y0, rtol=1e-3, atol=1e-6, t_eval=None, first_step=None,
          max_step=np.inf, jac=None, max_steps=100_000):
    """Integrate with ``Radau5`` over ``t_span``; outputs at every step or at ``t_eval``
    (from the collocation polynomials). Returns a namespace ``t, y (n, m), nfev, njev, nlu,
    n_steps, status (0 ok, -1 failed), message``."""
    t0, t1 = map(float, t_span)
    s = Radau5(fun, t0, y0, t1, rtol, atol, first_step, max_step, jac)
    ts, ys = ([t0], [s.y]) if t_eval is None else ([], [])
    te = None if t_eval is None else np.asarray(t_eval, dtype=float)
    i, msg, steps = 0, None, 0
    while s.status == "running":
        msg = s.step()
        steps += 1
        if s.status == "failed" or steps > max_steps:
            s.status, msg = "failed", msg or f"max_steps={max_steps} exceeded"
            break
        if te is None:
            ts.append(s.t), ys.append(s.y)
            continue
        j = i
        while j < te.size and s.direction * (te[j] - s.t) <= 0:
            j += 1
        if j > i:
            ts.extend(te[i:j]), ys.extend(s.sol(te[i:j]).T)
            i = j
    return SimpleNamespace(t=np.array(ts), y=np.array(ys).T, nfev=s.nfev, njev=s.njev,
                           nlu=s.nlu, n_steps=steps, status=-1 if s.status == "failed" else 0,
                           message=msg or "The solver successfully reached the end of the "
                                          "integration interval.")
