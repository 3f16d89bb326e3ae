"""Planar flows, continuous (here) and discrete (`planar_nf`), and the 2-D target energies
they are compared on.

Planar normalizing flow (in `refimpl.ffjord.planar_nf`) (Rezende & Mohamed 2015, eq. 10-12), one layer on z: (B, D):

    f(z) = z + û h(wᵀz + b),   log|det ∂f/∂z| = log|1 + ûᵀ ψ(z)|,   ψ(z) = h'(wᵀz + b) w

with h = tanh and û = u + (m(wᵀu) - wᵀu) w / ‖w‖², m(x) = -1 + softplus(x), so that
wᵀû ≥ -1 and every layer is invertible (R&M App. A.1).

Planar continuous normalizing flow (Chen et al. 2018, Sec. 4, eq. 10), M hidden units:

    dz/dt = Σ_m u_m(t) h(w_m(t)ᵀ z + b_m(t)),   Tr(∂f/∂z) = Σ_m h'(w_m(t)ᵀ z + b_m(t)) u_m(t)ᵀ w_m(t)

(O(M D) per row, no Jacobian). θ(t) is either affine, θ0 + t θ1, or (time_dependence =
"hypernet") Chen et al.'s hypernetwork of t with gated u and a mean over the units
(`planar_hyper`; there u_m stands for u_m σ(g_m) / M).

Fast paths: `planar_cnf_flow` solves the augmented state [z, Δlog p] as one flat array with
`planar_cnf_augmented_fast`, whose fused `f_and_vjp` (plain NumPy, no autograd tracing) the
adjoint calls at every stage; `planar_nf_fast` runs the K layers as one primitive (numba
forward and reverse sweep, `planar_kernels`). The definitions the tests hold them to:
autograd's VJP of `planar_cnf_augmented`, and `planar_nf_forward` (and the NumPy sweeps
`planar_kernels._nf_layers`, `_nf_backward`).

Target energies U_1..U_3 of R&M Table 1 (p(z) ∝ exp(-U(z)), z: (B, 2)), used in Neural ODE
Figs. 4-5.

References
----------
D. J. Rezende, S. Mohamed. Variational inference with normalizing flows. ICML 2015
(eqs. 10-13, Table 1, App. A.1).
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
equations. NeurIPS 2018 (Sec. 4, eqs. 8-10, Figs. 4-5).
"""
import autograd.numpy as anp
import numpy as np
from autograd.scipy.special import logsumexp
from autograd.tracer import isbox

from .planar_hyper import hyper_forward, hyper_theta, hyper_theta_vjp, init_planar_cnf_hyper, is_hyper

__all__ = ["TARGETS", "target_energy", "init_planar_cnf", "planar_cnf_dynamics",
           "planar_cnf_augmented", "planar_cnf_augmented_fast", "planar_cnf_flow"]

TARGETS = ("U1", "U2", "U3")
TIME_DEPENDENCES = ("affine", "hypernet")


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")


def _check_z(z, D=None):
    if anp.ndim(z) != 2 or (D is not None and anp.shape(z)[1] != D):
        want = "(B, D)" if D is None else f"(B, {D})"
        raise ValueError(f"z: expected a batch of shape {want}, got shape {anp.shape(z)}")


# --- R&M Table 1: target energies ---------------------------------------------------------

def _w1(z):
    return anp.sin(2.0 * np.pi * z[:, 0] / 4.0)


def _w2(z):
    return 3.0 * anp.exp(-0.5 * ((z[:, 0] - 1.0) / 0.6) ** 2)


def target_energy(name, z):
    """U(z) per row, (B,), for z: (B, 2); the unnormalised target is exp(-U) (R&M Table 1)."""
    if name not in TARGETS:
        raise ValueError(f"name: expected one of {TARGETS}, got {name!r}")
    _check_z(z, 2)
    if name == "U1":
        r = anp.sqrt(anp.sum(z ** 2, axis=1))
        a = -0.5 * ((z[:, 0] - 2.0) / 0.6) ** 2
        c = -0.5 * ((z[:, 0] + 2.0) / 0.6) ** 2
        return 0.5 * ((r - 2.0) / 0.4) ** 2 - logsumexp(anp.stack([a, c]), axis=0)
    if name == "U2":
        return 0.5 * ((z[:, 1] - _w1(z)) / 0.4) ** 2
    a = -0.5 * ((z[:, 1] - _w1(z)) / 0.35) ** 2
    c = -0.5 * ((z[:, 1] - _w1(z) + _w2(z)) / 0.35) ** 2
    return -logsumexp(anp.stack([a, c]), axis=0)


# --- planar CNF ([NeuralODE Sec. 4]) ---------------------------------------------------------

def init_planar_cnf(rng, dim=2, M=32, scale=0.1, time_dependence="affine", **hyper_kw):
    """Parameters of the planar CNF with M units. time_dependence = "affine": {"W0", "W1",
    "U0", "U1": (M, D), "b0", "b1": (M,)}, θ(t) = θ0 + t θ1, W0 ~ N(0, 1/D), U0 ~ N(0, scale²/M)
    (a near-identity flow), slopes 0. "hypernet": Chen et al.'s hypernetwork of t
    (`planar_hyper.init_planar_cnf_hyper`, same θ(0) distribution; `hyper_kw`: hidden, t_scale)."""
    _check_rng(rng)
    if time_dependence not in TIME_DEPENDENCES:
        raise ValueError(f"time_dependence: expected one of {TIME_DEPENDENCES}, got {time_dependence!r}")
    if int(M) < 1 or int(dim) < 1:
        raise ValueError(f"M, dim: expected positive integers, got M={M!r}, dim={dim!r}")
    M, D = int(M), int(dim)
    if time_dependence == "hypernet":
        return init_planar_cnf_hyper(rng, D, M, scale, **hyper_kw)
    return {"W0": rng.standard_normal((M, D)) / np.sqrt(D), "W1": np.zeros((M, D)),
            "U0": scale * rng.standard_normal((M, D)) / np.sqrt(M), "U1": np.zeros((M, D)),
            "b0": rng.standard_normal(M), "b1": np.zeros(M)}


def _dim(p):
    return (anp.shape(p["A3"])[2] - 1) // 3 if is_hyper(p) else anp.shape(p["W0"])[1]


def _theta(t, p, xp=anp):
    """θ(t) = (w (M, D), u (M, D), b (M,)) with dz/dt = Σ_m u_m h(w_mᵀz + b_m): affine in t, or
    the hypernetwork's (w, u σ(g)/M, b) (its mean over units folded into u)."""
    if is_hyper(p):
        return hyper_theta(t, p, xp)
    return p["W0"] + t * p["W1"], p["U0"] + t * p["U1"], p["b0"] + t * p["b1"]


def _planar_cnf_parts(t, z, p, xp=anp):
    """θ(t) and the hidden units; xp = autograd.numpy (traceable) or numpy (no tracing cost)."""
    _check_z(z, _dim(p))
    W, U, b = _theta(t, p, xp)                                      # (M, D), (M, D), (M,)
    return W, U, xp.tanh(xp.dot(z, W.T) + b)                        # h(a): (B, M)


def _planar_cnf(t, z, p):
    # [NeuralODE eq. 10]: dz/dt = Σ_m u_m h(w_mᵀ z + b_m)
    W, U, h = _planar_cnf_parts(t, z, p)
    return anp.dot(h, U)                                            # (B, D)


def _planar_cnf_with_div(t, z, p, xp=anp):
    W, U, h = _planar_cnf_parts(t, z, p, xp)
    # [NeuralODE Sec. 4]: Tr(∂f/∂z) = Σ_m h'(a_m) u_mᵀ w_m, h' = 1 - tanh²
    return xp.dot(h, U), xp.dot(1.0 - h ** 2, xp.sum(U * W, axis=1))    # (B, D), (B,)


def planar_cnf_dynamics(t, z, params):
    """dz/dt of the planar CNF, (B, D). Attribute `with_exact_divergence(t, z, params)`
    returns (f, Tr ∂f/∂z) in O(B M D), which `refimpl.ffjord.log_prob` / `flow` pick up."""
    return _planar_cnf(t, z, params)


planar_cnf_dynamics.with_exact_divergence = _planar_cnf_with_div


# --- the augmented planar CNF on one flat state, with a hand-written VJP (the fast path) ------

def planar_cnf_augmented(t, y, params, xp=anp):
    """Chen et al. Thm. 1 on y = [z, Δlog p]: (B, D + 1) -> [dz/dt, -Tr ∂f/∂z] (B, D + 1).

    Attribute `f_and_vjp(t, y, params, a)` returns (f, aᵀ∂f/∂y, aᵀ∂f/∂params (dict like
    params), aᵀ∂f/∂t) in one pass; `refimpl.ode.odeint` calls it in the adjoint's backward
    solve instead of one autograd trace per stage. Its twin is autograd's VJP of this
    function (the tests compare them)."""
    f, div = _planar_cnf_with_div(t, y[:, :-1], params, xp)
    return xp.concatenate([f, -div[:, None]], axis=1)


def _planar_cnf_aug_f_and_vjp(t, y, p, a, xp=anp):
    """Reverse sweep of `planar_cnf_augmented` by hand (with xp = autograd.numpy it is
    differentiable again). a = [g (B, D), g_ℓ (B,)]; with x = z Wᵀ + b, h = tanh x,
    s = 1 - h², c = Σ_d U ⊙ W: f_z = h U, f_ℓ = -s c."""
    _check_z(y[:, :-1], _dim(p))
    (W, U, b), cache = hyper_forward(t, p, xp) if is_hyper(p) else (_theta(t, p, xp), None)
    h = xp.tanh(xp.dot(y[:, :-1], W.T) + b)                         # (B, M); W, U: (M, D)
    s = 1.0 - h ** 2                                                # h'(x), (B, M)
    c = xp.sum(U * W, axis=1)                                       # (M,) u_mᵀ w_m
    f = xp.concatenate([xp.dot(h, U), -xp.dot(s, c)[:, None]], axis=1)
    g, g_l = a[:, :-1], a[:, -1]                                    # (B, D), (B,)
    # ∂/∂h of gᵀ(hU) - g_ℓ (1 - h²) c
    G_h = xp.dot(g, U.T) + 2.0 * h * (g_l[:, None] * c)             # (B, M)
    G_x = G_h * s                                                   # (B, M)
    G_c = -xp.dot(g_l, s)                                           # (M,)
    G_U = xp.dot(h.T, g) + G_c[:, None] * W                         # (M, D)
    G_W = xp.dot(G_x.T, y[:, :-1]) + G_c[:, None] * U               # (M, D)
    G_b = xp.sum(G_x, axis=0)                                       # (M,)
    g_y = xp.concatenate([xp.dot(G_x, W), xp.zeros_like(g_l)[:, None]], axis=1)
    if is_hyper(p):                                                 # through the hypernetwork
        g_p, g_t = hyper_theta_vjp(t, p, G_W, G_U, G_b, xp, cache)
        return f, g_y, g_p, g_t
    # θ(t) = θ0 + t θ1: ∂/∂θ0 = G, ∂/∂θ1 = t G, ∂/∂t = Σ G ⊙ θ1
    g_p = {"W0": G_W, "W1": t * G_W, "U0": G_U, "U1": t * G_U, "b0": G_b, "b1": t * G_b}
    g_t = xp.sum(G_W * p["W1"]) + xp.sum(G_U * p["U1"]) + xp.sum(G_b * p["b1"])
    return f, g_y, g_p, g_t


planar_cnf_augmented.f_and_vjp = _planar_cnf_aug_f_and_vjp


def _traced(*xs):
    return any(isbox(x) for x in xs)


def planar_cnf_augmented_fast(t, y, params):
    """`planar_cnf_augmented` fused in plain NumPy when nothing is traced (the forward solve
    and every adjoint stage), the autograd.numpy definition when something is. Attribute
    `f_and_vjp` likewise. Plain NumPy rather than numba: np.tanh is vectorised (SIMD) while
    numba's scalar tanh is ~10x slower per element, so a numba kernel lost 2-4x for M >= 32."""
    xp = anp if _traced(t, y, *params.values()) else np
    return planar_cnf_augmented(t, y, params, xp)


def _planar_cnf_aug_f_and_vjp_fast(t, y, p, a):
    xp = anp if _traced(t, y, a, *p.values()) else np
    return _planar_cnf_aug_f_and_vjp(t, y, p, a, xp)


planar_cnf_augmented_fast.f_and_vjp = _planar_cnf_aug_f_and_vjp_fast


def planar_cnf_flow(params, z0, *, t0=0.0, t1=1.0, rtol=1e-5, atol=1e-5, state="flat",
                    **odeint_kw):
    """(z(t1) (B, D), ∫_{t0}^{t1} -Tr(∂f/∂z) dt (B,)) for the planar CNF from z(t0) = z0.

    The same numbers as `refimpl.ffjord.flow(planar_cnf_dynamics, ...)` up to the solver
    tolerance. state="flat": one (B, D + 1) state, so the error norm is the RMS over
    [z, Δlog p] (`flow` takes the max of the two RMS's) and step sequences can differ
    slightly; state="tuple": the tuple (z, Δlog p) of `flow` and torchdiffeq's
    examples/cnf.py (`tuple_state.TupleState`, the same fused kernels).
    Differentiable in params and z0 (adjoint with the fused NumPy VJP by default)."""
    from refimpl.ode import odeint
    from .tuple_state import TupleState
    _check_z(z0, _dim(params))
    if state not in ("flat", "tuple"):
        raise ValueError(f"state: expected 'flat' or 'tuple', got {state!r}")
    if state == "tuple":
        zs, dlogps = odeint(TupleState(planar_cnf_augmented_fast),
                            (z0, anp.zeros(anp.shape(z0)[0])), anp.array([t0, t1]), (params,),
                            rtol=rtol, atol=atol, **odeint_kw)
        return zs[-1], dlogps[-1]
    y0 = anp.concatenate([z0, anp.zeros((anp.shape(z0)[0], 1))], axis=1)
    y1 = odeint(planar_cnf_augmented_fast, y0, anp.array([t0, t1]), (params,), rtol=rtol,
                atol=atol, **odeint_kw)[-1]
    return y1[:, :-1], y1[:, -1]
