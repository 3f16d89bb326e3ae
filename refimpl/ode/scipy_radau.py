"""``Radau``: a drop-in of ``scipy.integrate.Radau`` (and ``solve_ivp(method="Radau")``) over
``refimpl.ode.radau.Radau5``.

scipy's constructor and checks around the engine's adaptive Radau IIA 5: ``Radau(fun, t0, y0,
t_bound, max_step=inf, rtol=1e-3, atol=1e-6, jac=None, jac_sparsity=None, vectorized=False,
first_step=None)``; ``jac`` a callable, a constant (dense or scipy.sparse) matrix — then never
re-evaluated, as scipy — or None: autograd's Jacobian of ``fun`` (forward differences when
``fun`` is not traceable; scipy: forward differences always, counted in ``nfev``). Real
states only (scipy's message for a complex ``y0``); a scalar ``rtol``; ``jac_sparsity`` is
refused (dense linear algebra only). ``t0 == t_bound`` and empty states finish in one step
with a constant interpolant, as scipy's ``OdeSolver``.

References
----------
scipy ``integrate/_ivp/radau.py`` (``Radau.__init__``), ``base.py`` (``OdeSolver.step``).
"""
import numpy as np
from scipy.sparse import issparse

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
        if jac_sparsity is not None:
            raise ValueError("jac_sparsity: not supported by refimpl's Radau (dense Jacobians)")
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
