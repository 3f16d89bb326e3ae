"""torchdiffeq's step-size rule for ``torchdiffeq_odeint``: ``safety``, ``ifactor``, ``dfactor``,
and its error ratio in the user's view of the state (tuples, complex numbers, a user norm).

torchdiffeq's adaptive solvers (``rk_common.py::RKAdaptiveStepsizeODESolver``) take the options
``safety=0.9``, ``ifactor=10.0``, ``dfactor=0.2`` and choose the next step with
``misc.py::_optimal_step_size``::

    err == 0:  dt_next = dt * ifactor
    otherwise: dt_next = dt * min(ifactor, max(safety / err**(1/order), dfac)),
               dfac = 1 if err < 1 (an accepted step never shrinks the next one) else dfactor

with ``order`` the method's order (``error_order + 1`` of refimpl's tableaus: 5 for dopri5,
3 for bosh3, 2 for adaptive_heun / fehlberg2, 8 for dopri8). A step is accepted when
``err <= 1``; there is no growth cap after a rejection (refimpl's default controller has one).
``TorchdiffeqRule`` is that rule as a controller of the engine's loops (``traced.integrate``,
and ``solve`` for the event search); the initial step and the last-step stretch stay
``refimpl.ode.control.DefaultController``'s, with the norm below.

The error ratio (``misc.py::_compute_error_ratio``) is ``norm(err / (atol + rtol *
max(|y0|, |y1|)))`` with ``|.|`` the modulus and ``norm`` the user's (default RMS
``sqrt(mean |x|^2)``, or the mixed norm for tuples) applied to the state as the user sees it:
``ratio`` (built by ``torchdiffeq_api``) maps the engine's flat real vectors to that view —
complex states travel through the engine as (real parts, imaginary parts).

References
----------
R. T. Q. Chen, torchdiffeq 0.2.5, ``_impl/misc.py`` (``_optimal_step_size``,
``_compute_error_ratio``, ``_select_initial_step``, ``_rms_norm``), ``_impl/rk_common.py``.
"""
import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .control import DefaultController, initial_step

__all__ = ["TorchdiffeqRule", "check_factors", "optimal_factor"]

FACTOR_OPTIONS = ("safety", "ifactor", "dfactor")
FACTOR_DEFAULTS = {"safety": 0.9, "ifactor": 10.0, "dfactor": 0.2}


def optimal_factor(err, order, safety, ifactor, dfactor):
    """torchdiffeq's ``_optimal_step_size`` as a multiplier of the last step."""
    if err == 0:
        return ifactor
    if not math.isfinite(err):                   # torch: safety / inf = 0 -> dfactor
        return min(ifactor, dfactor)
    if err < 1:
        dfactor = 1.0
    return min(ifactor, max(safety / err ** (1.0 / order), dfactor))


def check_factors(options):
    """``{safety, ifactor, dfactor}`` from torchdiffeq's ``options`` (defaults filled in);
    each a finite number > 0 (ValueError naming it)."""
    out = {}
    for name, default in FACTOR_DEFAULTS.items():
        v = options.get(name, default)
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"options: {name} must be a number, got {v!r}") from None
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"options: {name} must be finite and > 0, got {v!r}")
        out[name] = v
    return out


@dataclass(frozen=True)
class TorchdiffeqRule(DefaultController):
    """``DefaultController`` with torchdiffeq's next-step rule (``optimal_factor``:
    ``safety``, ``max_factor`` = ifactor, ``min_factor`` = dfactor) and, when ``ratio`` is
    given, torchdiffeq's error ratio ``ratio(v, y, y_new)`` = norm of ``v / (atol + rtol
    max(|y|, |y_new|))`` in the user's view (flat engine vectors in; the tolerances are
    ``ratio``'s own) — used for the step error and the initial step's norms."""
    name: str = "torchdiffeq_rule"
    ratio: Optional[Callable] = None

    def factor(self, err, error_order, rejected_before):
        return optimal_factor(err, error_order + 1, self.safety, self.max_factor,
                              self.min_factor)

    def error_norm(self, tableau, K, h, y, y_new, rtol, atol):
        if self.ratio is None or tableau.e3 is not None:
            return super().error_norm(tableau, K, h, y, y_new, rtol, atol)
        return float(self.ratio((K.T @ tableau.e) * h, y, y_new))

    def initial_step(self, fun, t0, y0, f0, direction, error_order, rtol, atol, interval,
                     max_step=np.inf):
        """``refimpl.ode.control.initial_step`` (Hairer II.4, capped by the interval) with
        torchdiffeq's norm (``_select_initial_step``: ``norm(y0 / scale)``, ``scale = atol +
        rtol |y0|``)."""
        if self.ratio is None:
            return initial_step(fun, t0, y0, f0, direction, error_order, rtol, atol, interval,
                                max_step)
        if y0.size == 0 or interval == 0.0:
            return float(min(interval, max_step)), 0
        norm = lambda v: float(self.ratio(v, y0, y0))                    # noqa: E731
        d0, d1 = norm(y0), norm(f0)
        h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
        h0 = min(h0, interval)
        f1 = fun(t0 + direction * h0, y0 + (direction * h0) * f0)
        d2 = norm(f1 - f0) / h0
        if max(d1, d2) <= 1e-15:
            h1 = max(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** (1.0 / (error_order + 1))
        if not math.isfinite(h1):
            h1 = h0
        return float(min(100 * h0, h1, interval, max_step)), 1
