"""The user's state in ``torchdiffeq_odeint``: arrays, tuples of arrays, complex numbers.

The engine integrates one flat real vector. ``State`` maps between it and what the user's
``func``, ``norm``, ``event_fn`` and callbacks see:

* an array ``y0`` of any shape, or a tuple of arrays (torchdiffeq's ``_TupleFunc``: the
  elements are concatenated, ``func`` gets and returns tuples);
* a complex ``y0`` (or a tuple with a complex element: the concatenation is complex, as
  torch.cat promotes, and every element comes back complex): torchdiffeq 0.2.5 integrates
  complex tensors in complex arithmetic; the engine integrates the pair ``(Re y, Im y)``
  instead, which is the same arithmetic (a Runge–Kutta step combines stages with real
  coefficients, so real and imaginary parts never mix), and the error ratio is formed on
  the complex values as torchdiffeq forms it (``ratio``: moduli in the scale, RMS of the
  moduli). Times stay real.

``ratio(v, y, y_new) = norm(v / (atol + rtol max(|y|, |y_new|)))`` is
torchdiffeq's ``_compute_error_ratio`` on the user's view (``misc.py``): ``norm`` the user's
(called on the user's layout), else the mixed norm for tuples of several elements (the max
of the elements' RMS, ``_mixed_norm``), else the RMS ``sqrt(mean |x|^2)`` (``_rms_norm``).

References
----------
torchdiffeq 0.2.5 ``_impl/misc.py`` (``_check_inputs``, ``_TupleFunc``, ``_tuple_tol``,
``_mixed_norm``, ``_rms_norm``, ``_compute_error_ratio``).
"""
import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval, isbox

from .control import rms_norm

__all__ = ["State", "tolerance"]


def _rms(x):
    """torchdiffeq's ``_rms_norm``: ``sqrt(mean |x|^2)`` (moduli for complex x)."""
    return rms_norm(np.abs(x) if np.iscomplexobj(x) else x)


class State:
    """The user's ``y0`` and the engine's flat real vector (module docstring).

    Fields: ``y`` (the flat real (m,) start, m = n or 2n for complex), ``n`` (entries of the
    user's state), ``shapes`` (None for an array y0, else the elements' shapes),
    ``shape`` (an array y0's shape), ``complex`` (bool)."""

    def __init__(self, y0):
        self.is_tuple = isinstance(y0, tuple)
        if self.is_tuple and not y0:
            raise ValueError("y0: expected an array or a non-empty tuple of arrays, got ()")
        parts = list(y0) if self.is_tuple else [y0]
        self.complex = any(np.iscomplexobj(getval(v)) for v in parts)
        self.shapes = [np.shape(getval(v)) for v in parts] if self.is_tuple else None
        self.shape = None if self.is_tuple else np.shape(getval(y0))
        shapes = self.shapes or [self.shape]
        sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
        self.bounds = np.cumsum([0] + sizes)
        self.n = int(self.bounds[-1])
        self.y = self.to_flat(y0)

    # --- flat complex-or-real vector c (n,) <-> the user's layout ---
    def _user_c(self, c):
        if not self.is_tuple:
            return anp.reshape(c, self.shape)
        return tuple(anp.reshape(c[a:b], s) for a, b, s in
                     zip(self.bounds[:-1], self.bounds[1:], self.shapes))

    def _flat_c(self, out):
        dtype = complex if self.complex else float
        if self.is_tuple:
            if not isinstance(out, (tuple, list)) or len(out) != len(self.shapes):
                raise ValueError(f"func: expected a tuple of {len(self.shapes)} arrays "
                                 "(like y0)")
            return anp.concatenate([anp.ravel(v if isbox(v) else np.asarray(v, dtype=dtype))
                                    for v in out])
        # func may return a list (of boxes)
        v = out if isbox(out) or isinstance(out, np.ndarray) else anp.array(out)
        return anp.ravel(v if isbox(v) else np.asarray(v, dtype=dtype))

    def c(self, v):
        """The engine's flat real vector (m,) -> flat user values (n,), complex if needed."""
        return v[:self.n] + 1j * v[self.n:] if self.complex else v

    # --- the engine's flat real vector <-> the user's layout ---
    def to_user(self, v):
        return self._user_c(self.c(v))

    def to_flat(self, out):
        c = self._flat_c(out)
        return anp.concatenate([anp.real(c), anp.imag(c)]) if self.complex else c

    def stack_user(self, ys):
        """(N, m) engine rows -> the user's layout with a leading time axis."""
        C = anp.transpose(self.c(anp.transpose(ys))) if self.complex else ys     # (N, n)
        N = np.shape(getval(ys))[0]
        if not self.is_tuple:
            return anp.reshape(C, (N,) + self.shape)
        return tuple(anp.reshape(C[:, a:b], (N,) + s) for a, b, s in
                     zip(self.bounds[:-1], self.bounds[1:], self.shapes))

    def engine_tol(self, tol):
        """A tolerance in the user's flat layout (float or (n,)) -> the engine's (m,)."""
        if np.ndim(tol) == 0 or not self.complex:
            return tol
        return np.concatenate([tol, tol])

    def ratio_fn(self, rtol, atol, norm=None):
        """``ratio(v, y, y_new)`` on engine vectors (module docstring); rtol, atol in the
        user's flat layout."""
        if norm is not None:
            user = lambda x: float(getval(norm(self._user_c(x))))          # noqa: E731
        elif self.is_tuple and len(self.shapes) > 1:                        # _mixed_norm
            user = lambda x: max(_rms(p) for p in self._user_c(x))         # noqa: E731
        else:
            user = _rms

        def ratio(v, y, y_new):
            scale = atol + rtol * np.maximum(np.abs(self.c(y)), np.abs(self.c(y_new)))
            return user(self.c(v) / scale)
        return ratio


def tolerance(name, tol, state):
    """A float or a flat (n,) array in the user's flat layout: broadcast to the state's
    shape, or for tuple states a tuple with one tolerance per element (torchdiffeq's
    ``_tuple_tol``)."""
    if state.is_tuple and isinstance(tol, (tuple, list)):
        if len(tol) != len(state.shapes):
            raise ValueError(f"{name}: a tuple tolerance needs one entry per element of y0 "
                             f"({len(state.shapes)}), got {len(tol)}")
        parts = [_one(name, v, sh) for v, sh in zip(tol, state.shapes)]
        return np.concatenate([np.broadcast_to(v, (int(np.prod(sh, dtype=np.int64)),))
                               for v, sh in zip(parts, state.shapes)])
    if state.is_tuple:
        tol = _one(name, tol, None)
        if np.ndim(tol) != 0:
            raise ValueError(f"{name}: for a tuple y0 give a scalar or a tuple of tolerances")
        return tol
    return _one(name, tol, state.shape)


def _one(name, tol, shape):
    try:
        tol = np.asarray(tol, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number or an array of numbers, "
                         f"got {tol!r}") from None
    if np.any(~np.isfinite(tol)) or np.any(tol < 0):
        raise ValueError(f"{name}: expected finite values >= 0, got {tol!r}")
    if tol.ndim == 0:
        return float(tol)
    if shape is None:
        return tol
    try:
        return np.broadcast_to(tol, shape).ravel().copy()
    except ValueError:
        raise ValueError(f"{name}: expected a scalar or an array broadcastable to y0's shape "
                         f"{shape}, got shape {tol.shape}") from None
