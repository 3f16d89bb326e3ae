"""``Radau``: a drop-in of ``scipy.integrate.Radau`` (and ``solve_ivp(method="Radau")``) over
``refimpl.ode.radau.Radau5``.

scipy's constructor and checks around the engine's adaptive Radau IIA 5: ``Radau(fun, t0, y0,
t_bound, max_step=inf, rtol=1e-3, atol=1e-6, jac=None, jac_sparsity=None, vectorized=False,
first_step=None)``; ``jac`` a callable, a constant (dense or scipy.sparse) matrix — then never
re-evaluated, as scipy — or None: autograd's Jacobian of ``fun`` (forward differences when
``fun`` is not traceable; scipy: forward differences always, counted in ``nfev``). Real
states only (scipy's message for a complex ``y0``); a scalar ``rtol``. ``jac_sparsity`` (with
``jac=None``, as scipy) gives forward differences by groups of structurally independent
columns (Curtis, Powell & Reid 1974; ``group_columns``, scipy's private greedy grouping
rewritten here on its public inputs): one evaluation per group,
counted in ``nfev``; the Jacobian is then stored dense (dense LU, not scipy's splu).
``t0 == t_bound`` and empty states finish in one step
with a constant interpolant, as scipy's ``OdeSolver``.

References
----------
A. R. Curtis, M. J. D. Powell, J. K. Reid. On the estimation of sparse Jacobian matrices.
  IMA J. Appl. Math. 13 (1974) 117-119.
scipy ``integrate/_ivp/radau.py`` (``Radau.__init__``), ``base.py`` (``OdeSolver.step``).
"""
import numpy as np
from scipy.sparse import coo_matrix, issparse

from .radau import Radau5
from .scipy_classes import ConstantDenseOutput, check_arguments, validate_tol, warn_extraneous

__all__ = ["Radau"]


class Radau(Radau5):
    """scipy's ``Radau`` solver object (module docstring)."""

    TOO_SMALL_STEP = "Required step size is less than spacing between numbers."

    def __init__(self, fun, t0, y0, t_bound, max_step=np.inf, rtol=1e-3, atol=1e-6, jac=None,
                 jac_sparsity=None, vectorized=False, first_step=None, **extraneous):
        warn_extraneous(extraneous)
        fun_w, y = check_arguments(fun, y0, support_complex=False)
        if jac is None and jac_sparsity is not None:    # scipy: the sparsity only serves FD
            jac = _grouped_differences(lambda t, v: self.fun(t, v), jac_sparsity, y.size)
        single = (lambda t, v: fun_w(t, v[:, None]).ravel()) if vectorized else fun_w
        if max_step <= 0:
            raise ValueError("`max_step` must be positive.")
        rtol, atol = validate_tol(rtol, atol, y.size)
        if np.ndim(rtol) != 0:
            raise ValueError("rtol: refimpl's Radau takes a scalar rtol")
        if first_step is not None:
            if first_step <= 0:
                raise ValueError("`first_step` must be positive.")
            if first_step > np.abs(t_bound - t0):
                raise ValueError("`first_step` exceeds bounds.")
        jac_const = jac is not None and not callable(jac)
        if jac_const:                                   # a constant matrix: never refreshed
            J = jac.toarray() if issparse(jac) else np.asarray(jac, dtype=float)
            if J.shape != (y.size, y.size):
                raise ValueError(f"`jac` is expected to have shape {(y.size, y.size)}, "
                                 f"but actually has {J.shape}.")
            jac = lambda t, v: J                        # noqa: E731
        elif jac is not None:
            user_jac = jac
            jac = lambda t, v: (user_jac(t, v).toarray() if issparse(user_jac(t, v))  # noqa
                                else user_jac(t, v))
        self.vectorized = vectorized
        self.t_old = None
        super().__init__(single, t0, y, t_bound, float(rtol), atol,
                         None if t_bound == t0 or y.size == 0 else first_step, max_step, jac)
        self.jac_const = jac_const
        if jac_const:
            self.njev = 0                               # scipy counts no constant Jacobian

    @property
    def step_size(self):
        """|t - t_old| of the last step (None before the first), as scipy's OdeSolver."""
        return None if self.t_old is None else abs(self.t - self.t_old)

    def dense_output(self):
        """The last step's collocation polynomial (a constant for a degenerate solve)."""
        if self.t_old is None:
            raise RuntimeError("Dense output is available after a successful step was made.")
        if self.sol is None:
            return ConstantDenseOutput(self.t_old, self.t, self.y)
        return self.sol


def group_columns(sparsity, seed=0):
    """(n,) group of each column of sparsity (m, n): columns in one group share no row.

    Curtis-Powell-Reid greedy grouping as scipy's private ``optimize._numdiff.group_columns``
    (same result, tested): columns visited in the order RandomState(seed).permutation(n);
    each unassigned column opens a group, and every later unassigned column whose rows miss
    the group's union joins it."""
    A = coo_matrix(sparsity).tocsc()
    A.sum_duplicates()
    m, n = A.shape
    order = np.random.RandomState(seed).permutation(n)           # (n,) visiting order
    rows = [A.indices[A.indptr[j]:A.indptr[j + 1]] for j in order]    # rows of each column
    groups = np.full(n, -1)                                       # in visiting order
    g = 0
    for i in range(n):
        if groups[i] >= 0:
            continue
        union = np.zeros(m, bool)
        for j in range(i, n):
            if groups[j] < 0 and not union[rows[j]].any():
                union[rows[j]] = True
                groups[j] = g
        g += 1
    out = np.empty(n, int)
    out[order] = groups                                           # back to column order
    return out


def _grouped_differences(fun, sparsity, n):
    """``jac(t, y) -> (n, n)``: forward differences, one evaluation per group of columns that
    share no row in ``sparsity`` (n, n) (module docstring; step sqrt(eps) max(1, |y_j|))."""
    S = coo_matrix(sparsity)
    if S.shape != (n, n):
        raise ValueError(f"`jac_sparsity` is expected to have shape {(n, n)}, "
                         f"but actually has {S.shape}.")
    rows, cols = S.row, S.col                                     # the structural non-zeros
    groups = group_columns(S.tocsc())                             # (n,) group of each column

    def jac(t, y):
        f0 = fun(t, y)
        h = np.sqrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(y))   # (n,)
        J = np.zeros((n, n))
        for g in range(int(groups.max(initial=-1)) + 1):
            in_g = groups == g
            df = fun(t, y + np.where(in_g, h, 0.0)) - f0              # (n,): sum of columns in g
            k = in_g[cols]                                        # entries of g's columns
            J[rows[k], cols[k]] = df[rows[k]] / h[cols[k]]
        return J
    return jac
