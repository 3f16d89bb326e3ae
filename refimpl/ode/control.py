"""Step-size control of the default controller, as small pieces on plain arrays.

Each piece is a pure function (or a field of ``DefaultController``) so that the
forward ``solve`` loop and the autograd-traced stepper of ``odeint`` choose
identical steps from the same tableau: call them on plain float64 arrays
(``autograd.tracer.getval`` first when tracing).

The default controller (``DefaultController``) and why
------------------------------------------------------
* Error norm: RMS of ``err / (atol + rtol * max(|y|, |y_new|))`` (Hairer I,
  eq. (4.11) with the RMS norm of II.4; scipy's choice). The RMS makes the
  tolerance independent of the dimension. dop853 uses Hairer's combined
  5th/3rd-order estimate instead (``dop853_error_norm``).
* Initial step: Hairer I, Sec. II.4, "Starting step size" (a)–(f), with RMS norms,
  capped by the interval length and ``max_step``; costs one extra RHS evaluation.
* Acceptance: ``err <= 1`` (Hairer's ``dopri5.f``; scipy uses ``err < 1``).
* Next step: ``h *= clip(safety * err**(-1/(q+1)), min_factor, max_factor)``,
  ``q = tableau.error_order``; ``err == 0`` gives ``max_factor``.
  - ``safety = 0.9``: the asymptotic formula aims at err = 1 exactly, so about
    half of all steps would be rejected; 0.9 aims at err ≈ 0.9**(q+1) (≈ 0.6 for
    q = 4) at the price of ~10 % more steps (Hairer I, eq. (4.13); dopri5.f, scipy).
  - ``max_factor = 10``: the error model is only local; larger jumps (e.g. after
    a smooth transient) too often overshoot and are rejected (dopri5.f: 10, scipy: 10).
  - ``min_factor = 0.2``: one rejection must not collapse the step (dopri5.f, scipy: 0.2).
  - After a rejection, the next accepted step may not grow (factor capped at 1):
    the error just proved the model optimistic (Hairer I, p. 168; scipy, dopri5.f).
  - Non-finite error norm (overflow in a stage): reject and shrink by ``min_factor``.
* Last step: if ``t + 1.01 h`` passes ``t_end`` the step is set to land exactly on
  ``t_end`` (stretched by at most 1 %, as in dopri5.f), so no sliver step is left.
  The stretched step may exceed ``max_step`` by up to 1 % (as in dopri5.f; scipy
  never exceeds ``max_step`` and takes the sliver instead).
* Step-size floor: ``|h| < 10 * ulp(t)`` (scipy's ``min_step``) is an underflow.

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving Ordinary Differential Equations I*,
  2nd ed. (1993), Sec. II.4 (automatic step size control, starting step size), II.10.
Hairer's ``dopri5.f`` / ``dop853.f``; scipy ``integrate/_ivp/common.py::select_initial_step``,
  ``rk.py::RungeKutta._step_impl``.
"""
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["error_scale", "rms_norm", "error_norm", "dop853_error_norm", "estimate_error_norm",
           "initial_step", "min_step", "DefaultController", "DEFAULT"]


def error_scale(y, y_new, rtol, atol):
    """``atol + rtol * max(|y|, |y_new|)``, shape of ``y`` (Hairer I, eq. (4.10))."""
    return atol + rtol * np.maximum(np.abs(y), np.abs(y_new))


def rms_norm(x):
    """Root mean square ``sqrt(mean(x**2))`` of an array of any shape."""
    x = np.ravel(x)
    return math.sqrt(float(np.dot(x, x).real) / x.size) if x.size else 0.0


def error_norm(err, y, y_new, rtol, atol):
    """RMS of ``err / (atol + rtol * max(|y|, |y_new|))`` (Hairer I, eq. (4.11), RMS form)."""
    return rms_norm(err / error_scale(y, y_new, rtol, atol))


def dop853_error_norm(err5, err3, h, scale):
    """Hairer's combined DOP853 error: ``|h| s5 / sqrt(n (s5 + 0.01 s3))``.

    ``err5 = Kᵀ e`` and ``err3 = Kᵀ e3`` *without* the factor ``h`` (shape (n,)),
    ``s5 = Σ (err5/scale)²``, ``s3 = Σ (err3/scale)²`` (``dop853.f``, lines "ERR = ...").
    """
    x5, x3 = err5 / scale, err3 / scale
    s5, s3 = float(np.dot(x5, x5)), float(np.dot(x3, x3))
    if s5 == 0.0 and s3 == 0.0:
        return 0.0
    return abs(h) * s5 / math.sqrt((s5 + 0.01 * s3) * x5.size)


def estimate_error_norm(tableau, K, h, y, y_new, rtol, atol):
    """Error norm of one step of ``tableau`` from its stages ``K`` (s, n) and step ``h``."""
    scale = error_scale(y, y_new, rtol, atol)
    if tableau.e3 is not None:
        return dop853_error_norm(K.T @ tableau.e, K.T @ tableau.e3, h, scale)
    return rms_norm((K.T @ tableau.e) * h / scale)


def initial_step(fun, t0, y0, f0, direction, error_order, rtol, atol, interval, max_step=np.inf):
    """Hairer's starting step size (Hairer I, Sec. II.4, (a)–(f)), RMS norms.

    Parameters
    ----------
    fun : callable ``fun(t, y) -> (n,)``; called once.
    y0, f0 : (n,) state and ``fun(t0, y0)``.
    direction : +1 or -1.
    error_order : ``q`` of the controlled estimate (exponent ``1/(q+1)``).
    interval : ``|t1 - t0|``; the result never exceeds it nor ``max_step``.

    Returns
    -------
    (h_abs, nfev) : the positive step and the evaluations spent (1, or 0 for empty y).
    """
    if y0.size == 0 or interval == 0.0:
        return float(min(interval, max_step)), 0
    scale = atol + np.abs(y0) * rtol
    d0, d1 = rms_norm(y0 / scale), rms_norm(f0 / scale)          # (a)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1     # (b)
    h0 = min(h0, interval)
    f1 = fun(t0 + direction * h0, y0 + (direction * h0) * f0)     # (c) explicit Euler step
    d2 = rms_norm((f1 - f0) / scale) / h0                          # (d)
    if max(d1, d2) <= 1e-15:                                       # (e)
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (error_order + 1))
    if not math.isfinite(h1):
        h1 = h0
    return float(min(100 * h0, h1, interval, max_step)), 1          # (f)


def min_step(t, direction=1.0):
    """Smallest allowed ``|h|`` at ``t``: ten ulps towards ``direction`` (scipy's rule)."""
    return 10.0 * abs(math.nextafter(t, direction * math.inf) - t)


@dataclass(frozen=True)
class DefaultController:
    """The default step-size controller (documented in the module docstring).

    A controller owns: the initial-step rule (``initial_step``), the acceptance
    test (``accept``), the next-step rule (``factor``), the last-step rule
    (``last_step``), the error norm (``error_norm``) and the counting of RHS
    evaluations (``initial_step`` returns its own count). Presets reproducing
    other libraries (issue 4) provide the same methods.
    """
    name: str = "default"
    safety: float = 0.9
    min_factor: float = 0.2
    max_factor: float = 10.0
    stretch: float = 1.01

    def accept(self, err):
        """Accept the step when ``err <= 1``."""
        return err <= 1.0

    def factor(self, err, error_order, rejected_before):
        """Multiplier of ``|h|`` after an attempt with error norm ``err``."""
        if not math.isfinite(err):
            return self.min_factor
        if err == 0.0:
            fac = self.max_factor
        else:
            fac = min(self.max_factor,
                      max(self.min_factor, self.safety * err ** (-1.0 / (error_order + 1))))
        if rejected_before and err <= 1.0:
            fac = min(1.0, fac)
        return fac

    def last_step(self, t, h_abs, t_end, direction):
        """Signed step from ``t``: lands on ``t_end`` if ``t + stretch * h`` would pass it."""
        if direction * (t + direction * self.stretch * h_abs - t_end) >= 0:
            return t_end - t
        return direction * h_abs

    def initial_step(self, fun, t0, y0, f0, direction, error_order, rtol, atol, interval,
                     max_step=np.inf):
        """See ``refimpl.ode.control.initial_step``; returns ``(h_abs, nfev)``."""
        return initial_step(fun, t0, y0, f0, direction, error_order, rtol, atol, interval,
                            max_step)

    def error_norm(self, tableau, K, h, y, y_new, rtol, atol):
        """See ``refimpl.ode.control.estimate_error_norm``."""
        return estimate_error_norm(tableau, K, h, y, y_new, rtol, atol)


#: the default controller instance
DEFAULT = DefaultController()
