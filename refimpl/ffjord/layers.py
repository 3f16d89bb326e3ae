"""FFJORD's time-conditioned "concatsquash" layers and the CNF dynamics built from them.

One layer (FFJORD code `ConcatSquashLinear`), for a batch x: (B, d_in) and scalar time t:

    y = (x W + b) * sigmoid(t w_gate + b_gate) + t w_hyper          # (B, d_out)

The dynamics f(t, z) is a stack of such layers with an activation between them (FFJORD's
toy models: 2 -> 64 -> 64 -> 64 -> 2, tanh). Parameters are a list of dicts
{"W": (d_in, d_out), "b", "w_gate", "b_gate", "w_hyper": (d_out,)}.

    params = init_concatsquash_dynamics(rng, dim=2, hidden=(64, 64, 64))
    dz = concatsquash_dynamics(t, z, params)                         # (B, 2)
    dz, div = concatsquash_dynamics.with_exact_divergence(t, z, params)
    dz, JT = concatsquash_dynamics.with_jacobian(t, z, params)       # JT: (B, D, D) = (∂f/∂z)ᵀ

`with_exact_divergence` propagates the full Jacobian ∂h_l/∂z: (B, D, H_l) forward with
the layers (forward-mode, one pass, plain autograd code), which for small D is much
cheaper than D separate VJPs; `log_prob(trace="exact")` uses it when present.
`bottleneck = (encode, decode)` splits the dynamics after the first hidden layer, for the
bottleneck Hutchinson estimator (ε in the first hidden width H).

References
----------
W. Grathwohl et al. FFJORD (ICLR 2019), App. B-C and the released code (`diffeq_layers`,
`ConcatSquashLinear`; layer type "concatsquash" used for the toy densities).
"""
import autograd.numpy as anp
import numpy as np
from autograd.scipy.special import expit

__all__ = ["init_concatsquash", "concatsquash", "init_concatsquash_dynamics",
           "make_concatsquash_dynamics", "concatsquash_dynamics", "mlp_with_exact_divergence"]


def init_concatsquash(rng, d_in, d_out):
    """One concatsquash layer, initialised like torch's nn.Linear (as in FFJORD's code):
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the hyper-networks on t have fan_in 1."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    k = 1.0 / np.sqrt(d_in)
    return {"W": rng.uniform(-k, k, (d_in, d_out)), "b": rng.uniform(-k, k, d_out),
            "w_gate": rng.uniform(-1, 1, d_out), "b_gate": rng.uniform(-1, 1, d_out),
            "w_hyper": rng.uniform(-1, 1, d_out)}


def _gate(layer, t):
    return expit(t * layer["w_gate"] + layer["b_gate"])                 # (d_out,)


def concatsquash(layer, t, x):
    """FFJORD ConcatSquashLinear: (x W + b) * σ(t w_gate + b_gate) + t w_hyper. x: (B, d_in)."""
    return (anp.dot(x, layer["W"]) + layer["b"]) * _gate(layer, t) + t * layer["w_hyper"]


def init_concatsquash_dynamics(rng, dim, hidden=(64, 64, 64)):
    """Parameters of f: R^dim -> R^dim, widths [dim, *hidden, dim]."""
    sizes = [int(dim), *[int(h) for h in hidden], int(dim)]
    if min(sizes) < 1:
        raise ValueError(f"hidden: expected positive widths, got {hidden}")
    return [init_concatsquash(rng, a, b) for a, b in zip(sizes[:-1], sizes[1:])]


def _bdot(J, W):
    """(B, D, H) @ (H, K) -> (B, D, K) as one 2-D matrix product (autograd's VJP of a 3-D
    `dot` goes through a slow tensordot)."""
    B, D, H = anp.shape(J)
    return anp.reshape(anp.dot(anp.reshape(J, (B * D, H)), W), (B, D, anp.shape(W)[1]))


_ACTS = {
    # name: (σ, σ') with σ' written in terms of the pre-activation a
    "tanh": (anp.tanh, lambda a: 1.0 - anp.tanh(a) ** 2),
    "softplus": (lambda a: anp.logaddexp(0.0, a), expit),
}


def make_concatsquash_dynamics(activation="tanh"):
    """Return `dynamics(t, z, params) -> (B, D)` with attributes `with_exact_divergence`,
    `with_jacobian` and `bottleneck`, for the given activation ("tanh" or "softplus")."""
    if activation not in _ACTS:
        raise ValueError(f"activation: expected one of {sorted(_ACTS)}, got {activation!r}")
    act, dact = _ACTS[activation]

    def dynamics(t, z, params):
        h = z                                                             # (B, D)
        for i, layer in enumerate(params):
            h = concatsquash(layer, t, h)                                 # (B, H_l)
            if i < len(params) - 1:
                h = act(h)
        return h

    def with_jacobian(t, z, params):
        # Forward-mode Jacobian: J_l[b, i, k] = ∂h_l,k/∂z_i, (B, D, H_l), pushed through the layers.
        h, J = z, None
        for i, layer in enumerate(params):
            g = _gate(layer, t)                                           # (H_l,)
            a = concatsquash(layer, t, h)                                 # (B, H_l)
            J = layer["W"] * g if J is None else _bdot(J, layer["W"]) * g     # (D, H)|(B, D, H)
            if i < len(params) - 1:
                h = act(a)
                J = J * dact(a)[:, None, :]                               # (B, D, H_l)
            else:
                h = a
        if anp.ndim(J) == 2:                                              # one linear layer
            J = J[None] * anp.ones((anp.shape(z)[0], 1, 1))
        return h, J                                                       # (B, D), (B, D, D) = (∂f/∂z)ᵀ

    def with_exact_divergence(t, z, params):
        f, J = with_jacobian(t, z, params)
        # Tr(∂f/∂z) = Σ_i J[:, i, i]
        return f, anp.sum(J * np.eye(anp.shape(z)[1]), axis=(1, 2))      # (B,)

    def encode(t, z, params):
        return act(concatsquash(params[0], t, z))                         # (B, H_1)

    def decode(t, h, params):
        for i, layer in enumerate(params[1:], start=1):
            h = concatsquash(layer, t, h)
            if i < len(params) - 1:
                h = act(h)
        return h                                                          # (B, D)

    dynamics.__name__ = f"concatsquash_dynamics_{activation}"
    dynamics.with_exact_divergence = with_exact_divergence
    dynamics.with_jacobian = with_jacobian
    dynamics.bottleneck = (encode, decode)
    dynamics.activation = activation
    return dynamics


concatsquash_dynamics = make_concatsquash_dynamics("tanh")


def mlp_with_exact_divergence(activation, t, z, params, time_input=True):
    """(f, Tr ∂f/∂z) for the time-concatenated MLP of `refimpl.nn.mlp_dynamics`.

    params: [(W_1 (D + 1, H_1), b_1), ..., (W_L (H_{L-1}, D), b_L)]; the last row of W_1
    multiplies t. Same forward-mode Jacobian propagation as the concatsquash twin.
    """
    if activation not in _ACTS:
        raise ValueError(f"activation: expected one of {sorted(_ACTS)}, got {activation!r}")
    act, dact = _ACTS[activation]
    D = anp.shape(z)[1]
    W1, b1 = params[0]
    Wz = W1[:D] if time_input else W1                                     # (D, H_1)
    a = anp.dot(z, Wz) + b1 + (t * W1[D] if time_input else 0.0)         # (B, H_1)
    J = Wz                                                                # (D, H_1)
    for W, b in params[1:]:
        h = act(a)
        J = J * dact(a)[:, None, :]                                       # (B, D, H_l)
        a = anp.dot(h, W) + b
        J = _bdot(J, W)                                                   # (B, D, H_{l+1})
    if anp.ndim(J) == 2:
        J = J[None]
    div = anp.sum(J * np.eye(D), axis=(1, 2))
    return a, div * anp.ones(anp.shape(z)[0])
