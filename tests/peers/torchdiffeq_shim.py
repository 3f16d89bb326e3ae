"""A stand-in for the ``torchdiffeq`` module in torchdiffeq's own tests: ``odeint``,
``odeint_adjoint`` and ``odeint_event`` with torchdiffeq's signatures, running
``refimpl.ode.torchdiffeq_odeint`` on NumPy copies of the tensors, with a gradient bridge so
that torch's autograd flows through them.

* ``odeint`` is a ``torch.autograd.Function`` (``_Odeint``) whose forward runs
  ``torchdiffeq_odeint`` under HIPS autograd (``autograd.make_vjp``) and whose backward is
  that VJP: backpropagation through refimpl's solver. The user's torch ``func`` (and
  ``event_fn``) reach autograd as a primitive ``(t, y, θ) -> func(t, y)`` (``_bridge``)
  whose VJP calls ``torch.autograd.grad`` on func's output with respect to t, y and the
  parameters θ (``func.parameters()`` for an ``nn.Module``; θ is their flat float64 copy, the
  value the primitive ignores — the torch parameters hold it — and through which autograd
  routes their gradient). Gradients with respect to y0, t and the parameters come out, the
  event time's included (refimpl's implicit-function event gradient).
* ``odeint_adjoint`` is ``_OdeintAdjoint``: forward ``torchdiffeq_odeint`` without a tape,
  backward refimpl's adjoint (``refimpl.ode.torchdiffeq_adjoint.adjoint_vjp``: torchdiffeq's
  augmented system solved by ``torchdiffeq_odeint`` with ``adjoint_method``,
  ``adjoint_rtol``/``adjoint_atol`` and ``adjoint_options``), its VJP of func by torch.
  ``adjoint_params`` (default ``func.parameters()``, those requiring grad), the adjoint norm
  (torchdiffeq's ``handle_adjoint_norm_``: its default mixed norm, "seminorm", or the user's
  on the tuple (t, y, adj_y, *adj_params), on ``grad_fn.adjoint_options`` as torchdiffeq
  keeps it) and the adjoint step callbacks ``func.callback_*_adjoint``.

Tuple states are flattened at the torch boundary as torchdiffeq does (``_check_inputs``:
one (N, total) output split by ``_flat_to_shape``), and passed to refimpl as tuples (its
mixed norm and tuple ``norm`` calls). Computation is in float64 whatever y0's dtype; the
outputs are cast back to y0's dtype (event times to t's dtype), gradients to each input's
dtype. Times reach ``func`` as float64 tensors (the engine's times: a perturbed time, one
float64 ulp from a grid point, would round back onto it in float32)."""
import numpy as np
import torch
from autograd import make_vjp
import autograd.numpy as anp
from autograd.builtins import tuple as atuple
from autograd.extend import defvjp_argnums, primitive
from autograd.tracer import getval

from refimpl.ode import torchdiffeq_odeint as _odeint
from refimpl.ode.torchdiffeq_adjoint import adjoint_vjp

__all__ = ["odeint", "odeint_adjoint", "odeint_event"]

_CALLBACKS = ("callback_step", "callback_accept_step", "callback_reject_step")


def _np(x):
    return x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)


def _f64(x):
    return np.asarray(_np(x), dtype=np.float64)


# --- the state: torch user layout <-> the Function's flat layout <-> refimpl's layout ----
class _Layout:
    """torchdiffeq's ``_check_inputs`` view of y0: a tensor stays as it is; a tuple is one
    flat tensor (``shapes`` its elements' shapes). Converts NumPy values (refimpl's tuples,
    or the flat layout) to the torch tensors the user's callables see."""

    def __init__(self, y0):
        self.shapes = [v.shape for v in y0] if isinstance(y0, tuple) else None
        self.dtype = (y0[0] if self.shapes is not None else y0).dtype
        sizes = [int(np.prod(s, dtype=np.int64)) for s in self.shapes or []]
        self.bounds = np.cumsum([0] + sizes)

    def flat_torch(self, y0):                        # user torch y0 -> the Function's input
        if self.shapes is None:
            return y0
        return torch.cat([v.reshape(-1) for v in y0])

    def to_torch(self, y):                           # NumPy (refimpl's layout) -> torch user
        tt = lambda a: torch.as_tensor(np.asarray(a), dtype=self.dtype)  # noqa: E731
        return tuple(tt(v) for v in y) if self.shapes is not None else tt(y)

    def split_torch(self, flat):                     # torch flat (..., total) -> tuple
        if self.shapes is None:
            return flat
        lead = flat.shape[:-1]                       # torchdiffeq's _flat_to_shape
        return tuple(flat[..., a:b].view((*lead, *s)) for a, b, s in
                     zip(self.bounds[:-1], self.bounds[1:], self.shapes))

    def unflat(self, y):                             # NumPy flat (traced) -> refimpl tuple
        if self.shapes is None:
            return y
        return tuple(anp.reshape(y[a:b], s) for a, b, s in
                     zip(self.bounds[:-1], self.bounds[1:], self.shapes))

    def flat(self, y):                               # refimpl tuple (traced) -> NumPy flat
        if self.shapes is None:
            return y
        return anp.concatenate([anp.ravel(v) for v in y])

    def flat_ys(self, ys):                           # refimpl's (N, ...) per element -> (N, n)
        if self.shapes is None:
            return ys
        return anp.concatenate([anp.reshape(v, (v.shape[0], -1)) for v in ys], axis=1)


def _parameters(fn):
    return [p for p in fn.parameters() if p.requires_grad] \
        if isinstance(fn, torch.nn.Module) else []


# --- the bridge: a torch callable as a HIPS-autograd primitive -------------------------
def _bridge(fn, L, params):
    """``prim(t, y_flat, θ) -> fn(t, y)`` in NumPy (float64), an autograd primitive whose VJP
    is torch's: ``torch.autograd.grad(fn(t, y), (t, y, *params), g)``; θ: (P,) the flat
    parameters (module docstring). ``retain_graph``: fn may close over tensors with a graph
    of their own (torchdiffeq's event test compares y with ``sol``, computed from the ODE's
    parameters), which refimpl differentiates more than once per solve."""
    def call(s, y, grad):
        ts = torch.tensor(float(s), dtype=torch.float64, requires_grad=grad)
        yt = torch.as_tensor(np.asarray(y), dtype=L.dtype).requires_grad_(grad)
        user = L.split_torch(yt)
        out = fn(ts, user)
        out = torch.cat([o.reshape(-1) for o in out]) if isinstance(out, tuple) else out
        return ts, yt, out

    @primitive
    def prim(s, y, theta):
        with torch.no_grad():
            return _f64(call(s, y, False)[2])

    def vjp_maker(argnums, ans, args, kwargs):
        s, y, _ = args

        def vjp(g):
            with torch.enable_grad():
                ts, yt, out = call(getval(s), getval(y), True)
                gs = [None] * (2 + len(params))          # out may not depend on t, y, θ
                if out.requires_grad:
                    gs = torch.autograd.grad(out, [ts, yt] + params,
                                             torch.as_tensor(np.asarray(g), dtype=out.dtype),
                                             allow_unused=True, retain_graph=True)
            z = [np.zeros(()), np.zeros(np.shape(y))] + [np.zeros(p.shape) for p in params]
            gs = [zi if gi is None else _f64(gi) for zi, gi in zip(z, gs)]
            theta_g = (np.concatenate([v.ravel() for v in gs[2:]]) if params
                       else np.zeros(0))
            return tuple({0: float(gs[0]), 1: gs[1], 2: theta_g}[k] for k in argnums)
        return vjp
    defvjp_argnums(prim, vjp_maker)
    return prim


def _theta(params):
    return (np.concatenate([_f64(p).ravel() for p in params]) if params else np.zeros(0))


def _numpy_options(options, L, func):
    """torchdiffeq's options for refimpl: tensors as NumPy, ``norm`` called with tensors."""
    out = {}
    for k, v in dict(options or {}).items():
        if k == "norm" and callable(v):
            out[k] = lambda x, v=v: float(v(L.to_torch(x)))
        elif k in ("jump_t", "step_t", "step_size", "min_step", "max_step", "first_step") \
                and torch.is_tensor(v):
            out[k] = _f64(v)
        else:
            out[k] = v
    return out


def _tol(v):
    return tuple(_np(u) for u in v) if isinstance(v, tuple) else _np(v)


def _forward_func(func, L, f):
    """refimpl's func: ``f`` in refimpl's layout, with func's step callbacks (tensors)."""
    def fun(s, y):
        out = f(s, L.flat(y))
        return L.unflat(out)
    for name in _CALLBACKS:
        if hasattr(func, name):
            cb = getattr(func, name)
            setattr(fun, name, lambda s, y, h, cb=cb: cb(torch.as_tensor(float(s)), L.to_torch(y),
                                                         torch.as_tensor(float(h))))
    return fun


class _Spec:
    """Everything static about one call (the non-tensor arguments of the Functions)."""

    def __init__(self, func, L, rtol, atol, method, options, event_fn, t_dtype):
        self.func, self.L, self.rtol, self.atol = func, L, _tol(rtol), _tol(atol)
        self.method, self.options, self.event_fn = method, options, event_fn
        self.t_dtype = t_dtype

    def solve(self, y0, t, theta, params):
        """refimpl's solve (traceable in y0: flat, t, θ); returns ys (N, n) or (t*, ys)."""
        L = self.L
        f = _bridge(self.func, L, params)
        fun = _forward_func(self.func, L, lambda s, y: f(s, y, theta))
        options = _numpy_options(self.options, L, self.func)
        ev = None
        if self.event_fn is not None:
            e = _bridge(lambda s, y: self.event_fn(s.to(self.t_dtype), y), L, params)
            ev = lambda s, y: e(s, L.flat(y), theta)             # noqa: E731
        out = _odeint(fun, L.unflat(y0), t, rtol=self.rtol, atol=self.atol,
                      method=self.method, options=options, event_fn=ev)
        if ev is None:
            return L.flat_ys(out)
        et, ys = out
        return atuple((et, L.flat_ys(ys)))          # a traced pair (autograd.builtins)


def _outputs(spec, out):
    """Tensors of y0's dtype (event time: t's dtype)."""
    to = lambda a: torch.as_tensor(np.asarray(getval(a)), dtype=spec.L.dtype)  # noqa: E731
    if spec.event_fn is None:
        return to(out)
    return torch.as_tensor(float(getval(out[0])), dtype=spec.t_dtype), to(out[1])


def _grads(arrays, like):
    return tuple(None if a is None else torch.as_tensor(np.reshape(a, x.shape), dtype=x.dtype)
                 for a, x in zip(arrays, like))


class _Odeint(torch.autograd.Function):
    """odeint: forward under HIPS autograd, backward its VJP (backprop through the solver)."""

    @staticmethod
    def forward(ctx, spec, y0, t, *params):
        args = (_f64(y0), _f64(t), _theta(params))
        ctx.spec, ctx.like = spec, (y0, t) + params
        run = lambda a: spec.solve(a[0], a[1], a[2], list(params))      # noqa: E731
        if any(ctx.needs_input_grad[1:]):
            ctx.vjp, out = make_vjp(run)(args)
        else:
            out = run(args)
        return _outputs(spec, out)

    @staticmethod
    def backward(ctx, *g):
        g = tuple(_f64(x) for x in g)
        gy0, gt, gth = ctx.vjp(g[0] if len(g) == 1 else (float(g[0]), g[1]))
        params = ctx.like[2:]
        sizes = np.cumsum([0] + [p.numel() for p in params])
        gp = [gth[a:b] for a, b in zip(sizes[:-1], sizes[1:])]
        return (None,) + _grads([gy0, gt] + gp, ctx.like)


def odeint(func, y0, t, *, rtol=1e-7, atol=1e-9, method=None, options=None, event_fn=None):
    """torchdiffeq's ``odeint`` (module docstring)."""
    L = _Layout(y0)
    params = _parameters(func)
    if isinstance(event_fn, torch.nn.Module):
        params += [p for p in _parameters(event_fn) if all(p is not q for q in params)]
    spec = _Spec(func, L, rtol, atol, method, options, event_fn, t.dtype)
    out = _Odeint.apply(spec, L.flat_torch(y0), t, *params)
    if event_fn is None:
        return L.split_torch(out)
    et, ys = out
    return et, L.split_torch(ys)


def odeint_event(func, y0, t0, *, event_fn, reverse_time=False, odeint_interface=odeint,
                 **kwargs):
    """torchdiffeq's ``odeint_event``: integrate from t0 until ``event_fn`` crosses zero."""
    t = torch.cat([t0.reshape(-1), t0.reshape(-1).detach() + (-1.0 if reverse_time else 1.0)])
    return odeint_interface(func, y0, t, event_fn=event_fn, **kwargs)


# --- odeint_adjoint --------------------------------------------------------------------
def _state_norm(L, options):
    """torchdiffeq's forward norm on the flat state (``_check_inputs``), as a torch callable."""
    user = (options or {}).get("norm")
    rms = lambda x: x.abs().pow(2).mean().sqrt()                        # noqa: E731
    if L.shapes is None:
        return user if callable(user) else rms
    if callable(user):
        return lambda x: user(L.split_torch(x))
    return lambda x: max(rms(v) for v in L.split_torch(x))


def _adjoint_norm(adjoint_options, L, state_norm):
    """torchdiffeq's ``handle_adjoint_norm_``: the adjoint norm as a torch callable."""
    rms = lambda x: x.abs().pow(2).mean().sqrt()                        # noqa: E731
    kind = adjoint_options.get("norm")

    def default(parts):
        t, y, adj_y, *adj_params = parts
        return max([t.abs(), state_norm(y), state_norm(adj_y)] + [rms(p) for p in adj_params])

    def seminorm(parts):
        t, y, adj_y, *adj_params = parts
        return max(t.abs(), state_norm(y), state_norm(adj_y))
    if kind is None:
        return default
    if kind == "seminorm":
        return seminorm
    if L.shapes is None:
        return kind
    return lambda parts: kind((parts[0],) + L.split_torch(parts[1]) + L.split_torch(parts[2])
                              + tuple(parts[3:]))


class _OdeintAdjoint(torch.autograd.Function):
    """odeint_adjoint: forward without a tape, backward refimpl's adjoint (``adjoint_vjp``)."""

    @staticmethod
    def forward(ctx, spec, adj, y0, t, *params):
        ctx.spec, ctx.like, ctx.t_requires_grad = spec, (y0, t) + params, t.requires_grad
        ctx.adjoint_rtol, ctx.adjoint_atol, ctx.adjoint_method, ctx.adjoint_options = adj
        out = spec.solve(_f64(y0), _f64(t), _theta(params), [])
        ctx.t_np = _f64(t)
        ctx.ys = out if spec.event_fn is None else out[1]
        if spec.event_fn is not None:
            ctx.t_np = np.array([ctx.t_np[0], float(out[0])])
        return _outputs(spec, out)

    @staticmethod
    def backward(ctx, *g):
        spec, L = ctx.spec, ctx.spec.L
        params = list(ctx.like[2:])
        gys = _f64(g[-1])
        f = _bridge(spec.func, L, params)
        fun = lambda s, y: f(s, y, None)                                # noqa: E731

        def vjp(s, y, v, need_t):
            with torch.enable_grad():
                ts = torch.tensor(float(s), dtype=torch.float64, requires_grad=need_t)
                yt = torch.as_tensor(np.asarray(y), dtype=L.dtype).requires_grad_(True)
                out = spec.func(ts, L.split_torch(yt))
                out = torch.cat([o.reshape(-1) for o in out]) if isinstance(out, tuple) else out
                wrt = ([ts] if need_t else []) + [yt] + params
                gs = torch.autograd.grad(out, wrt, torch.as_tensor(v, dtype=out.dtype),
                                         allow_unused=True, retain_graph=True) if out.requires_grad else []
            gs = ([] if need_t else [None]) + list(gs) if gs else [None] * (2 + len(params))
            z = [0.0, np.zeros(np.shape(y))] + [np.zeros(p.shape) for p in params]
            gs = [zi if gi is None else _f64(gi) for zi, gi in zip(z, gs)]
            return _f64(out), float(gs[0]), gs[1], gs[2:]
        options = _numpy_options(ctx.adjoint_options, L, spec.func)
        norm = ctx.adjoint_options["norm"]
        dt = L.dtype
        options["norm"] = lambda parts: float(norm(tuple(torch.as_tensor(np.asarray(p), dtype=dt)
                                                         for p in parts)))
        callbacks = {name: (lambda s, y, h, cb=getattr(spec.func, name + "_adjoint"):
                            cb(torch.as_tensor(float(s)),
                               tuple(torch.as_tensor(np.asarray(v)) for v in y),
                               torch.as_tensor(float(h))))
                     for name in _CALLBACKS if hasattr(spec.func, name + "_adjoint")}
        gy0, gt, gp = adjoint_vjp(fun, vjp, ctx.t_np, ctx.ys, gys, [_f64(p) for p in params],
                                  rtol=_tol(ctx.adjoint_rtol), atol=_tol(ctx.adjoint_atol),
                                  method=ctx.adjoint_method, options=options,
                                  t_grad=ctx.t_requires_grad,
                                  event_mode=spec.event_fn is not None, callbacks=callbacks)
        if gt is not None and spec.event_fn is not None:
            gt = gt[:1]                                # only t0 has a gradient (torchdiffeq)
            gt = np.concatenate([gt, np.zeros(ctx.like[1].numel() - 1)])
        return (None, None) + _grads([gy0, gt] + list(gp), ctx.like)


def odeint_adjoint(func, y0, t, *, rtol=1e-7, atol=1e-9, method=None, options=None,
                   event_fn=None, adjoint_rtol=None, adjoint_atol=None, adjoint_method=None,
                   adjoint_options=None, adjoint_params=None):
    """torchdiffeq's ``odeint_adjoint`` (module docstring; its argument rules)."""
    if adjoint_params is None and not isinstance(func, torch.nn.Module):
        raise ValueError("func must be an instance of nn.Module to specify the adjoint "
                         "parameters; alternatively they can be specified explicitly via the "
                         "`adjoint_params` argument. If there are no parameters then it is "
                         "allowable to set `adjoint_params=()`.")
    adjoint_rtol = rtol if adjoint_rtol is None else adjoint_rtol
    adjoint_atol = atol if adjoint_atol is None else adjoint_atol
    adjoint_method = method if adjoint_method is None else adjoint_method
    if adjoint_method != method and options is not None and adjoint_options is None:
        raise ValueError("If `adjoint_method != method` then we cannot infer `adjoint_options` "
                         "from `options`. So as `options` has been passed then "
                         "`adjoint_options` must be passed as well.")
    if adjoint_options is None:
        adjoint_options = {k: v for k, v in (options or {}).items() if k != "norm"}
    else:
        adjoint_options = dict(adjoint_options)
    params = tuple(func.parameters()) if adjoint_params is None else tuple(adjoint_params)
    params = tuple(p for p in params if p.requires_grad)
    L = _Layout(y0)
    adjoint_options["norm"] = _adjoint_norm(adjoint_options, L, _state_norm(L, options))
    spec = _Spec(func, L, rtol, atol, method, options, event_fn, t.dtype)
    adj = (adjoint_rtol, adjoint_atol, adjoint_method, adjoint_options)
    out = _OdeintAdjoint.apply(spec, adj, L.flat_torch(y0), t, *params)
    if event_fn is None:
        return L.split_torch(out)
    et, ys = out
    return et, L.split_torch(ys)
