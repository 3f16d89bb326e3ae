"""Adams–Bashforth(–Moulton) on a fixed grid: torchdiffeq's ``explicit_adams`` / ``implicit_adams``.

    ys = adams_grid(fun, y0, grid, implicit, rtol, atol, perturb=False, callback=None,
                    max_order=12, max_iters=4)

Step k, from ``t_k`` to ``t_{k+1} = t_k + h``, with the history ``f_k, f_{k-1}, ...`` of
``f_j = f(t_j, y_j)`` (newest first, at most ``max_order - 1`` values) and
``q = min(len(history), max_order - 1)``:

* predictor, Adams–Bashforth of order q [Hairer I, Sec. III.1, eq. (1.5)]:
  ``y_P = y_k + h Σ_{j<q} β_{q,j} f_{k-j}``;
* corrector (``implicit_adams`` only), Adams–Moulton of order q + 1 [Hairer I, eq. (1.8)]
  by functional iteration from ``y_P``:
  ``y ← y_k + h α_{q,0} f(t_{k+1}, y) + h Σ_{j<q} α_{q,j+1} f_{k-j}``.

``β_{q,j} = ∫_0^1 ℓ_j(s) ds`` with ``ℓ_j`` the Lagrange basis on the nodes
``s = 0, -1, ..., -(q-1)`` (``ab_coefficients``), ``α`` the same on ``1, 0, ..., -(q-1)``
(``am_coefficients``), computed exactly in rationals.

torchdiffeq's conventions (``_impl/fixed_adams.py::AdamsBashforthMoulton``), kept here:

* start: while ``q < 3`` (the first two steps) the step is one of Kutta's 3/8 rule
  (torchdiffeq's ``rk4_alt_step_func``) instead, so the order climbs 3, 4, ..., 11 (AB) /
  4, ..., 12 (AM) as the history fills;
* the history gains ``f(t_k, y_k)`` at the start of every step (one evaluation per step,
  plus at most ``max_iters`` corrector evaluations) — not the corrector's last value;
* the corrector stops when ``max|Δ| / (atol + rtol max(|dy_old|, |dy|)) < 1`` on the
  increments ``dy = y - y_k`` of two successive iterates (torchdiffeq's ``_has_converged``);
  after ``max_iters`` iterations without convergence it warns and drops the oldest history
  value (so the order does not grow on the next step);
* the coefficients assume a uniform grid; on a non-uniform grid (output times of unequal
  spacing, a ``grid_constructor``) they are applied with the current ``h`` all the same, as
  in torchdiffeq (the order then drops to 1 at the changes of spacing);
* ``perturb``: as ``refimpl.ode.fixed_grid`` (evaluations at ``t_k`` / ``t_{k+1}`` moved one
  float inwards).

Autograd-traceable (plain arithmetic on the stored values; the corrector's stopping test
reads values only).

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, Solving ODEs I, 2nd ed. (1993), Sec. III.1.
torchdiffeq ``_impl/fixed_adams.py``, ``rk_common.py::rk4_alt_step_func``.
"""
import warnings
from fractions import Fraction
from functools import lru_cache

import numpy as np
from autograd.tracer import getval

from .fixed_grid import _perturbed

__all__ = ["adams_grid", "ab_coefficients", "am_coefficients", "ADAMS_METHODS", "MAX_ORDER"]

ADAMS_METHODS = ("explicit_adams", "implicit_adams")
MAX_ORDER = 12          # torchdiffeq's _MAX_ORDER (its coefficient tables stop there)
MIN_ORDER = 4           # torchdiffeq's _MIN_ORDER: AB of order >= MIN_ORDER - 1 = 3 is used


def _lagrange_integrals(nodes):
    """``[∫_0^1 ℓ_j(s) ds for j]``, ℓ_j the Lagrange basis polynomial of ``nodes`` (exact)."""
    out = []
    for j, xj in enumerate(nodes):
        poly = [Fraction(1)]                          # coefficients, lowest degree first
        for i, xi in enumerate(nodes):
            if i == j:
                continue
            # poly *= (s - xi) / (xj - xi)
            d = Fraction(1) / (xj - xi)
            new = [Fraction(0)] * (len(poly) + 1)
            for p, a in enumerate(poly):
                new[p] -= a * xi * d
                new[p + 1] += a * d
            poly = new
        out.append(sum(a / (p + 1) for p, a in enumerate(poly)))   # ∫_0^1 s^p = 1/(p+1)
    return out


@lru_cache(maxsize=None)
def ab_coefficients(q):
    """Adams–Bashforth weights ``β_{q,0..q-1}`` of ``f_k, ..., f_{k-q+1}`` (order q)."""
    return tuple(float(b) for b in _lagrange_integrals([Fraction(-j) for j in range(q)]))


@lru_cache(maxsize=None)
def am_coefficients(q):
    """Adams–Moulton weights ``α_{q,0..q}`` of ``f_{k+1}, f_k, ..., f_{k-q+1}`` (order q+1)."""
    return tuple(float(a) for a in _lagrange_integrals([Fraction(1 - j) for j in range(q + 1)]))


def _rk38_increment(f, ta, tb, y, h, k1):
    """Kutta's 3/8 rule's increment ``h (k1 + 3 k2 + 3 k3 + k4) / 8`` (rk4_alt_step_func)."""
    k2 = f(ta + h / 3, y + h * k1 / 3)
    k3 = f(ta + 2 * h / 3, y + h * (k2 - k1 / 3))
    k4 = f(tb, y + h * (k1 - k2 + k3))
    return (k1 + 3 * (k2 + k3) + k4) * h * 0.125


def _converged(dy_old, dy, rtol, atol):
    a, b = np.asarray(getval(dy_old)), np.asarray(getval(dy))
    ratio = np.abs(a - b) / (atol + rtol * np.maximum(np.abs(a), np.abs(b)))
    return float(np.max(ratio)) < 1 if ratio.size else True


def adams_grid(fun, y0, grid, implicit, rtol, atol, perturb=False, callback=None,
               max_order=MAX_ORDER, max_iters=4):
    """One Adams step per grid interval; y at every grid point (module docstring).

    fun(t, y) -> (n,); y0: (n,); grid: (m+1,) strictly monotonic; rtol, atol: the corrector's
    stopping tolerances (scalars or (n,)); callback(t_k, y_k, h) before each step."""
    max_order = int(max_order)
    if not 2 <= max_order <= MAX_ORDER:
        raise ValueError(f"options: max_order must be in 2..{MAX_ORDER}, got {max_order}")
    if max_order < MIN_ORDER:
        warnings.warn(f"options: max_order is below {MIN_ORDER}, so the solver reduces to "
                      "rk4 (Kutta's 3/8 rule)", UserWarning, stacklevel=3)
    max_iters = int(max_iters)
    if max_iters < 1:
        raise ValueError(f"options: max_iters must be >= 1, got {max_iters}")
    gv = np.asarray(getval(grid), dtype=float)
    y, ys, hist = y0, [y0], []                     # hist: f_k, f_{k-1}, ... (newest first)
    for k in range(len(gv) - 1):
        ta, tb = grid[k], grid[k + 1]
        h = tb - ta
        f = _perturbed(fun, gv[k], gv[k + 1]) if perturb else fun
        if callback is not None:
            callback(ta, y, h)
        hist.insert(0, f(ta, y))
        del hist[max_order - 1:]                   # torchdiffeq's deque(maxlen=max_order-1)
        q = min(len(hist), max_order - 1)
        if q < MIN_ORDER - 1:                      # start: Kutta's 3/8 rule
            y = y + _rk38_increment(f, ta, tb, y, h, hist[0])
            ys.append(y)
            continue
        # [Hairer I, eq. (1.5)] Adams–Bashforth predictor of order q
        dy = h * sum(b * fj for b, fj in zip(ab_coefficients(q), hist))
        if implicit:
            # [Hairer I, eq. (1.8)] Adams–Moulton corrector of order q + 1
            alpha = am_coefficients(q)
            delta = h * sum(a * fj for a, fj in zip(alpha[1:], hist))
            converged = False
            for _ in range(max_iters):
                dy_old = dy
                dy = h * alpha[0] * f(tb, y + dy) + delta
                converged = _converged(dy_old, dy, rtol, atol)
                if converged:
                    break
            if not converged:
                warnings.warn("implicit_adams: the corrector's functional iteration did not "
                              f"converge in {max_iters} iterations at t = {gv[k]}; the "
                              "solution may be inaccurate", RuntimeWarning, stacklevel=3)
                hist.pop()                         # torchdiffeq drops the oldest value
        y = y + dy
        ys.append(y)
    return ys
