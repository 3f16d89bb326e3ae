"""One explicit Runge–Kutta step: the definition every loop of the ODE engine is tied to.

    k_1 = f(t, y)
    k_i = f(t + c_i h, y + h Σ_{j<i} a_ij k_j),          i = 2..s
    y_new = y + h Σ_i b_i k_i,          err = h Σ_i e_i k_i   (e = the tableau's error weights)

written as scipy writes it (``integrate/_ivp/rk.py::rk_step``): the stages are the rows of
K: (s, n), and each combination is one matrix-vector product, ``dy = K[:i].T @ a[:i] * h``.
This is the readable definition, not a fast loop: `tests/ode/test_rk_step_definition.py`
replays every accepted step of every loop of `refimpl.ode` (the NumPy stepper, the traced
loop of `odeint`, each preset's replay of a library's control flow, each numba kernel)
through this function and asserts the same states (package docstring: the list of loops).

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving Ordinary Differential Equations I*, 2nd ed.
(1993), Sec. II.1, eq. (1.8) (explicit RK), Sec. II.4 (embedded pairs).
scipy ``integrate/_ivp/rk.py::rk_step`` (the same formula, the same K layout).
"""
import numpy as np

from .tableaus import get_tableau

__all__ = ["rk_step"]


def rk_step(func, t, y, h, method="dopri5", args=(), f0=None):
    """One step of `method` (a name or a ButcherTableau) from (t, y: (n,)) with step h.

    Returns (y_new: (n,), K: (s, n) the stages, err: (n,) the embedded error estimate
    h Kᵀ e, or None for a fixed-step method). For FSAL tableaus the last stage is
    f(t + h, y_new), evaluated here as any other stage (the fast loops reuse it as the next
    step's f0). f0 = f(t, y) may be passed to save one evaluation.
    """
    tab = get_tableau(method)
    y = np.asarray(y, dtype=float)
    A, b, c = tab.A, tab.b, tab.c                                  # (s, s), (s,), (s,)
    s = tab.n_stages
    K = np.empty((s, y.size))                                      # (s, n)
    K[0] = func(t, y, *args) if f0 is None else f0
    ns = s - 1 if tab.fsal else s                                  # stages entering y_new
    for i in range(1, ns):
        dy = K[:i].T @ A[i, :i] * h                                # (n,)
        K[i] = func(t + c[i] * h, y + dy, *args)
    y_new = y + K[:ns].T @ b[:ns] * h
    if tab.fsal:                                                   # last row of A is b
        K[ns] = func(t + h, y_new, *args)
    err = None if tab.e is None else K.T @ tab.e * h
    return y_new, K, err
