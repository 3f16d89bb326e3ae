"""Implicit Runge–Kutta methods on a fixed grid: torchdiffeq's implicit family.

    K_i = f(t + c_i h, y + h Σ_j a_ij K_j),   i = 1..s        (the stage equations)
    y_new = y + h Σ_i b_i K_i

solved for K: (s, n) by Newton's method on R(K) = K - F(K), whose Jacobian has the blocks

    ∂R_i/∂K_j = δ_ij I - h a_ij J_i,   J_i = ∂f/∂y at stage i     ((s n, s n) in all)

with J_i the autograd Jacobian of ``fun`` (a finite-difference Jacobian, forward
differences with step sqrt(eps)·max(1, |y_k|), when ``fun`` cannot be traced by autograd —
e.g. a torch module behind a NumPy shim). Iteration stops when the Newton update
satisfies ||ΔK||_∞ <= newton_tol · (1 + ||K||_∞) (default 1e-12 in float64, 1e-6 in
float32; never below 10 eps of the dtype ``fun`` returns; at most ``max_iters`` = 100 iterations, torchdiffeq's default; a RuntimeWarning
when it does not converge, as torchdiffeq warns). Diagonally implicit tableaus (sdirk2,
trbdf2) go through the same full system: its solution is the one stage-by-stage Newton
finds (torchdiffeq solves them stage by stage with Broyden's method).

Differentiable: when y, t, h or ``fun``'s output is an autograd box, the converged K* is
followed by one Newton step taken with traced values, K = K* - Jr⁻¹ R(K*) with the
Jacobian Jr held constant: its value is K* (R(K*) ≈ 0) and its derivative is the
implicit-function-theorem derivative dK/dθ = -Jr⁻¹ ∂R/∂θ, exact at convergence.

Tableaus (c, A, b): implicit Euler (Radau IIA 1), implicit midpoint (Gauss 2), trapezoid
(Lobatto IIIA 2), Gauss–Legendre 4 and 6, Radau IIA 3 and 5, SDIRK2 (Alexander's
L-stable 2-stage, γ = 1 - √2/2) and TR-BDF2 (as an ESDIRK with c_2 = 2γ). The Gauss 4
nodes here are 1/2 ∓ √3/6; torchdiffeq 657943a writes 1/2 - √3/6 for both nodes (a typo
that only matters for non-autonomous f), see numerics/DIFFERENCES.md.

References
----------
E. Hairer, G. Wanner, Solving ODEs II, 2nd ed. (1996), Sec. IV.5 (Tables 5.1, 5.2 Gauss;
  5.5, 5.6 Radau IIA; Lobatto IIIA), IV.6 (SDIRK), IV.8 (Newton on the stage equations).
R. Alexander, "Diagonally implicit Runge–Kutta methods for stiff ODEs", SIAM J. Numer.
  Anal. 14 (1977) (SDIRK2). R. E. Bank et al., "Transient simulation of silicon devices and
  circuits", IEEE Trans. CAD 4 (1985) (TR-BDF2).
torchdiffeq ``_impl/fixed_grid_implicit.py``, ``rk_common.py::FixedGridFIRKODESolver``.
"""
import math
import warnings
from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np
from autograd import jacobian
from autograd.tracer import getval, isbox

__all__ = ["ImplicitTableau", "IMPLICIT_TABLEAUS", "implicit_step", "get_implicit"]

_s2, _s3, _s6, _s15 = math.sqrt(2), math.sqrt(3), math.sqrt(6), math.sqrt(15)


@dataclass(frozen=True)
class ImplicitTableau:
    """An implicit RK method: c (s,), A (s, s), b (s,), its classical order."""
    name: str
    c: np.ndarray
    A: np.ndarray
    b: np.ndarray
    order: int

    def __post_init__(self):
        for k in ("c", "A", "b"):
            object.__setattr__(self, k, np.asarray(getattr(self, k), dtype=float))
        s = self.b.size
        if self.A.shape != (s, s) or self.c.shape != (s,):
            raise ValueError(f"{self.name}: inconsistent tableau shapes")
        if not np.allclose(self.A.sum(axis=1), self.c, atol=1e-14):
            raise ValueError(f"{self.name}: rows of A must sum to c")


def _tab(name, c, A, b, order):
    return ImplicitTableau(name, c, A, b, order)


_g = 1 - _s2 / 2                     # SDIRK2's γ (torchdiffeq: (2 - √2)/2, the same number)
_w = _s2 / 4                         # TR-BDF2's trapezoid/BDF weights
IMPLICIT_TABLEAUS = {t.name: t for t in [
    # [Hairer II, Sec. IV.3] implicit Euler = Radau IIA with s = 1
    _tab("implicit_euler", [1.0], [[1.0]], [1.0], 1),
    # [Hairer II, Sec. IV.5] Gauss with s = 1 (the implicit midpoint rule)
    _tab("implicit_midpoint", [0.5], [[0.5]], [1.0], 2),
    # [Hairer II, Sec. IV.5] Lobatto IIIA with s = 2 (the trapezoidal rule)
    _tab("trapezoid", [0.0, 1.0], [[0, 0], [0.5, 0.5]], [0.5, 0.5], 2),
    # [Hairer II, Table 5.1] Gauss, order 4
    _tab("gl4", [0.5 - _s3 / 6, 0.5 + _s3 / 6],
         [[0.25, 0.25 - _s3 / 6], [0.25 + _s3 / 6, 0.25]], [0.5, 0.5], 4),
    # [Hairer II, Table 5.2] Gauss, order 6
    _tab("gl6", [0.5 - _s15 / 10, 0.5, 0.5 + _s15 / 10],
         [[5 / 36, 2 / 9 - _s15 / 15, 5 / 36 - _s15 / 30],
          [5 / 36 + _s15 / 24, 2 / 9, 5 / 36 - _s15 / 24],
          [5 / 36 + _s15 / 30, 2 / 9 + _s15 / 15, 5 / 36]], [5 / 18, 4 / 9, 5 / 18], 6),
    # [Hairer II, Table 5.5] Radau IIA, order 3
    _tab("radauIIA3", [1 / 3, 1.0], [[5 / 12, -1 / 12], [0.75, 0.25]], [0.75, 0.25], 3),
    # [Hairer II, Table 5.6] Radau IIA, order 5
    _tab("radauIIA5", [0.4 - _s6 / 10, 0.4 + _s6 / 10, 1.0],
         [[11 / 45 - 7 * _s6 / 360, 37 / 225 - 169 * _s6 / 1800, -2 / 225 + _s6 / 75],
          [37 / 225 + 169 * _s6 / 1800, 11 / 45 + 7 * _s6 / 360, -2 / 225 - _s6 / 75],
          [4 / 9 - _s6 / 36, 4 / 9 + _s6 / 36, 1 / 9]], [4 / 9 - _s6 / 36, 4 / 9 + _s6 / 36, 1 / 9],
         5),
    # [Alexander 1977] SDIRK, 2 stages, L-stable, order 2
    _tab("sdirk2", [_g, 1.0], [[_g, 0], [1 - _g, _g]], [1 - _g, _g], 2),
    # [Bank et al. 1985] TR-BDF2: trapezoid to 2γ, then BDF2 (ESDIRK form), order 2
    _tab("trbdf2", [0.0, 2 * _g, 1.0], [[0, 0, 0], [_g, _g, 0], [_w, _w, _g]], [_w, _w, _g], 2),
]}


def get_implicit(name):
    """The ``ImplicitTableau`` called ``name``."""
    if isinstance(name, ImplicitTableau):
        return name
    if name not in IMPLICIT_TABLEAUS:
        raise ValueError(f"method: expected one of {', '.join(IMPLICIT_TABLEAUS)}, got {name!r}")
    return IMPLICIT_TABLEAUS[name]


class _Jacobian:
    """∂f/∂y at (t, y): autograd's, or forward differences once autograd has failed on fun."""

    def __init__(self, fun):
        self.fun, self.use_autograd = fun, True

    def __call__(self, t, y):                                 # y: (n,) raw -> (n, n)
        if self.use_autograd:
            try:
                with warnings.catch_warnings():                 # f constant in y: a warning
                    warnings.simplefilter("ignore", UserWarning)
                    J = np.asarray(getval(jacobian(lambda v: self.fun(t, v))(y)), dtype=float)
                return J.reshape(y.size, y.size)
            except (TypeError, ValueError, RuntimeError, AttributeError):
                self.use_autograd = False                     # fun is not autograd-traceable
        f0 = np.asarray(getval(self.fun(t, y)))
        eps = np.finfo(f0.dtype if f0.dtype.kind in "fc" else float).eps    # f's precision
        f0 = f0.astype(float)
        J = np.empty((y.size, y.size))
        for k in range(y.size):
            d = math.sqrt(eps) * max(1.0, abs(y[k]))
            yk = y.copy()
            yk[k] += d
            J[:, k] = (np.asarray(getval(self.fun(t, yk)), dtype=float) - f0) / d
        return J


def implicit_step(fun, t, y, h, tab, f0=None, jac=None, newton_tol=None, max_iters=100,
                  stage_times=None):
    """One step of the implicit tableau ``tab`` from (t, y: (n,)) with step h.

    Returns y_new: (n,). ``f0`` = f(t, y) (the initial guess of every stage);
    ``jac``: a ``_Jacobian`` (made here if None); ``stage_times``: the times t + c_i h
    (passed to perturb them); newton_tol / max_iters: module docstring."""
    tab = get_implicit(tab)
    s = tab.b.size
    yv = np.asarray(getval(y))
    n = yv.size
    dtype = np.result_type(yv, np.float32)
    if newton_tol is None:
        newton_tol = 1e-12 if dtype == np.float64 else 1e-6
    hv = float(getval(h))
    ts = [t + ci * h for ci in tab.c] if stage_times is None else stage_times
    tsv = [float(getval(ti)) for ti in ts]
    f0 = fun(t, y) if f0 is None else f0
    jac = _Jacobian(fun) if jac is None else jac
    A = tab.A

    def stages(K, yy, hh):                                    # K: (s, n) -> (s, n) stage y's
        return [yy + hh * anp.dot(A[i], K) for i in range(s)]

    def residual_raw(K):                                      # R(K): (s, n), plain values
        Y = stages(K, yv, hv)
        return K - np.stack([np.asarray(getval(fun(tsv[i], Y[i])), dtype=dtype)
                             for i in range(s)])
    f0v = np.asarray(getval(f0))
    if f0v.dtype.kind in "fc":                                # no tighter than f's precision
        newton_tol = max(newton_tol, 10 * np.finfo(f0v.dtype).eps)
    K = np.tile(f0v.astype(dtype), (s, 1))                    # (s, n)
    converged = False
    for _ in range(max_iters):
        Y = stages(K, yv, hv)
        Jr = np.eye(s * n)
        for i in range(s):
            Ji = jac(tsv[i], np.asarray(Y[i], dtype=float))   # (n, n)
            for j in range(s):
                Jr[i * n:(i + 1) * n, j * n:(j + 1) * n] -= hv * A[i, j] * Ji
        R = residual_raw(K)
        try:
            dK = np.linalg.solve(Jr, -R.ravel()).reshape(s, n)
        except np.linalg.LinAlgError:
            break
        K = K + dK
        if not np.all(np.isfinite(K)):
            break
        if np.max(np.abs(dK), initial=0.0) <= newton_tol * (1 + np.max(np.abs(K), initial=0.0)):
            converged = True
            break
    if not converged:
        warnings.warn(f"{tab.name}: Newton iteration on the stage equations did not converge "
                      f"at t = {float(getval(t))}; the solution may be incorrect",
                      RuntimeWarning, stacklevel=3)
    K = K.astype(dtype)
    if isbox(y) or isbox(h) or any(isbox(ti) for ti in ts) or isbox(f0):
        # one traced Newton step with Jr constant: value K*, derivative by the IFT
        Y = stages(K, y, h)
        R = anp.stack([K[i] - fun(ts[i], Y[i]) for i in range(s)])
        K = K - anp.reshape(anp.dot(np.linalg.inv(Jr), anp.ravel(R)), (s, n))
    return y + h * anp.dot(tab.b.astype(dtype), K)
