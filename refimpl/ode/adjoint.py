"""The continuous adjoint ([NeuralODE Alg. 1]) as an autograd primitive.

`odeint_adjoint_flat(y0, t, theta, spec) -> ys` solves y' = f(t, y, θ) forward (the traced
driver on plain arrays: nothing is recorded) and returns y at every t_i, shape (N, n).
Its VJP solves, interval by interval from t_{N-1} back to t_0, the augmented system
([NeuralODE eq. 4], App. B, Alg. 1; a_t as in App. B.2):

    d/dt [y, a, a_θ, a_t] = [f, -aᵀ ∂f/∂y, -aᵀ ∂f/∂θ, -aᵀ ∂f/∂t]

starting from a(t_{N-1}) = ∂L/∂y_{N-1}, a_θ = 0, a_t = -∂L/∂y_{N-1} · f(t_{N-1}, y_{N-1}).
At every observation time t_i the state y is re-set to the stored forward value y_i and
the incoming gradient is added, a += ∂L/∂y_i, a_t -= ∂L/∂y_i · f(t_i, y_i) (torchdiffeq's
convention). The results: ∂L/∂y0 = a(t_0), ∂L/∂θ = a_θ(t_0), ∂L/∂t_0 = a_t(t_0),
∂L/∂t_i = ∂L/∂y_i · f(t_i, y_i) for i ≥ 1. Components the caller does not need (a_θ, a_t)
are left out of the augmented state.

Each backward interval is itself a call of `odeint_adjoint_flat` (on the augmented system),
and everything in the VJP is `autograd.numpy`: differentiating the VJP (Hessian-vector
products) runs the adjoint of the adjoint — no solver arithmetic is ever taped, so memory
stays flat at every order.

Error control of the backward solve (`norm`): "mixed" = max over the groups y, a, each
parameter array, a_t of the RMS of the scaled error (torchdiffeq's default adjoint norm; for
tuple states y and a count one group per element, as torchdiffeq's mixed state norm);
"seminorm" drops the parameter adjoints a_θ from it (Kidger, Chen & Lyons 2021: a_θ never
feeds back into the dynamics, so its error need not limit the step; torchdiffeq keeps a_t,
and so do we); "rms" = plain RMS over the whole augmented state.

References
----------
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
  equations. NeurIPS 2018 (eq. 4, Alg. 1, App. B).
P. Kidger, R. T. Q. Chen, T. Lyons. "Hey, that's not an ODE": faster ODE adjoints via
  seminorms. ICML 2021.
L. S. Pontryagin et al. The mathematical theory of optimal processes (1962).
"""
import copy

import autograd.numpy as anp
import numpy as np
from autograd.extend import primitive, defvjp_argnums
from autograd.tracer import getval, isbox

from .control import DEFAULT
from .traced import FlatODE, GroupNorm, flat_concat, flat_split, integrate

__all__ = ["AdjointSpec", "odeint_adjoint_flat", "publish_counts", "NORMS"]

NORMS = ("mixed", "seminorm", "rms")


class AdjointSpec:
    """Everything static about one solve: the flat ODE, tableau, tolerances, norm, the
    adjoint's settings, and the shared evaluation counters (`counters[role]`)."""

    def __init__(self, ode, tab, rtol, atol, *, adjoint_rtol, adjoint_atol, adjoint_norm,
                 options, counters, role="forward", norm=None, first_step=None,
                 state_sizes=None, controller=DEFAULT):
        self.ode, self.tab, self.rtol, self.atol = ode, tab, rtol, atol
        self.adjoint_rtol, self.adjoint_atol = adjoint_rtol, adjoint_atol
        self.adjoint_norm = adjoint_norm
        self.options, self.counters, self.role = dict(options), counters, role
        self.norm, self.first_step, self.h_next = norm, first_step, None
        self.state_sizes = state_sizes          # tuple states: sizes of the elements
        self.controller = controller            # DEFAULT, or the torchdiffeq preset
        # torchdiffeq's odeint_adjoint: a fresh odeint per backward interval (new f(t_i), new
        # initial step, or the user's first_step, which its adjoint_options inherit)
        self.fresh = getattr(controller, "fresh_adjoint_intervals", False)

    def with_first_step(self, h):
        new = copy.copy(self)
        new.first_step = h
        return new

    def record(self, stats):
        c = self.counters[self.role]
        for k in ("nfev", "n_steps", "n_accepted", "n_rejected"):
            c[k] += stats[k]

    def augmented(self, n, need_theta, need_t):
        """The spec of the backward solve: [y, a, (a_θ), (a_t)] of lengths n, n, p, 1."""
        ode = self.ode
        sizes = [int(np.prod(s, dtype=np.int64)) for s in ode.leaf_shapes]

        # [NeuralODE eq. 4] and App. B: the augmented dynamics, in forward time
        def aug_fun(t, s, leaves):
            y, a = s[:n], s[n:2 * n]
            f, g_y, g_leaves, g_t = ode.f_and_vjp(t, y, leaves, a)
            # plain NumPy when nothing is traced (the first-order adjoint: every stage), the
            # same values and dtypes as the autograd.numpy branch without its per-call cost
            traced = isbox(f) or isbox(g_y) or isbox(g_t) or any(isbox(g) for g in g_leaves)
            xp = anp if traced else np
            parts = [f, -g_y]
            if need_theta:
                parts.append(-(flat_concat(g_leaves) if traced or not g_leaves else
                               np.concatenate([np.ravel(g) for g in g_leaves])))
            if need_t:
                parts.append(-xp.reshape(g_t, (1,)))
            return xp.concatenate(parts)

        ys_groups = list(self.state_sizes or [n])       # y and a: one group per tuple element
        groups = ys_groups * 2 + (sizes if need_theta else []) + ([1] if need_t else [])
        include = ([True] * (2 * len(ys_groups))
                   + [self.adjoint_norm == "mixed"] * (len(sizes) if need_theta else 0)
                   + ([True] if need_t else []))
        norm = None if self.adjoint_norm == "rms" else GroupNorm(groups, include)
        opts = {k: v for k, v in self.options.items() if k != "first_step"}
        return AdjointSpec(FlatODE(aug_fun, ode.leaf_shapes), self.tab, self.adjoint_rtol,
                           self.adjoint_atol, adjoint_rtol=self.adjoint_rtol,
                           adjoint_atol=self.adjoint_atol, adjoint_norm=self.adjoint_norm,
                           options=opts, counters=self.counters, role="backward", norm=norm,
                           controller=self.controller,
                           first_step=self.first_step if self.fresh else None)


@primitive
def odeint_adjoint_flat(y0, t, theta, spec):
    """y at every t_i, (N, n), for y0: (n,), t: (N,), theta: flat differentiable args (p,)."""
    leaves = flat_split(theta, spec.ode.leaf_shapes)
    ys, stats = integrate(spec.ode.fun, y0, t, (leaves,), tab=spec.tab, rtol=spec.rtol,
                          atol=spec.atol, norm=spec.norm, first_step=spec.first_step,
                          controller=spec.controller, **spec.options)
    spec.record(stats)
    spec.h_next = stats["h_next"]
    return np.stack(ys)


def _adjoint_vjp(argnums, ys, args, kwargs):
    y0, t, theta, spec = args
    need_t, need_theta = 1 in argnums, 2 in argnums and np.size(getval(theta)) > 0
    # torchdiffeq's augmented state always carries a_t (its dynamics set requires_grad_ in
    # place on the detached t, so vjp_t is computed whether or not t needs a gradient): it
    # enters the error norm and the initial step of every backward solve
    carry_t = need_t or getattr(spec.controller, "adjoint_carries_t", False)

    def vjp(g):                                          # g: (N, n) = ∂L/∂y_i
        N, n = np.shape(getval(ys))
        dtype, t_dtype = _dtype(ys), _dtype(t)
        tt = t.astype(dtype) if t_dtype != dtype else t
        leaves = flat_split(theta, spec.ode.leaf_shapes)
        aug = spec.augmented(n, need_theta, carry_t)
        a = g[N - 1]
        a_theta = anp.zeros(np.size(getval(theta)), _dtype(theta)) if need_theta else None
        a_t = anp.zeros((), dtype)
        t_grads, h = [], None           # fresh initial step for the first interval
        for i in range(N - 1, 0, -1):
            if need_t:
                # ∂L/∂t_i = ∂L/∂y_i · f(t_i, y_i) (direct effect of moving the output time)
                d = anp.dot(g[i], spec.ode.fun(tt[i], ys[i], leaves))
                spec.counters["backward"]["nfev"] += 1
                t_grads.append(d)
                a_t = a_t - d
            # reset y to the stored forward value; a already holds the incoming gradient
            parts = [ys[i], a] + ([a_theta] if need_theta else []) \
                + ([anp.reshape(a_t, (1,))] if carry_t else [])
            sub = aug if spec.fresh else aug.with_first_step(h)
            s = odeint_adjoint_flat(anp.concatenate(parts), anp.stack([t[i], t[i - 1]]),
                                    theta, sub)[-1]
            h = sub.h_next
            a = s[n:2 * n] + g[i - 1]
            if need_theta:
                a_theta = s[2 * n:-1] if carry_t else s[2 * n:]
            if carry_t:
                a_t = s[-1]
        publish_counts(spec.counters)
        out = []
        for k in argnums:
            if k == 0:
                out.append(a)
            elif k == 1:
                gt = anp.stack([a_t] + t_grads[::-1]) if N > 1 else anp.zeros(1, dtype)
                out.append(gt.astype(t_dtype) if _dtype(gt) != t_dtype else gt)
            else:
                out.append(a_theta if need_theta else anp.zeros(np.shape(getval(theta)),
                                                                _dtype(theta)))
        return tuple(out)
    return vjp


defvjp_argnums(odeint_adjoint_flat, _adjoint_vjp)


def publish_counts(counters):
    """Copy the evaluation counters into the user's info dict, if any (after the forward
    solve and again after every backward pass): nfev_forward, n_steps_backward, ..."""
    info = counters.get("info")
    if info is None:
        return
    for role in ("forward", "backward"):
        for k, v in counters[role].items():
            info[f"{k}_{role}"] = v


def _dtype(x):
    return np.result_type(getval(x))
