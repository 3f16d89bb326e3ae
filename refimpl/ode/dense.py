"""Dense output: a polynomial on every accepted step, stored in one array.

Every step ``[t_k, t_k + h]`` gets coefficients ``C`` (shape ``(p + 1, n)``) of a
polynomial in ``θ = (t - t_k)/h ∈ [0, 1]``:

* ``"poly"`` (dopri5, tsit5; order 4): ``y(θ) = y0 + Σ_j C_j θ^j`` with
  ``C_j = h (Kᵀ P)[:, j-1]`` (Hairer I, Sec. II.6, eq. (6.7); Shampine 1986; Tsitouras 2011).
* ``"hermite"`` (all other methods; order 3): the cubic through ``y0, f0, y1, f1``
  (Hairer I, eq. (6.7') / II.6 Exercise), written in the same power form:
  ``C = [y0, h f0, 3Δ - h(2 f0 + f1), -2Δ + h(f0 + f1)]`` with ``Δ = y1 - y0``.
* ``"dop853"`` (order 7): Hairer's ``contd8`` form with three extra stages,
  ``y(θ) = y0 + θ(F0 + (1-θ)(F1 + θ(F2 + (1-θ)(F3 + θ(F4 + (1-θ)(F5 + θ F6))))))``,
  ``C = [y0, F0, ..., F6]`` (``dop853.f``; scipy ``Dop853DenseOutput``).

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving ODEs I*, 2nd ed. (1993), Sec. II.6.
Hairer's ``dop853.f`` (subroutine ``CONTD8``).
"""
import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval, isbox
from .traced_ops import stack

__all__ = ["DenseSolution", "step_coefficients", "eval_coefficients", "eval_step",
           "TRACED_KINDS", "eval_step_traced"]

TRACED_KINDS = ("poly", "hermite", "dop853")   # extensions `eval_step_traced` can trace


def step_coefficients(tab, K, y, y_new, f, f_new, h, t, fun):
    """Dense coefficients ``C`` (p+1, n) of one accepted step, and the RHS evaluations spent.

    ``K`` holds the step's stages in rows (``K[:s]``; for dop853 the 16-row extended
    array whose row 12 is ``f_new``); ``f, f_new`` are the derivatives at both ends.
    """
    if tab.dense == "poly":
        s = tab.n_stages
        Q = (K[:s].T @ tab.P) * h                                  # (n, p)
        return np.vstack([y[None], Q.T]), 0
    if tab.dense == "hermite":
        d = y_new - y
        hf0, hf1 = h * f, h * f_new
        return np.stack([y, hf0, 3 * d - 2 * hf0 - hf1, hf0 + hf1 - 2 * d]), 0
    # dop853: three extra stages (rows 13..15), then CONTD8's F0..F6
    from .tableau_dop853 import A_EXT, C_EXT, D, N_STAGES
    for i in range(N_STAGES + 1, A_EXT.shape[0]):
        K[i] = fun(t + C_EXT[i] * h, y + np.dot(K[:i].T, A_EXT[i, :i]) * h)
    d = y_new - y
    C = np.empty((8,) + y.shape, dtype=y.dtype)
    C[0], C[1], C[2] = y, d, h * f - d
    C[3] = 2 * d - h * (f_new + f)
    C[4:] = h * (D @ K)
    return C, A_EXT.shape[0] - N_STAGES - 1


def eval_coefficients(kind, C, theta):
    """Evaluate step polynomials ``C`` (m, p+1, n) at ``theta`` (m,) -> (m, n)."""
    th = theta[:, None]
    if kind == "dop853":
        y = np.zeros(C.shape[::2], dtype=C.dtype)
        for i, F in enumerate(C[:, :0:-1].transpose(1, 0, 2)):    # F6, F5, ..., F0
            y += F
            y *= th if i % 2 == 0 else (1 - th)
        return y + C[:, 0]
    y = C[:, -1].copy()
    for j in range(C.shape[1] - 2, -1, -1):                       # Horner in θ
        y *= th
        y += C[:, j]
    return y


def eval_step(kind, C, theta):
    """Evaluate one step's polynomial ``C`` (p+1, n) at a scalar ``theta`` -> (n,)."""
    if kind == "dop853":
        y = C[7] * theta
        for j in range(6, 0, -1):                                  # F5 ... F0
            y += C[j]
            y *= theta if j % 2 == 1 else 1.0 - theta
        return y + C[0]
    y = C[-1] * theta
    for j in range(C.shape[0] - 2, 0, -1):
        y += C[j]
        y *= theta
    return y + C[0]


def eval_step_traced(tab, ks, y, y_new, f1, h, thetas, fun=None, t=None):
    """One step's continuous extension at the points ``thetas``, with ``autograd.numpy``.

    The same polynomials as ``step_coefficients`` + ``eval_step``, but every operand may be
    an autograd box (stages ``ks``, a list of (n,) arrays with ``ks[0] = f(t, y)``; ``y``,
    ``y_new``, ``f1 = f(t + h, y_new)``, the step ``h`` and each ``θ = (t_out - t)/h``), so
    ``odeint(output="interpolate")`` can be differentiated through it. thetas: list of m
    scalars. Returns (m, n); coefficients are cast to ``y``'s dtype. dop853 needs ``fun(t,
    y)`` and the step's start ``t`` for its three extra stages (``_dop853_traced``).
    """
    kind = tab.dense
    dtype = np.result_type(getval(y))
    if kind == "dop853":
        if fun is None:
            raise ValueError("eval_step_traced: dop853's extension needs fun and t")
        return _dop853_traced(ks, y, y_new, f1, h, thetas, fun, t, dtype)
    if kind == "poly":
        # Hairer I eq. (6.7): y(θ) = y0 + Σ_j θ^j C_j,  C_j = h (Kᵀ P)[:, j-1]
        P = np.asarray(tab.P, dtype)                                  # (s, p)
        C = anp.dot(P.T, stack(ks[:P.shape[0]])) * h                  # (p, n)
    elif kind == "hermite":
        # Hairer I eq. (6.7'): the cubic through (y0, f0) and (y1, f1), power form
        d = y_new - y
        hf0, hf1 = h * ks[0], h * f1
        C = anp.stack([hf0, 3 * d - 2 * hf0 - hf1, hf0 + hf1 - 2 * d])   # (3, n)
    else:
        raise ValueError(f"output: 'interpolate' supports tableaus with dense in "
                         f"{TRACED_KINDS}; method {tab.name!r} has dense={kind!r}")
    p = C.shape[0]
    if any(isbox(th) for th in thetas):
        th = anp.stack([anp.reshape(v, ()) for v in thetas])          # (m,) traced
    else:
        th = np.array([float(v) for v in thetas], dtype)              # (m,)
    powers = th[:, None] ** np.arange(1, p + 1, dtype=dtype)          # (m, p): θ^1..θ^p
    return y + anp.dot(powers, C)                                     # (m, n)


def _dop853_traced(ks, y, y_new, f1, h, thetas, fun, t, dtype):
    """dop853's 7th-order extension (``step_coefficients``' dop853 branch, ``dop853.f``
    CONTD8) with ``autograd.numpy``: stages 13..15 ``k_i = f(t + c_i h, y + h Σ_j a_ij k_j)``
    (row 12 is ``f1``), then ``F0..F6`` and the nested form of the module docstring.
    Returns (m, n) and costs 3 evaluations of ``fun``."""
    from .tableau_dop853 import A_EXT, C_EXT, D, N_STAGES
    K = list(ks[:N_STAGES]) + [f1]                                  # 13 rows of (n,)
    for i in range(N_STAGES + 1, A_EXT.shape[0]):
        a = np.asarray(A_EXT[i, :i], dtype)
        K.append(fun(t + float(C_EXT[i]) * h, y + anp.dot(a, anp.stack(K)) * h))
    d = y_new - y
    F = [d, h * ks[0] - d, 2 * d - h * (f1 + ks[0])]                 # F0, F1, F2
    F += list(anp.dot(np.asarray(D, dtype), anp.stack(K)) * h)       # F3..F6 (4, n)
    out = []
    for th in thetas:           # y + θ(F0 + (1-θ)(F1 + θ(F2 + (1-θ)(F3 + ... θ F6))))
        acc = F[6]
        for j in range(5, -1, -1):
            acc = F[j] + ((1 - th) if j % 2 == 0 else th) * acc
        out.append(y + th * acc)
    return anp.stack(out)                                           # (m, n)


class DenseSolution:
    """Continuous solution ``sol(t)``: the step polynomials pieced together.

    Parameters
    ----------
    ts : (m + 1,) accepted step boundaries, monotonic in the direction of integration.
    kind : "poly" | "hermite" | "dop853".
    coeffs : (m, p + 1, n) per-step coefficients (see module docstring).
    shape : shape of the state ``y0``.
    t_ends : (m,) optional: the end of each step's polynomial (default ``ts[1:]``; differs
        in the last step when a terminal event cut it short).

    ``sol(t)`` for a scalar ``t`` returns an array shaped like ``y0``; for a 1-D
    array, ``(len(t),) + y0.shape``. Times outside ``[t0, t1]`` raise ValueError.
    """

    def __init__(self, ts, kind, coeffs, shape, t_ends=None):
        self.ts = np.asarray(ts, dtype=np.float64)
        # where each step's polynomial has θ = 1: ts[1:], except after a terminal event
        # (the last step's polynomial still spans the whole step, ``ts[-1]`` is the root)
        self.t_ends = self.ts[1:] if t_ends is None else np.asarray(t_ends, dtype=np.float64)
        self.kind, self.coeffs, self.shape = kind, coeffs, tuple(shape)
        self.direction = 1.0 if self.ts[-1] >= self.ts[0] else -1.0
        self._lo, self._hi = min(self.ts[0], self.ts[-1]), max(self.ts[0], self.ts[-1])

    def __call__(self, t):
        t = np.asarray(t, dtype=np.float64)
        scalar = t.ndim == 0
        tt = np.atleast_1d(t)
        if tt.ndim != 1:
            raise ValueError(f"t: expected a scalar or a 1-D array, got shape {t.shape}")
        if np.any(tt < self._lo) or np.any(tt > self._hi):
            raise ValueError(f"t: expected times within [{self._lo}, {self._hi}], got values "
                             f"from {tt.min()} to {tt.max()}")
        if len(self.ts) == 1:                                      # t0 == t1
            y = np.broadcast_to(self.coeffs[0, 0], (len(tt),) + self.coeffs.shape[2:]).copy()
        else:
            # index of the step containing each t (the right step at interior mesh points)
            ts = self.ts if self.direction > 0 else -self.ts
            idx = np.searchsorted(ts, self.direction * tt, side="right") - 1
            idx = np.clip(idx, 0, len(self.ts) - 2)
            t0 = self.ts[idx]
            theta = (tt - t0) / (self.t_ends[idx] - t0)
            y = eval_coefficients(self.kind, self.coeffs[idx], theta)
        y = y.reshape((len(tt),) + self.shape)
        return y[0] if scalar else y
