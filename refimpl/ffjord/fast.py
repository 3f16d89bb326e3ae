"""Fast path for FFJORD: concatsquash dynamics and divergence fused into one kernel pair.

    from refimpl.ffjord.fast import fast_concatsquash_dynamics as FAST
    f, div = FAST.with_exact_divergence(t, z, params)          # (B, D), (B,)
    f, est = f_and_divergence(t, z, params, probes=eps[:, None, :])   # Hutchinson, (B,)
    logp = fast_log_prob(params, x, t1=0.5)                    # the training path (adjoint)

One forward sweep gives f and Σ_k e_kᵀ (∂f/∂z) e_k for a probe matrix E: (B, K, D) (E = I: the
exact trace; E = ε, K = 1: Hutchinson's estimate, [FFJORD eq. 7]); one reverse sweep gives the
VJP (∂/∂z, ∂/∂θ, ∂/∂t of gᵀf + g_divᵀdiv). Both are in `refimpl.ffjord.sweep` (plain NumPy on
preallocated buffers). Here they become

* autograd primitives (`_fused`, `_fused_aug`) for every autograd path (`log_prob`, backprop
  and checkpointed `odeint`), and
* `AugmentedDynamics.f_and_vjp(t, y, θ, a)`: f and aᵀ∂f/∂y, aᵀ∂f/∂θ, aᵀ∂f/∂t of FFJORD's
  augmented ODE (eq. 4) in one forward + one reverse sweep on the same tape, the protocol
  `refimpl.ode.odeint` calls at every stage of the adjoint's backward solve (Chen et al. 2018,
  eq. 4) instead of tracing the primitive with `autograd.make_vjp`.

The readable twin is `layers.concatsquash_dynamics.with_exact_divergence` (autograd); tests
compare them to ~1e-12 and gradient-check both VJP paths.

References
----------
W. Grathwohl et al. FFJORD (ICLR 2019), eqs. (4), (7); concatsquash layers of the released code.
R. T. Q. Chen et al. Neural ordinary differential equations (NeurIPS 2018), eq. (4), App. B.
A. Griewank, A. Walther. Evaluating derivatives (2008), Ch. 3-4 (forward tangents, reverse sweep).
"""
import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp_argnums, primitive
from autograd.tracer import isbox

from . import sweep
from .layers import concatsquash_dynamics
from .tuple_state import TupleState

__all__ = ["f_and_divergence", "fast_concatsquash_dynamics", "augmented_dynamics",
           "AugmentedDynamics", "fast_log_prob", "fast_cnf_log_prob"]

_KEYS = ("W", "b", "w_gate", "b_gate", "w_hyper")


# --- the sweeps on the thread's workspace, remembering whose tape it holds ---------------
def _key(z, E, t, theta):
    return (id(z), id(E), float(t), tuple(id(p) for p in theta))


def _forward(t, z, E, theta, key=None):
    """sweep.forward on the cached workspace; returns (f, div, ws) (f, div: views into ws).
    key: who owns the tape (checked by `_tape`); None for a caller that uses it at once."""
    ws = sweep.workspace(E.shape[0], E.shape[1], sweep.widths_of(theta))
    ws.key = None
    f, div = sweep.forward(t, z, E, theta, ws)
    if key is not None:
        ws.key, ws.refs = key, (z, E, theta)      # refs keep the ids valid (a view: its base)
    return f, div, ws


def _tape(t, z, E, theta, key):
    """A private copy of the tape of the forward sweep at these arguments (autograd calls
    the VJP maker right after the primitive, so this is normally a copy, not a new sweep).
    key: the one the primitive gave `_forward`."""
    ws = sweep.workspace(E.shape[0], E.shape[1], sweep.widths_of(theta))
    if getattr(ws, "key", None) == key:
        return ws.copy()
    tape = sweep.Workspace(E.shape[0], E.shape[1], sweep.widths_of(theta))
    sweep.forward(t, z, E, theta, tape)
    return tape


# --- autograd primitives -------------------------------------------------------------------
@primitive
def _fused(t, z, E, *theta):
    """[f, div] as one (B, D + 1) array."""
    f, div, _ = _forward(t, z, E, theta, key=_key(z, E, t, theta))
    return np.concatenate([f, div[:, None]], axis=1)


def _fused_vjp(argnums, ans, args, kwargs):
    t, z, E, *theta = args
    _first_order_only(*args)
    tape = _tape(t, z, E, theta, _key(z, E, t, theta))

    def vjp(g):
        _first_order_only(g)
        g_z, grads, g_t = sweep.backward(t, E, theta, tape, g[:, :-1], g[:, -1])
        return _per_argnum(argnums, t, g_t, g_z, grads)
    return vjp


def _per_argnum(argnums, t, g_t, g_state, grads):
    """The VJP's outputs in autograd's argnums order for args (t, state, E, *theta)."""
    out = []
    for k in argnums:
        if k == 0:
            out.append(np.reshape(g_t, np.shape(t)))
        elif k == 1:
            out.append(g_state)
        elif k == 2:
            raise NotImplementedError("gradient with respect to the probes E")
        else:
            out.append(grads[k - 3])
    return tuple(out)


def _first_order_only(*xs):
    """The VJPs are hand-written NumPy, not autograd primitives themselves: no second order."""
    if any(isbox(x) for x in xs):
        raise NotImplementedError(
            "second derivatives through the fused FFJORD kernel (refimpl.ffjord.fast) are not "
            "implemented (its VJP is plain NumPy); for Hessian-vector products use the autograd "
            "twin, refimpl.ffjord.log_prob(concatsquash_dynamics, ...)")


defvjp_argnums(_fused, _fused_vjp)


def _aug_out(f, div):
    """[FFJORD eq. 4]: [dz/dt, dΔlog p/dt] = [f, -div], (B, D + 1), a fresh array."""
    out = np.empty((f.shape[0], f.shape[1] + 1))
    out[:, :-1] = f
    np.negative(div, out=out[:, -1])
    return out


@primitive
def _fused_aug(t, y, E, *theta):
    """[FFJORD eq. 4] on one flat augmented state y = [z, Δlog p]: (B, D + 1) -> [f, -div]."""
    # keyed on y (z = y[:, :-1] is a new view at every call, its id would never match)
    f, div, _ = _forward(t, y[:, :-1], E, theta, key=_key(y, E, t, theta))
    return _aug_out(f, div)


def _fused_aug_vjp(argnums, ans, args, kwargs):
    t, y, E, *theta = args
    _first_order_only(*args)
    tape = _tape(t, y[:, :-1], E, theta, _key(y, E, t, theta))

    def vjp(g):
        _first_order_only(g)
        g_z, grads, g_t = sweep.backward(t, E, theta, tape, g[:, :-1], -g[:, -1])
        g_y = np.concatenate([g_z, np.zeros((g_z.shape[0], 1))], axis=1)   # Δlog p does not feed back
        return _per_argnum(argnums, t, g_t, g_y, grads)
    return vjp


defvjp_argnums(_fused_aug, _fused_aug_vjp)


# --- the augmented dynamics with the fused-VJP protocol of `odeint` ---------------------------
class AugmentedDynamics:
    """func(t, y, theta) for `odeint` on the flat augmented state y = [z, Δlog p]: (B, D + 1),
    theta = flat list [W, b, w_gate, b_gate, w_hyper] per layer, E: (B, K, D) probes (as in
    `f_and_divergence`). `f_and_vjp` is what the adjoint's backward solve calls."""

    def __init__(self, E):
        self.E = E

    def __call__(self, t, y, theta):
        return _fused_aug(t, y, self.E, *theta)

    def f_and_vjp(self, t, y, theta, a):
        """(f, aᵀ∂f/∂y (B, D + 1), [aᵀ∂f/∂θ like theta], aᵀ∂f/∂t) at one point: one forward
        and one reverse sweep on the same tape ([NeuralODE eq. 4]: the adjoint's stages)."""
        _first_order_only(t, y, a, *theta)        # differentiating the adjoint itself
        f, div, ws = _forward(t, y[:, :-1], self.E, theta)
        f_aug = _aug_out(f, div)
        # the cotangent of [f, -div] is a = [a_z, a_Δ]: g_f = a_z, g_div = -a_Δ
        g_z, grads, g_t = sweep.backward(t, self.E, theta, ws, a[:, :-1], -a[:, -1])
        g_y = np.zeros_like(f_aug)
        g_y[:, :-1] = g_z                                            # Δlog p does not feed back
        return f_aug, g_y, grads, g_t


def augmented_dynamics(E):
    """`AugmentedDynamics(E)`: func(t, y, theta) for `odeint` on y = [z, Δlog p]."""
    return AugmentedDynamics(E)


def fast_log_prob(params, x, *, t1=0.5, trace="exact", eps=None, rtol=1e-5, atol=1e-5,
                  info=None, state="flat", **odeint_kw):
    """log p(x), (B,), as `refimpl.ffjord.log_prob(concatsquash_dynamics, ...)` but solving the
    augmented ODE with the fused kernels (no autograd tracing per evaluation in the adjoint).
    state="flat": one (B, D + 1) array, error norm the RMS over [z, Δlog p] (`log_prob` takes
    the max of the two RMS's), so step sequences can differ slightly; state="tuple": the
    tuple (z, Δlog p) of `log_prob` and FFJORD (`tuple_state.TupleState`, the same kernels),
    with `controller="torchdiffeq"` (in odeint_kw) FFJORD's own steps.
    trace="hutchinson" needs eps (B, D)."""
    from .cnf import _check_t1, _check_x, standard_normal_logprob

    _check_x(x, "x")                                  # (B, D), finite
    _check_t1(t1)                                     # positive finite scalar, as log_prob
    B, D = anp.shape(x)
    if not (trace == "exact" or (trace == "hutchinson" and eps is not None
                                 and np.shape(eps) == (B, D))):
        raise ValueError(f"trace/eps: expected trace='exact', or 'hutchinson' with eps of shape "
                         f"{(B, D)}; got trace={trace!r}, eps shape {np.shape(eps)}")
    if state not in ("flat", "tuple"):
        raise ValueError(f"state: expected 'flat' or 'tuple', got {state!r}")
    z1, dlogp = _fast_flow(params, x, t1, trace, eps, rtol, atol, info, odeint_kw, state)
    # [FFJORD eq. 4]: log p(x) = log N(z(t1)) - Δlog p(t1)
    return standard_normal_logprob(z1) - dlogp


def fast_cnf_log_prob(blocks, x, *, trace="exact", rng=None, noise="rademacher", rtol=1e-5,
                      atol=1e-5, info=None, **odeint_kw):
    """log p(x) for a stack of CNF blocks (`cnf.init_cnf`), (B,), as `cnf.cnf_log_prob` with
    the concatsquash tanh dynamics, each block solved by `fast_log_prob` over [0, T_k],
    T_k = s_k² (trainable: the adjoint gives dlog p/dT_k). trace="hutchinson" draws one probe
    per block solve from `rng` (noise "rademacher" | "gaussian"). `info`: the solver's counts
    (nfev_forward, nfev_backward, ...: filled in by the backward pass too) for one block; for
    several, one dict per block in info["blocks"]."""
    from .cnf import _check_x, end_time, standard_normal_logprob
    from .divergence import draw_noise

    _check_x(x, "x")                                  # (B, D), finite
    if trace not in ("exact", "hutchinson"):
        raise ValueError(f"trace: expected 'exact' or 'hutchinson', got {trace!r}")
    if trace == "hutchinson" and rng is None:
        raise ValueError("rng: expected a numpy.random.Generator for trace='hutchinson', got None")
    z, total = x, 0.0
    for block in blocks:
        eps = draw_noise(rng, anp.shape(z), noise) if trace == "hutchinson" else None
        sub = info
        if info is not None and len(blocks) > 1:
            sub = {}
            info.setdefault("blocks", []).append(sub)
        z_out, dlogp = _fast_flow(block["net"], z, end_time(block), trace, eps, rtol, atol,
                                  sub, odeint_kw)
        z, total = z_out, total + dlogp
    # [FFJORD eq. 4] for the stack: the blocks' Δlog p add
    return standard_normal_logprob(z) - total


def _fast_flow(params, x, t1, trace, eps, rtol, atol, info, odeint_kw, state="flat"):
    """(z(t1) (B, D), Δlog p(t1) (B,)): one augmented solve from (x, 0), as one flat array
    y = [z, Δlog p] (state="flat") or the tuple (z, Δlog p) (state="tuple")."""
    from refimpl.ode import odeint
    B, D = anp.shape(x)
    E = (np.broadcast_to(np.eye(D), (B, D, D)) if trace == "exact"
         else np.asarray(eps, float)[:, None, :])
    theta = [layer[k] for layer in params for k in _KEYS]
    if state == "tuple":
        z1, dlogp = odeint(TupleState(AugmentedDynamics(E)), (x, anp.zeros(B)),
                           anp.array([0.0, t1]), (theta,), rtol=rtol, atol=atol, info=info,
                           **odeint_kw)
        return z1[-1], dlogp[-1]
    y0 = anp.concatenate([x, anp.zeros((B, 1))], axis=1)
    y1 = odeint(AugmentedDynamics(E), y0, anp.array([0.0, t1]), (theta,), rtol=rtol,
                atol=atol, info=info, **odeint_kw)[-1]
    return y1[:, :D], y1[:, D]


def f_and_divergence(t, z, params, probes=None):
    """(f (B, D), Σ_k e_kᵀ(∂f/∂z)e_k (B,)) for concatsquash params (layers.py layout).

    probes: None for the exact trace (E = I), or (B, K, D) probe vectors (Hutchinson: K = 1,
    ε drawn once per solve); differentiable in t, z and params (hand-written VJP)."""
    if anp.ndim(z) != 2:
        raise ValueError(f"z: expected a batch of shape (B, D), got shape {anp.shape(z)}")
    B, D = anp.shape(z)
    if probes is None:
        E = np.broadcast_to(np.eye(D), (B, D, D))
    else:
        E = np.asarray(probes, dtype=float)
        if E.ndim != 3 or E.shape[0] != B or E.shape[2] != D:
            raise ValueError(f"probes: expected shape ({B}, K, {D}), got {E.shape}")
    theta = [layer[k] for layer in params for k in _KEYS]
    out = _fused(t, z, E, *theta)
    return out[:, :-1], out[:, -1]


def fast_concatsquash_dynamics(t, z, params):
    """tanh concatsquash dynamics (same numbers as layers.concatsquash_dynamics); attribute
    `with_exact_divergence` is the fused kernel, used by `log_prob(trace="exact")`."""
    return concatsquash_dynamics(t, z, params)


fast_concatsquash_dynamics.with_exact_divergence = lambda t, z, params: f_and_divergence(t, z, params)
fast_concatsquash_dynamics.bottleneck = concatsquash_dynamics.bottleneck
fast_concatsquash_dynamics.activation = "tanh"
