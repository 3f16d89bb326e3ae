"""Continuous normalizing flows: log-density by one augmented ODE solve, sampling by the
reverse solve, stacks of CNF blocks with trainable end times.

Convention (FFJORD's): data x = z(0), base N(0, I) at z(t1). The augmented state
(z, Δlog p) obeys

    dz/dt = f(t, z),    dΔlog p/dt = -Tr(∂f/∂z)               # [NeuralODE Thm. 1]

and, integrated from 0 to t1 with Δlog p(0) = 0,

    log p(x) = log N(z(t1); 0, I) - Δlog p(t1)                  # [FFJORD eq. 4]

with Δlog p(t1) = -∫_0^{t1} Tr(∂f/∂z(t)) dt (the "accumulated change", data -> base).
Hutchinson's probe ε is drawn once per solve and held fixed ([FFJORD Sec. 3.1]).

    logp = log_prob(dynamics, params, x, t1=0.5, trace="hutchinson", rng=rng)   # (B,)
    x = sample(dynamics, params, z1, t1=0.5)                                     # (n, D)

Everything goes through `refimpl.ode.odeint`, so `log_prob` is differentiable (adjoint,
backprop or checkpoint) with respect to `params`, `x` and `t1`.

References
----------
W. Grathwohl et al. FFJORD (ICLR 2019), eqs. (4), (7)-(9); App. B (trainable end time
T = s², several CNF blocks in sequence).
R. T. Q. Chen et al. Neural ordinary differential equations (NeurIPS 2018), Thm. 1.
"""
import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from refimpl.nn import MLPDynamics

from .divergence import _hutchinson_with_value, draw_noise, dynamics_and_divergence
from .layers import init_concatsquash_dynamics, mlp_with_exact_divergence

__all__ = ["TRACES", "standard_normal_logprob", "flow", "log_prob", "sample",
           "end_time", "init_cnf", "cnf_log_prob", "cnf_sample"]

TRACES = ("exact", "hutchinson")


def standard_normal_logprob(z):
    """log N(z; 0, I) per row: z (B, D) -> (B,)."""
    D = anp.shape(z)[1]
    return -0.5 * anp.sum(z ** 2, axis=1) - 0.5 * D * np.log(2.0 * np.pi)


def _check_x(x, name):
    if anp.ndim(x) != 2:
        raise ValueError(f"{name}: expected a batch of shape (B, D), got shape {anp.shape(x)}")
    if not np.all(np.isfinite(getval(x))):
        raise ValueError(f"{name}: contains non-finite values")


def _check_t1(t1):
    v = getval(t1)
    if not (np.ndim(v) == 0 and np.isfinite(v) and v > 0):
        raise ValueError(f"t1: expected a positive finite scalar end time, got {v!r}")


def _is_mlp_dynamics(dynamics):
    return isinstance(dynamics, MLPDynamics)


def _augmented(dynamics, trace, eps, bottleneck):
    """func(t, (z, Δlogp), params) -> (dz/dt, dΔlogp/dt) for odeint."""
    if trace == "exact":
        fast = getattr(dynamics, "with_exact_divergence", None)
        if fast is None and _is_mlp_dynamics(dynamics):          # refimpl.nn's time-MLP fast path
            def fast(t, z, params):
                return mlp_with_exact_divergence(dynamics.activation, t, z, params,
                                                 dynamics.time_input)

        def f_div(t, z, params):
            if fast is not None:
                return fast(t, z, params)
            return dynamics_and_divergence(dynamics, t, z, params)
    else:
        def f_div(t, z, params):
            return _hutchinson_with_value(dynamics, t, z, params, eps, bottleneck)

    def func(t, state, params):
        z = state[0]
        f, div = f_div(t, z, params)                     # (B, D), (B,)
        # [NeuralODE Thm. 1] dΔlog p/dt = -Tr(∂f/∂z): the augmented state of [FFJORD eq. 4]
        return (f, -div)
    return func


def flow(dynamics, params, z0, *, t0=0.0, t1=1.0, trace="exact", noise="rademacher", rng=None,
         eps=None, bottleneck=None, rtol=1e-5, atol=1e-5, gradient="adjoint", method="dopri5",
         info=None):
    """Solve the augmented ODE from t0 to t1 (either direction) starting at (z0, 0).

    Returns (z(t1) (B, D), ∫_{t0}^{t1} -Tr(∂f/∂z) dt (B,)). `eps` (B, D), or (B, H) with
    `bottleneck`, overrides drawing noise from `rng` (fixed noise for gradient checks).
    """
    from refimpl.ode import odeint                       # the shared adjoint solver

    _check_x(z0, "x")
    if trace not in TRACES:
        raise ValueError(f"trace: expected one of {TRACES}, got {trace!r}")
    if trace == "hutchinson" and eps is None:
        if rng is None:
            raise ValueError("rng: expected a numpy.random.Generator for trace='hutchinson' "
                             "(or pass eps), got None")
        width = anp.shape(z0)[1]
        if bottleneck is not None:
            width = anp.shape(bottleneck[0](t0, z0[:1], params))[1]
        eps = draw_noise(rng, (anp.shape(z0)[0], width), noise)        # once per solve
    func = _augmented(dynamics, trace, eps, bottleneck)
    ts = anp.array([t0, t1])
    zs, dlogps = odeint(func, (z0, anp.zeros(anp.shape(z0)[0])), ts, (params,), method=method,
                        rtol=rtol, atol=atol, gradient=gradient, info=info)
    return zs[-1], dlogps[-1]


def log_prob(dynamics, params, x, *, t1=1.0, trace="exact", noise="rademacher", rng=None,
             rtol=1e-5, atol=1e-5, gradient="adjoint", eps=None, bottleneck=None,
             method="dopri5", info=None):
    """log p(x) per row, (B,), for x: (B, D) ([FFJORD eq. 4]); differentiable in params, x, t1.

    trace: "exact" (D VJPs, or the dynamics' own `with_exact_divergence`) or "hutchinson"
    (one VJP; noise "rademacher" | "gaussian" drawn from `rng` once per solve, or `eps`).
    The default noise "rademacher" follows this package's API; FFJORD's released scripts
    (train_toy.py, train_cnf.py) default to Gaussian probes (`--rademacher False`).
    """
    _check_t1(t1)
    z1, dlogp = flow(dynamics, params, x, t0=0.0, t1=t1, trace=trace, noise=noise, rng=rng,
                     eps=eps, bottleneck=bottleneck, rtol=rtol, atol=atol, gradient=gradient,
                     method=method, info=info)
    # [FFJORD eq. 4]: log p(z(0)) = log p(z(t1)) - Δlog p
    return standard_normal_logprob(z1) - dlogp


def sample(dynamics, params, z1, *, t1=1.0, rtol=1e-5, atol=1e-5, gradient="adjoint",
           method="dopri5", return_delta_logp=False, trace="exact", noise="rademacher",
           rng=None, eps=None, info=None):
    """Map base samples z1: (n, D) (drawn by the caller) to data space, one reverse solve.

    With `return_delta_logp=True`, also integrate the trace and return (x, Δlog p) where
    Δlog p = -∫_0^{t1} Tr dt along the path, so that log p(x) = log N(z1) - Δlog p.
    """
    from refimpl.ode import odeint

    _check_t1(t1)
    _check_x(z1, "z1")
    if return_delta_logp:
        x, dlogp_rev = flow(dynamics, params, z1, t0=t1, t1=0.0, trace=trace, noise=noise,
                            rng=rng, eps=eps, rtol=rtol, atol=atol, gradient=gradient,
                            method=method, info=info)
        return x, -dlogp_rev                             # ∫_{t1}^0 -Tr = -Δlog p
    # dynamics passed as is, so odeint can recognise its MLP fast path (refimpl.nn.time_mlp)
    zs = odeint(dynamics, z1, anp.array([t1, 0.0]), (params,),
                method=method, rtol=rtol, atol=atol, gradient=gradient, info=info)
    return zs[-1]


# --- stacks of CNF blocks with trainable end times (FFJORD App. B) ---------------------

def end_time(block):
    """T = s² from the block's `sqrt_end_time` s (FFJORD's parameterisation keeps T > 0)."""
    return block["sqrt_end_time"] ** 2


def init_cnf(rng, dim, hidden=(64, 64, 64), *, n_blocks=1, t1=0.5):
    """A stack of `n_blocks` CNF blocks [{"net": concatsquash params, "sqrt_end_time": s}]."""
    if int(n_blocks) < 1:
        raise ValueError(f"n_blocks: expected a positive integer, got {n_blocks!r}")
    _check_t1(t1)
    return [{"net": init_concatsquash_dynamics(rng, dim, hidden),
             "sqrt_end_time": np.array(np.sqrt(float(t1)))} for _ in range(int(n_blocks))]


def cnf_log_prob(dynamics, blocks, x, *, rng=None, **kw):
    """log p(x) for a stack: x -> block 1 -> ... -> block K -> N(0, I). (B,).

    Each block integrates its own dynamics over [0, T_k], T_k = end_time(block) (trainable);
    the Δlog p of the blocks add. Hutchinson noise is drawn once per block solve.
    """
    z, total = x, 0.0
    for block in blocks:
        z, dlogp = flow(dynamics, block["net"], z, t0=0.0, t1=end_time(block), rng=rng, **kw)
        total = total + dlogp
    return standard_normal_logprob(z) - total


def cnf_sample(dynamics, blocks, z1, **kw):
    """Map base samples z1: (n, D) through the stack in reverse (block K first)."""
    x = z1
    for block in reversed(blocks):
        x = sample(dynamics, block["net"], x, t1=end_time(block), **kw)
    return x
