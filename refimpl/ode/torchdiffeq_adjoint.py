"""torchdiffeq's ``odeint_adjoint`` backward pass on NumPy arrays, over ``torchdiffeq_odeint``.

    g_y0, g_t, g_params = adjoint_vjp(fun, vjp, t, ys, grad_ys, params, rtol=..., atol=...)

Given a forward solve ``ys = torchdiffeq_odeint(fun, y0, t, ...)`` ((N,) + y0.shape) and the
cotangent ``grad_ys`` of the same shape, this integrates torchdiffeq's augmented system
([NeuralODE eq. 4] and its App. B; torchdiffeq ``_impl/adjoint.py::OdeintAdjointMethod``)
backwards over each interval [t_i, t_{i-1}], as the tuple state

    (a_t: (), y: y0.shape, a: y0.shape, a_θ1, ..., a_θP)
    d/dt (a_t, y, a, a_θ) = (-aᵀ ∂f/∂t, f, -aᵀ ∂f/∂y, -aᵀ ∂f/∂θ)

with any method of ``torchdiffeq_odeint`` (its ``options``: ``norm``, ``step_size``,
``perturb``, ``jump_t``, ``grid_constructor``, ...). At every output time the state y is
reset to the forward value ``ys[i-1]`` and the cotangent added, ``a += grad_ys[i-1]``; the
time gradients follow torchdiffeq's convention ``dL/dt_i = f(t_i, y_i) · grad_ys[i]`` for
i >= 1, ``dL/dt_0 = a_t(t_0)`` (with ``a_t(t_{N-1}) = 0`` and ``a_t -= dL/dt_i`` at each
t_i). ``event_mode``: ``t = [t0, event_t]`` and only ``dL/dt0`` is returned (torchdiffeq does
not differentiate the event time in adjoint mode; ``torchdiffeq_odeint`` does, in backprop).

The adjoint norm (``options["norm"]``): absent = torchdiffeq's default, the max of |a_t|,
RMS(y), RMS(a) and each a_θk's RMS; "seminorm" = the same without the a_θk (Kidger, Chen &
Lyons 2021: the parameter adjoints never feed back into the dynamics); or a callable on the
tuple of scaled errors (a_t, y, a, a_θ1, ...).

References
----------
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
  equations. NeurIPS 2018 (eq. 4, Alg. 1, App. B).
P. Kidger, R. T. Q. Chen, T. Lyons. "Hey, that's not an ODE": faster ODE adjoints via
  seminorms. ICML 2021.
torchdiffeq 0.2.5 ``_impl/adjoint.py`` (``OdeintAdjointMethod.backward``,
``handle_adjoint_norm_``).
"""
import numpy as np

from .tableaus import get_tableau
from .torchdiffeq_api import TORCHDIFFEQ_METHODS, torchdiffeq_odeint

__all__ = ["adjoint_vjp", "adjoint_norm"]

CALLBACKS = ("callback_step", "callback_accept_step", "callback_reject_step")


def _rms(x):
    return float(np.sqrt(np.mean(np.abs(x) ** 2))) if np.size(x) else 0.0


def adjoint_norm(kind="default"):
    """torchdiffeq's adjoint norms on the tuple (a_t, y, a, a_θ1, ...): "default" or
    "seminorm" (module docstring)."""
    if kind not in ("default", "seminorm"):
        raise ValueError(f"norm: expected 'default', 'seminorm' or a callable, got {kind!r}")

    def norm(parts):
        at, y, a, *ap = parts
        out = max(abs(float(at)), _rms(y), _rms(a))
        return out if kind == "seminorm" else max([out] + [_rms(p) for p in ap])
    return norm


def _adaptive(method):
    name = TORCHDIFFEQ_METHODS.get("dopri5" if method is None else method)
    return method == "scipy_solver" or (name is not None and get_tableau(name).adaptive)


def adjoint_vjp(fun, vjp, t, ys, grad_ys, params=(), *, rtol=1e-7, atol=1e-9, method=None,
                options=None, t_grad=True, event_mode=False, callbacks=None):
    """The cotangents of y0, t and the parameters by torchdiffeq's adjoint (module docstring).

    Parameters
    ----------
    fun : fun(t, y) -> dy/dt, y shaped like ys[0] (used for the time gradients).
    vjp : vjp(t, y, v, need_t) -> (f, v·∂f/∂t (a float, 0 unless need_t), vᵀ∂f/∂y (like y),
        [vᵀ∂f/∂θ_k shaped like params[k]]).
    t : (N,) output times (event_mode: [t0, event_t]); ys, grad_ys : (N,) + y.shape.
    params : the parameters' arrays θ_k (only their shapes are used: a_θ starts at 0).
    rtol, atol, method, options : of the backward solves (``torchdiffeq_odeint``'s).
    t_grad : return the time gradients (else None, and a_t stays 0).
    callbacks : {"callback_step": cb(t, aug_state, h), ...}: step callbacks of the backward
        solves (torchdiffeq's ``func.callback_step_adjoint`` & co.).

    Returns
    -------
    (g_y0: y.shape, g_t: (N,) or None, [g_θk: params[k].shape])
    """
    t = np.asarray(t, dtype=float)
    ys, grad_ys = np.asarray(ys, dtype=float), np.asarray(grad_ys, dtype=float)
    if ys.shape != grad_ys.shape or ys.shape[0] != t.size:
        raise ValueError(f"grad_ys: expected shape {ys.shape} (ys) with len(t) = {t.size} "
                         f"rows, got {grad_ys.shape}")
    options = dict(options or {})
    if not callable(options.get("norm")):
        options["norm"] = adjoint_norm(options.get("norm", "default"))
    if not _adaptive(method):                          # fixed steps: no error norm (torchdiffeq
        options.pop("norm")                            # drops it there)

    def dynamics(s, state):                            # the augmented system, at time s
        _, y, a = state[:3]
        f, vt, vy, vp = vjp(s, y, -a, t_grad)
        return (np.asarray(vt if t_grad else 0.0, dtype=float), f, vy) + tuple(vp)
    for name, cb in (callbacks or {}).items():
        if name not in CALLBACKS:
            raise ValueError(f"callbacks: expected names among {CALLBACKS}, got {name!r}")
        setattr(dynamics, name, cb)

    aug = [np.zeros(()), ys[-1], grad_ys[-1]] + [np.zeros(np.shape(p)) for p in params]
    g_t = np.zeros(t.size)
    for i in range(t.size - 1, 0, -1):
        if t_grad:                                     # moving the output time t_i
            g_t[i] = float(np.vdot(np.asarray(fun(t[i], ys[i]), dtype=float), grad_ys[i]))
            aug[0] = aug[0] - g_t[i]
        out = torchdiffeq_odeint(dynamics, tuple(aug), t[[i, i - 1]], rtol=rtol, atol=atol,
                                 method=method, options=options)
        aug = [np.asarray(o[1]) for o in out]          # the values at t_{i-1}
        aug[1] = ys[i - 1]                             # the forward state, not the re-solved
        aug[2] = aug[2] + grad_ys[i - 1]
    g_t[0] = aug[0]
    if event_mode:                                     # the event time is not differentiated
        g_t[1:] = 0.0
    return aug[2], (g_t if t_grad else None), aug[3:]
