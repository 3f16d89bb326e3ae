"""A stand-in for the ``torchdiffeq`` module in torchdiffeq's own tests: ``odeint`` with
torchdiffeq's signature, running ``refimpl.ode.torchdiffeq_odeint`` on NumPy copies of the
tensors (``func``, ``norm`` and ``event_fn`` are called back with tensors of y0's dtype).
Forward only: no torch autograd flows through it (gradient tests are not applicable).
Computation is in float64 whatever y0's dtype (outputs are cast back); times reach ``func``
as float64 tensors (the engine's times: a perturbed time, one float64 ulp from a grid
point, would round back onto it in float32)."""
import numpy as np
import torch

from refimpl.ode import torchdiffeq_odeint as _odeint

__all__ = ["odeint"]


def _np(x):
    return x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)


def odeint(func, y0, t, *, rtol=1e-7, atol=1e-9, method=None, options=None, event_fn=None):
    is_tuple = isinstance(y0, tuple)
    dtype = (y0[0] if is_tuple else y0).dtype
    t_dtype = t.dtype

    def to_t(a):
        return torch.as_tensor(np.asarray(a), dtype=dtype)

    def state(y):
        return tuple(to_t(v) for v in y) if is_tuple else to_t(y)

    def f(s, y):
        with torch.no_grad():
            out = func(torch.as_tensor(s, dtype=torch.float64), state(y))
        return tuple(_np(o) for o in out) if is_tuple else _np(out)
    for name in ("callback_step", "callback_accept_step", "callback_reject_step"):
        if hasattr(func, name):                      # step callbacks, called with tensors
            cb = getattr(func, name)
            setattr(f, name, lambda s, y, h, cb=cb: cb(torch.as_tensor(float(s)), state(y),
                                                        torch.as_tensor(float(h))))
    options = dict(options or {})
    if "norm" in options:
        user_norm = options["norm"]
        options["norm"] = lambda x: float(user_norm(state(x)))
    tol = lambda v: tuple(_np(u) for u in v) if isinstance(v, tuple) else _np(v)  # noqa: E731
    y0n = tuple(_np(v) for v in y0) if is_tuple else _np(y0)
    ev = None
    if event_fn is not None:
        def ev(s, y):
            with torch.no_grad():
                return _np(event_fn(torch.as_tensor(s, dtype=t_dtype), state(y)))
    out = _odeint(f, y0n, _np(t).astype(np.float64), rtol=tol(rtol), atol=tol(atol),
                  method=method, options=options, event_fn=ev)
    if event_fn is not None:
        et, ys = out
        return torch.as_tensor(float(et), dtype=t_dtype), state(ys)
    return state(out)
