"""The planar CNF's parameters as a hypernetwork of t (Chen et al. 2018's time dependence).

Chen et al. (Sec. 4; code: the NumPy gist by R. T. Q. Chen, gist 91924063aa4cc95e7ef30b3a5491cc52,
ported as torchdiffeq `examples/cnf.py`, classes `HyperNetwork` and `CNF`) generate the M
planar units from t by a small MLP,

    t -> Linear(1, H) -> tanh -> Linear(H, H) -> tanh -> Linear(H, 3 M D + M),

whose output splits into W (M, D), U (M, D), a gate G (M, D) and b (M,), U <- U ⊙ σ(G), and

    dz/dt = (1/M) Σ_m u_m h(w_mᵀ z + b_m)                      (torchdiffeq: `.mean(0)`)

The last Linear layer is stored with its outputs grouped per unit, "A3": (H, M, 3D + 1),
"c3": (M, 3D + 1), row m = [w_m (D), u_m (D), g_m (D), b_m]: the same map as torchdiffeq's
Linear(H, 3MD + M) up to a permutation of its outputs, but the shapes carry M and D.
`hyper_theta` returns θ(t) = (w, u_eff = u σ(g) / M, b), so the planar CNF code in `planar.py`
runs unchanged on either time dependence; `hyper_theta_vjp` chains the per-t cotangents
(∂/∂w, ∂/∂u_eff, ∂/∂b) back through the MLP by hand (O(H M D), small next to the O(B M D)
batch work).

Initialisation: the two hidden layers as PyTorch's nn.Linear default (U(±1/√fan_in)); the
output layer's weights U(±1/√H) times `t_scale`, its biases as the affine planar CNF's θ0
(w ~ N(0, 1/D), b ~ N(0, 1), u σ(g)/M ~ N(0, scale²/M) with g = 0), so both time dependences
start from the same near-identity flow.

References
----------
R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural ordinary differential
equations. NeurIPS 2018 (Sec. 4, eq. 10, Figs. 4-5); gist rtqichen/91924063aa4cc95e7ef30b3a5491cc52;
torchdiffeq examples/cnf.py (HyperNetwork: hidden_dim 32, width M, gate U·sigmoid(G), mean over M).
"""
import autograd.numpy as anp
import numpy as np

__all__ = ["init_planar_cnf_hyper", "is_hyper", "hyper_forward", "hyper_theta", "hyper_theta_vjp"]


def is_hyper(p):
    """True for hypernetwork parameters (`init_planar_cnf_hyper`), False for the affine θ(t)."""
    return "A3" in p


def init_planar_cnf_hyper(rng, dim=2, M=32, scale=0.1, hidden=32, t_scale=1.0):
    """{"A1", "c1": (H,), "A2": (H, H), "c2": (H,), "A3": (H, M, 3D + 1), "c3": (M, 3D + 1)}
    (see the module docstring)."""
    if int(M) < 1 or int(dim) < 1 or int(hidden) < 1:
        raise ValueError(f"M, dim, hidden: expected positive integers, got M={M!r}, dim={dim!r}, "
                         f"hidden={hidden!r}")
    M, D, H = int(M), int(dim), int(hidden)

    def unif(bound, shape):
        return rng.uniform(-bound, bound, shape)
    # θ(0)'s offsets as the affine init: w ~ N(0, 1/D), b ~ N(0, 1), g = 0 and, as σ(0) = ½,
    # u σ(g) / M ~ scale · N(0, 1/M)
    c3 = np.concatenate([rng.standard_normal((M, D)) / np.sqrt(D),
                         2.0 * scale * np.sqrt(M) * rng.standard_normal((M, D)),
                         np.zeros((M, D)), rng.standard_normal((M, 1))], axis=1)
    return {"A1": unif(1.0, H), "c1": unif(1.0, H),
            "A2": unif(1 / np.sqrt(H), (H, H)), "c2": unif(1 / np.sqrt(H), H),
            "A3": unif(t_scale / np.sqrt(H), (H, M, 3 * D + 1)), "c3": c3}


def _sigmoid(x, xp):
    return 0.5 * (1.0 + xp.tanh(0.5 * x))


def hyper_forward(t, p, xp=anp):
    """(θ(t) as `hyper_theta`, the cache (h1, h2 (H,), u (M, D), σ(g) (M, D)) for the VJP)."""
    H, M, E = np.shape(p["A3"])
    D = (E - 1) // 3
    # torchdiffeq examples/cnf.py HyperNetwork: t -> tanh(fc1) -> tanh(fc2) -> fc3 (3MD + M)
    h1 = xp.tanh(t * p["A1"] + p["c1"])                             # (H,)
    h2 = xp.tanh(xp.dot(h1, p["A2"]) + p["c2"])                     # (H,)
    o = xp.reshape(xp.dot(h2, xp.reshape(p["A3"], (H, M * E))), (M, E)) + p["c3"]   # (M, 3D + 1)
    W, U, sg, b = o[:, :D], o[:, D:2 * D], _sigmoid(o[:, 2 * D:3 * D], xp), o[:, -1]
    # torchdiffeq HyperNetwork: U <- U sigmoid(G); CNF: dz/dt = mean over the M units
    return (W, U * sg / M, b), (h1, h2, U, sg)


def hyper_theta(t, p, xp=anp):
    """θ(t) = (w (M, D), u_eff = u σ(g) / M (M, D), b (M,)) from the hypernetwork of t."""
    return hyper_forward(t, p, xp)[0]


def hyper_theta_vjp(t, p, G_W, G_Ueff, G_b, xp=np, cache=None):
    """Cotangents of the hypernetwork parameters and of t, given those of θ(t) = (w, u_eff, b):
    returns (dict like p, scalar). The reverse sweep of `hyper_theta`, by hand; `cache` = the
    second value of `hyper_forward` (recomputed if None)."""
    h1, h2, U, sg = hyper_forward(t, p, xp)[1] if cache is None else cache
    H, M, E = np.shape(p["A3"])
    # u_eff = u σ(g) / M: ∂/∂u = σ/M, ∂/∂g = u σ (1 - σ) / M
    G_o = xp.concatenate([G_W, G_Ueff * sg / M, G_Ueff * U * sg * (1.0 - sg) / M,
                          G_b[:, None]], axis=1)                    # (M, 3D + 1)
    g = {"c3": G_o, "A3": xp.reshape(xp.outer(h2, G_o), (H, M, E))}
    G_a2 = xp.dot(xp.reshape(p["A3"], (H, M * E)), xp.reshape(G_o, (M * E,))) * (1.0 - h2 ** 2)
    g["A2"], g["c2"] = xp.outer(h1, G_a2), G_a2                     # (H, H), (H,)
    G_a1 = xp.dot(p["A2"], G_a2) * (1.0 - h1 ** 2)                  # (H,)
    g["A1"], g["c1"] = t * G_a1, G_a1
    return g, xp.sum(G_a1 * p["A1"])
