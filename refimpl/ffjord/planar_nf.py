"""Planar normalizing flow (Rezende & Mohamed 2015, eqs. 10-13), K layers on z: (B, D):

    f(z) = z + û h(wᵀz + b),   log|det ∂f/∂z| = log|1 + ûᵀ ψ(z)|,   ψ(z) = h'(wᵀz + b) w

with h = tanh and û = u + (m(wᵀu) - wᵀu) w / ‖w‖², m(x) = -1 + softplus(x) (R&M App. A.1).
`planar_nf_forward` is the readable definition; `planar_nf_fast` runs the K layers as one
autograd primitive with a hand-written VJP (numba forward and reverse sweeps,
`planar_kernels`), held to it by tests/ffjord/test_ffjord_planar.py. Split out of
`planar.py` (the planar CNF), which it is compared with in `cnf-vs-nf`.

References
----------
D. J. Rezende, S. Mohamed. Variational inference with normalizing flows. ICML 2015
(eqs. 10-13, App. A.1).
"""
import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp_argnums, primitive

from .planar import _check_rng, _check_z
from .planar_kernels import _nf_backward, _nf_layers, nf_backward_kernel, nf_forward_kernel  # noqa: F401

__all__ = ["init_planar_nf", "planar_u_hat", "planar_nf_forward", "planar_nf_fast"]


# --- planar NF (R&M eqs. 10-12) ---------------------------------------------------------------

def init_planar_nf(rng, dim=2, K=32, scale=0.1):
    """K layers stacked: {"w": (K, D), "u": (K, D), "b": (K,)}; w ~ N(0, 1/D), u ~ N(0, scale²),
    b = 0. (Stacked arrays, not a list of K dicts: autograd's cost per container leaf.)"""
    _check_rng(rng)
    if int(K) < 1 or int(dim) < 1:
        raise ValueError(f"K, dim: expected positive integers, got K={K!r}, dim={dim!r}")
    K, D = int(K), int(dim)
    return {"w": rng.standard_normal((K, D)) / np.sqrt(D), "u": scale * rng.standard_normal((K, D)),
            "b": np.zeros(K)}


def planar_u_hat(w, u):
    """R&M App. A.1: û = u + (m(wᵀu) - wᵀu) w/‖w‖², m(x) = -1 + softplus(x); wᵀû ≥ -1.

    w, u: (K, D) (one row per layer) -> û: (K, D)."""
    wu = anp.sum(w * u, axis=-1, keepdims=True)                     # (K, 1)
    m = -1.0 + anp.logaddexp(0.0, wu)
    return u + (m - wu) * w / anp.sum(w ** 2, axis=-1, keepdims=True)


def planar_nf_forward(params, z):
    """Push z: (B, D) through the K layers; returns (f_K ∘ ... ∘ f_1(z), Σ_k log|det J_k|).

    R&M eq. (13): log q_K(z_K) = log q_0(z_0) - Σ_k log|1 + ûᵀ ψ_k(z_{k-1})|."""
    _check_z(z, anp.shape(params["w"])[1])
    W, b = params["w"], params["b"]                                 # (K, D), (K,)
    U = planar_u_hat(W, params["u"])                                # (K, D)
    wu = anp.sum(W * U, axis=1)                                     # (K,) wᵀû ≥ -1
    logdet = 0.0
    for k in range(anp.shape(W)[0]):
        h = anp.tanh(anp.dot(z, W[k]) + b[k])                       # (B,)
        # R&M eqs. (11)-(12): ψ = h'(wᵀz + b) w, det = 1 + ûᵀψ
        logdet = logdet + anp.log(anp.abs(1.0 + (1.0 - h ** 2) * wu[k]))
        z = z + h[:, None] * U[k]                                   # eq. (10), (B, D)
    return z, logdet


# --- the same flow as one autograd primitive with a hand-written VJP (the fast twin) ----------

def _c64(x):
    return np.ascontiguousarray(x, dtype=np.float64)


@primitive
def _planar_nf_prim(W, U, b, z):
    """[z_K, Σ_k log|det_k|]: (B, D + 1), by the numba kernel (twin: `_nf_layers`)."""
    zs, hs, dets, _ = nf_forward_kernel(_c64(W), _c64(U), _c64(b), _c64(z))
    return np.concatenate([zs[-1], np.sum(np.log(np.abs(dets)), axis=0)[:, None]], axis=1)


def _planar_nf_vjp(argnums, ans, args, kwargs):
    W, U, b, z = (_c64(x) for x in args)
    tape = nf_forward_kernel(W, U, b, z)                            # zs, hs, dets, c

    def vjp(g):                                                     # g: (B, D + 1)
        grads = nf_backward_kernel(W, U, *tape, _c64(g[:, :-1]), _c64(g[:, -1]))
        return tuple(grads[i] for i in argnums)                     # (gW, gU, gb, gz)
    return vjp


defvjp_argnums(_planar_nf_prim, _planar_nf_vjp)


def planar_nf_fast(params, z):
    """`planar_nf_forward` with the K layers fused into one primitive (hand-written VJP,
    gradient-checked against the autograd twin in the tests); same return values."""
    _check_z(z, anp.shape(params["w"])[1])
    U = planar_u_hat(params["w"], params["u"])
    out = _planar_nf_prim(params["w"], U, params["b"], z)           # (B, D + 1)
    return out[:, :-1], out[:, -1]
