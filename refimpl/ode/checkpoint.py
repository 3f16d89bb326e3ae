"""Checkpointed backpropagation through the solver: the exact discrete gradient in less memory.

`odeint_checkpoint_flat(y0, t, theta, spec)` solves forward on plain arrays, keeping the
state at every k-th accepted step (k = `spec.every`) and the list of accepted step sizes.
Its VJP walks the segments between checkpoints backwards: each segment is replayed from its
stored state under `autograd.make_vjp` with the *same* step sizes (the controller is not
re-run), and the cotangent is pulled through it. The replay repeats the forward arithmetic
operation for operation, so the result equals "backprop" mode (discrete gradient, accepted
step sizes constant, the clipped step to each t_i traced) up to rounding, while the taped
graph never holds more than k steps. Memory ≈ (n_steps / k)·S + k·T for a state of S bytes
and a tape of T bytes per step, smallest at k = sqrt(n_steps·S/T); for neural-ODE states
(S ≪ T) that is k = 1, every step (`numerics/adjoint_memory.py`). Griewank & Walther Ch. 12
give the optimal (binomial, multi-level) schedule, not implemented here. The price is one
extra forward pass.

Times inside a segment are rebuilt from the last output time t_j before it as
t_j + (t_start - t_j) with the offset a constant, so d/dt_j flows as in "backprop".
First-order gradients only.

References
----------
A. Griewank, A. Walther. Evaluating derivatives, 2nd ed., SIAM (2008), Ch. 12.
T. Chen, B. Xu, C. Zhang, C. Guestrin. Training deep nets with sublinear memory cost (2016).
"""
import autograd.numpy as anp
import numpy as np
from autograd import make_vjp
from autograd.extend import primitive, defvjp_argnums
from autograd.tracer import getval, isbox

from .adjoint import publish_counts
from .traced import _coeffs, flat_split, integrate, rk_step

__all__ = ["CheckpointSpec", "odeint_checkpoint_flat"]


class CheckpointSpec:
    """The flat ODE, tableau, tolerances, options, checkpoint spacing and the counters."""

    def __init__(self, ode, tab, rtol, atol, *, every, options, counters, norm=None,
                 **_adjoint):
        self.ode, self.tab, self.rtol, self.atol, self.norm = ode, tab, rtol, atol, norm
        self.every, self.options, self.counters = int(every), dict(options), counters
        self.steps, self.starts = None, None


@primitive
def odeint_checkpoint_flat(y0, t, theta, spec):
    """y at every t_i, (N, n); records the checkpoints in `spec`."""
    leaves = flat_split(theta, spec.ode.leaf_shapes)
    steps, starts = [], []                   # steps: (i_target, h); starts: (k, t, anchor, y)
    anchor = [0]

    def on_accept(i_target, h, t_before, y_before):
        if len(steps) % spec.every == 0:
            starts.append((len(steps), t_before, anchor[0], y_before))
        steps.append((i_target, h))
        if i_target >= 0:
            anchor[0] = i_target

    ys, stats = integrate(spec.ode.fun, y0, t, (leaves,), tab=spec.tab, rtol=spec.rtol,
                          atol=spec.atol, norm=spec.norm, on_accept=on_accept, **spec.options)
    c = spec.counters["forward"]
    for k in c:
        c[k] += stats[k]
    spec.steps, spec.starts = steps, starts
    return np.stack(ys)


def _replay(spec, steps, t_start, anchor, t_vals, counter):
    """The segment as a function of (y_start, t, theta) -> stack([y_end, outputs...])."""
    ode, tab = spec.ode, spec.tab

    def fun(s, y, leaves):
        counter[0] += 1
        return ode.fun(s, y, leaves)

    def replay(y, t, theta):
        dtype = np.result_type(getval(y))
        coeffs = _coeffs(tab, dtype)
        leaves = flat_split(theta, ode.leaf_shapes)
        t = t.astype(dtype) if np.result_type(getval(t)) != dtype else t
        tc = t[anchor] - t_vals[anchor] + t_start        # value t_start, derivative d/dt_anchor
        f0 = fun(tc, y, leaves)
        outs = []
        for j, (i_target, h) in enumerate(steps):
            if i_target >= 0:                            # clipped to the output time t_i
                y, ks = rk_step(fun, tc, y, t[i_target] - tc, f0, tab, (leaves,), coeffs,
                                t_new=t[i_target])
                tc = t[i_target]
                outs.append(y)
            else:
                y, ks = rk_step(fun, tc, y, h, f0, tab, (leaves,), coeffs)
                tc = tc + h
            if j < len(steps) - 1:
                f0 = ks[-1] if tab.fsal else fun(tc, y, leaves)
        return anp.stack([y] + outs)
    return replay


def _checkpoint_vjp(argnums, ys, args, kwargs):
    y0, t, theta, spec = args
    if isbox(ys) or isbox(t) or isbox(theta):
        raise NotImplementedError("gradient='checkpoint' gives first-order gradients only; "
                                  "use 'backprop' or 'adjoint' for higher order")
    steps, starts = spec.steps, spec.starts
    dtype = np.result_type(ys)
    t_vals = [float(v) for v in np.asarray(t, dtype)]

    def vjp(g):                                          # g: (N, n)
        if isbox(g):                                     # e.g. d/dw of dL/dθ, L = Σ w·ys
            raise NotImplementedError("gradient='checkpoint' gives first-order gradients "
                                      "only; use 'backprop' or 'adjoint' for higher order")
        g = np.asarray(g)
        g_y = np.zeros(ys.shape[1], dtype)
        g_t = np.zeros(np.shape(t), np.result_type(t))
        g_theta = np.zeros(np.shape(theta), np.result_type(theta))
        counter = [0]
        bounds = [s[0] for s in starts] + [len(steps)]
        for (k0, t_start, anchor, y_start), k1 in reversed(list(zip(starts, bounds[1:]))):
            seg = steps[k0:k1]
            hits = [i for i, _ in seg if i >= 0]
            replay = _replay(spec, seg, t_start, anchor, t_vals, counter)
            vjp_seg, _ = make_vjp(replay, argnum=(0, 1, 2))(y_start, t, theta)
            d_y, d_t, d_theta = vjp_seg(np.stack([g_y] + [g[i] for i in hits]))
            g_y, g_t, g_theta = d_y, g_t + d_t, g_theta + d_theta
        g_y = g_y + g[0]                                 # ys[0] is y0 itself
        c = spec.counters["backward"]
        c["nfev"] += counter[0]
        c["n_steps"] += len(steps)
        c["n_accepted"] += len(steps)
        publish_counts(spec.counters)
        return tuple({0: g_y, 1: g_t, 2: g_theta}[k] for k in argnums)
    return vjp


defvjp_argnums(odeint_checkpoint_flat, _checkpoint_vjp)
