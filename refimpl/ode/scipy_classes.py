"""scipy's step-by-step solver objects ``RK23`` / ``RK45`` / ``DOP853``, and its dense outputs.

A drop-in of ``scipy.integrate.RK23`` & co. (scipy 1.17 API: ``RK45(fun, t0, y0, t_bound,
max_step=inf, rtol=1e-3, atol=1e-6, vectorized=False, first_step=None)``, ``.step()``,
``.status``, ``.dense_output()``, ``t, y, t_old, step_size, nfev, njev, nlu``). Each object
drives the engine's ``preset_scipy.ScipyRK`` — the same step, step control and interpolant
that ``solve(controller="scipy")`` uses — and adds scipy's object protocol around it:
argument checks with scipy's messages (``check_arguments``, ``validate_tol``, ...), the
``running``/``finished``/``failed`` states, the degenerate cases (``n = 0`` or
``t0 == t_bound``: one step to ``t_bound``, a constant interpolant), complex ``y0``
(computed in complex128) and ``vectorized=True`` (``fun(t, y[:, None]).ravel()``).

Known difference: ``dense_output()`` of DOP853 computes its 3 extra stages once per step
(scipy recomputes them, and counts 3 evaluations, at every call).

``OdeSolution`` is scipy's piecewise solution (segments chosen as scipy does, evaluation
outside ``[t_min, t_max]`` extrapolates the first or last segment).

References
----------
scipy ``integrate/_ivp/base.py`` (``OdeSolver``, ``DenseOutput``, ``ConstantDenseOutput``,
``check_arguments``), ``rk.py`` (``RungeKutta``, ``RK23``, ``RK45``, ``DOP853``),
``common.py`` (``validate_tol``, ``OdeSolution``).
"""
import warnings
from itertools import groupby

import numpy as np

from . import errors as E
from .preset_scipy import SCIPY, ScipyRK, _arrays, _dense_eval
from .tableaus import get_tableau

__all__ = ["RK23", "RK45", "DOP853", "RungeKutta", "DenseOutput", "RkDenseOutput",
           "ConstantDenseOutput", "OdeSolution", "EPS", "select_initial_step",
           "dop853_coefficients"]

EPS = np.finfo(float).eps


# --- argument checks (scipy's messages: scipy's tests match on them) -----------------------
def check_arguments(fun, y0, support_complex=True):
    y0 = np.asarray(y0)
    if np.issubdtype(y0.dtype, np.complexfloating):
        if not support_complex:
            raise ValueError("`y0` is complex, but the chosen solver does not support "
                             "integration in a complex domain.")
        dtype = complex
    else:
        dtype = float
    y0 = y0.astype(dtype, copy=False)
    if y0.ndim != 1:
        raise ValueError("`y0` must be 1-dimensional.")
    if not np.isfinite(y0).all():
        raise ValueError("All components of the initial state `y0` must be finite.")

    def fun_wrapped(t, y):
        return np.asarray(fun(t, y), dtype=dtype)
    return fun_wrapped, y0


def validate_tol(rtol, atol, n):
    """Array ``rtol``/``atol`` allowed; ``rtol < 100 eps`` raised with scipy's warning."""
    rtol = np.asarray(rtol)
    if np.any(rtol < 100 * EPS):
        warnings.warn("At least one element of `rtol` is too small. "
                      f"Setting `rtol = np.maximum(rtol, {100 * EPS})`.", stacklevel=4)
        rtol = np.maximum(rtol, 100 * EPS)
    atol = np.asarray(atol)
    if atol.ndim > 0 and atol.shape != (n,):
        raise ValueError("`atol` has wrong shape.")
    if np.any(atol < 0):
        raise ValueError("`atol` must be positive.")
    return rtol, atol


def warn_extraneous(extraneous):
    if extraneous:
        warnings.warn("The following arguments have no effect for a chosen solver: "
                      f"{', '.join(f'`{x}`' for x in extraneous)}.", stacklevel=4)


# --- dense outputs -------------------------------------------------------------------------
class DenseOutput:
    """An interpolant over one step ``[t_old, t]`` (evaluation outside extrapolates)."""

    def __init__(self, t_old, t):
        self.t_old, self.t = t_old, t
        self.t_min, self.t_max = min(t, t_old), max(t, t_old)

    def __call__(self, t):
        t = np.asarray(t)
        if t.ndim > 1:
            raise ValueError("`t` must be a float or a 1-D array.")
        return self._call_impl(t)


class RkDenseOutput(DenseOutput):
    """The engine's interpolant of one ``ScipyRK`` step (RK23/RK45's Q, DOP853's F)."""

    def __init__(self, tab, t_old, t, y_old, data):
        super().__init__(t_old, t)
        self.tab, self.y_old, self.data = tab, y_old, data

    def _call_impl(self, t):
        return _dense_eval(self.tab, self.data, self.t_old, self.t, self.y_old, t)


class ConstantDenseOutput(DenseOutput):
    """The constant ``value`` (empty states, ``t0 == t_bound``)."""

    def __init__(self, t_old, t, value):
        super().__init__(t_old, t)
        self.value = value

    def _call_impl(self, t):
        if t.ndim == 0:
            return self.value
        ret = np.empty((self.value.shape[0], t.shape[0]), dtype=self.value.dtype)
        ret[:] = self.value[:, None]
        return ret


class OdeSolution:
    """scipy's piecewise continuous solution: ``interpolants[i]`` covers ``ts[i]..ts[i+1]``.

    At a breakpoint the earlier segment is used (scipy's ``alt_segment=False``); times outside
    ``[t_min, t_max]`` use the first or last segment (extrapolation).
    """

    def __init__(self, ts, interpolants):
        ts = np.asarray(ts)
        d = np.diff(ts)
        if not ((ts.size == 2 and ts[0] == ts[-1]) or np.all(d > 0) or np.all(d < 0)):
            raise ValueError("`ts` must be strictly increasing or decreasing.")
        self.n_segments = len(interpolants)
        if ts.shape != (self.n_segments + 1,):
            raise ValueError("Numbers of time stamps and interpolants don't match.")
        self.ts, self.interpolants = ts, interpolants
        self.ascending = bool(ts[-1] >= ts[0])
        self.t_min, self.t_max = (ts[0], ts[-1]) if self.ascending else (ts[-1], ts[0])
        self.side = "left" if self.ascending else "right"
        self.ts_sorted = ts if self.ascending else ts[::-1]

    def _segment(self, ind):
        seg = np.clip(ind - 1, 0, self.n_segments - 1)
        return seg if self.ascending else self.n_segments - 1 - seg

    def __call__(self, t):
        t = np.asarray(t)
        if t.ndim == 0:
            ind = np.searchsorted(self.ts_sorted, t, side=self.side)
            return self.interpolants[int(self._segment(ind))](t)
        order = np.argsort(t)
        reverse = np.empty_like(order)
        reverse[order] = np.arange(order.shape[0])
        t_sorted = t[order]
        segments = self._segment(np.searchsorted(self.ts_sorted, t_sorted, side=self.side))
        ys, start = [], 0
        for segment, group in groupby(segments):
            end = start + len(list(group))
            ys.append(self.interpolants[segment](t_sorted[start:end]))
            start = end
        return np.hstack(ys)[:, reverse]


# --- the solver objects --------------------------------------------------------------------
class RungeKutta:
    """scipy's explicit RK solver object over the engine's ``ScipyRK`` (see module doc)."""

    TOO_SMALL_STEP = "Required step size is less than spacing between numbers."
    method = None                                  # the engine's tableau name

    def __init__(self, fun, t0, y0, t_bound, max_step=np.inf, rtol=1e-3, atol=1e-6,
                 vectorized=False, first_step=None, **extraneous):
        warn_extraneous(extraneous)
        self.t_old = None
        self.t = t0
        self._fun, self.y = check_arguments(fun, y0, support_complex=True)
        self.t_bound = t_bound
        self.vectorized = vectorized
        if vectorized:
            self.fun_single = lambda t, y: self._fun(t, y[:, None]).ravel()
        else:
            self.fun_single = self._fun
        self.direction = np.sign(t_bound - t0) if t_bound != t0 else 1
        self.n = self.y.size
        self.status = "running"
        self.njev = self.nlu = 0
        if max_step <= 0:
            raise ValueError("`max_step` must be positive.")
        self.max_step = max_step
        self.rtol, self.atol = validate_tol(rtol, atol, self.n)
        if first_step is not None:
            if first_step <= 0:
                raise ValueError("`first_step` must be positive.")
            if first_step > np.abs(t_bound - t0):
                raise ValueError("`first_step` exceeds bounds.")
        f0 = self.fun_single(self.t, self.y)
        self._rk = ScipyRK(self._tab, self.fun_single, t0, self.y, f0, t_bound, self.rtol,
                           self.atol, max_step, first_step, None, SCIPY)

    @property
    def nfev(self):
        return self._rk.nfev

    @property
    def f(self):
        return self._rk.f

    @property
    def h_abs(self):
        return self._rk.h_abs

    @property
    def K(self):
        return self._rk.K

    @property
    def step_size(self):
        return None if self.t_old is None else np.abs(self.t - self.t_old)

    def step(self):
        """One step (scipy's ``OdeSolver.step``); returns None or the failure message."""
        if self.status != "running":
            raise RuntimeError("Attempt to step on a failed or finished solver.")
        if self.n == 0 or self.t == self.t_bound:
            self.t_old, self.t = self.t, self.t_bound
            self.status = "finished"
            return None
        try:
            self._rk.step()
        except E.SolverError as err:
            self.status = "failed"
            if err.status == E.STATUS_NONFINITE:   # scipy loops forever here; refimpl stops and says why
                return (f"The right-hand side returned non-finite values near t = {err.t!r} "
                        f"(the error norm or the step size became NaN/inf).")
            return self.TOO_SMALL_STEP
        self.t_old, self.t, self.y = self._rk.t_old, self._rk.t, self._rk.y
        if self.direction * (self.t - self.t_bound) >= 0:
            self.status = "finished"
        return None

    def dense_output(self):
        """Interpolant over the last successful step."""
        if self.t_old is None:
            raise RuntimeError("Dense output is available after a successful step was made.")
        if self.n == 0 or self.t == self.t_old:
            return ConstantDenseOutput(self.t_old, self.t, self.y)
        rk = self._rk
        return RkDenseOutput(self._tab, rk.t_old, rk.t, rk.y_old, rk.dense())

    # scipy's error estimates (its tests call them)
    def _estimate_error(self, K, h):
        return np.dot(K.T, self.E) * h

    def _estimate_error_norm(self, K, h, scale):
        return self._rk.error_norm(K, h, scale)


def _class_arrays(name):
    tab = get_tableau(name)
    d = _arrays(tab, 0, float)
    return tab, d


class RK23(RungeKutta):
    """Bogacki–Shampine 3(2) (scipy's ``RK23``; the engine's "bosh3")."""
    _tab, _d = _class_arrays("bosh3")
    order, error_estimator_order, n_stages = 3, 2, _d["ns"]
    A, B, C, E, P = _d["A"], _d["B"], _d["C"], _d["E"], _d["P"]


class RK45(RungeKutta):
    """Dormand–Prince 5(4) (scipy's ``RK45``; the engine's "dopri5")."""
    _tab, _d = _class_arrays("dopri5")
    order, error_estimator_order, n_stages = 5, 4, _d["ns"]
    A, B, C, E, P = _d["A"], _d["B"], _d["C"], _d["E"], _d["P"]


class DOP853(RungeKutta):
    """Dormand–Prince 8(5,3) (scipy's ``DOP853``; the engine's "dop853")."""
    _tab, _d = _class_arrays("dop853")
    order, error_estimator_order, n_stages = 8, 7, _d["ns"]
    A, B, C, E3, E5 = _d["A"], _d["B"], _d["C"], _d["E3"], _d["E5"]

    def _estimate_error(self, K, h):
        err5, err3 = np.dot(K.T, self.E5), np.dot(K.T, self.E3)
        denom = np.hypot(np.abs(err5), 0.1 * np.abs(err3))
        correction = np.ones_like(err5)
        mask = denom > 0
        correction[mask] = np.abs(err5[mask]) / denom[mask]
        return h * err5 * correction


def select_initial_step(fun, t0, y0, t_bound, max_step, f0, direction, order, rtol, atol):
    """scipy's ``common.select_initial_step`` (signature as scipy's): the engine's
    ``ScipyController.initial_step``, the first ``|h|`` only."""
    h, _ = SCIPY.initial_step(fun, t0, np.asarray(y0), np.asarray(f0), direction, order,
                              rtol, atol, t_bound, max_step)
    return h


class _Dop853Coefficients:
    """scipy's ``dop853_coefficients`` module layout of the engine's DOP853 arrays:
    ``A`` (16, 16), ``B`` (12,), ``C`` (16,), ``E3``, ``E5`` (13,), ``D`` (4, 16)."""

    def __init__(self):
        from .tableau_dop853 import A_EXT, C_EXT, D, N_STAGES
        self.N_STAGES, self.N_STAGES_EXTENDED = N_STAGES, A_EXT.shape[0]
        self.A, self.C, self.D = A_EXT, C_EXT, D
        self.B = DOP853.B
        self.E3, self.E5 = DOP853.E3, DOP853.E5


dop853_coefficients = _Dop853Coefficients()
