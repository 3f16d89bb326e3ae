"""A dense network with bias rows, its stored activations and closed-form backpropagation.

The parameter container is a list of matrices ``W_l`` of shape ``(d_in + 1, d_out)``; the
last row is the bias, so a layer is ``s_l = ā_{l-1} W_l`` with ``ā = [a, 1]`` (K-FAC's
homogeneous coordinates, Martens & Grosse 2015, Sec. 2). The forward pass keeps ``ā_l``
and ``s_l``; the backward pass turns ``∂ log p / ∂ output`` per example into the
pre-activation gradients ``Ds_l`` per example, from which every per-example quantity
(gradients, squared gradients, Kronecker factors) follows in closed form:

    ∇_{W_l} log p(y_b | x_b) = ā_{l-1,b} Ds_{l,b}ᵀ          (one outer product per example)

These are twin-tested against autograd's per-example gradients in tests/nng.

References
----------
J. Martens, R. Grosse. Optimizing Neural Networks with Kronecker-factored Approximate
    Curvature. ICML 2015, Sec. 2-3.
"""
import numpy as np

ACTIVATIONS = ("relu", "tanh", "identity")


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {ACTIVATIONS}, got {activation!r}")


def init_params(rng, sizes):
    """Weights ``[(d_0+1, d_1), ..., (d_{L-1}+1, d_L)]``: N(0, 1/d_in) entries, zero bias row."""
    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise ValueError(f"sizes: expected at least two positive layer widths, got {sizes!r}")
    params = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        W = np.zeros((d_in + 1, d_out))
        W[:-1] = rng.standard_normal((d_in, d_out)) / np.sqrt(d_in)
        params.append(W)
    return params


def homog(a):
    """ā = [a, 1]: (B, d) -> (B, d + 1)."""
    out = np.empty((a.shape[0], a.shape[1] + 1))      # one allocation (K-FAC steps are call-bound)
    out[:, :-1] = a
    out[:, -1] = 1.0
    return out


def act(s, activation):
    if activation == "relu":
        return np.maximum(s, 0.0)
    if activation == "tanh":
        return np.tanh(s)
    return s


def act_deriv(s, a, activation):
    """φ'(s) given the pre-activation s and the activation a = φ(s)."""
    if activation == "relu":
        return s > 0                       # boolean mask: multiplying by it is exact (×1.0 or ×0.0)
    if activation == "tanh":
        return 1.0 - a * a
    return np.ones_like(s)


def forward(params, X, activation="relu"):
    """Network output and the cache ``(abar, s)`` the backward pass needs.

    X: (B, d_0). Returns out (B, d_L), abar: list of (B, d_{l-1}+1), s: list of (B, d_l).
    Hidden layers use `activation`; the output layer is linear.
    """
    _check_activation(activation)
    abar, s = [], []
    a = X
    for i, W in enumerate(params):
        ab = homog(a)                      # (B, d_in + 1)
        si = ab @ W                        # (B, d_out)
        abar.append(ab)
        s.append(si)
        a = si if i == len(params) - 1 else act(si, activation)
    return a, (abar, s)


def backward(params, cache, g_out, activation="relu"):
    """Per-example pre-activation gradients Ds_l = ∂ log p_b / ∂ s_l, each (..., B, d_l).

    g_out: (..., B, d_L) = ∂ log p_b / ∂ output. Leading axes (e.g. observed and sampled
    targets stacked) are carried through, so one call backpropagates several signals.
    Backprop (Martens & Grosse 2015, Alg. 1): Ds_l = (Ds_{l+1} W_{l+1}[:-1]ᵀ) ⊙ φ'(s_l).
    """
    abar, s = cache
    L = len(params)
    Ds = [None] * L
    Ds[L - 1] = g_out
    for l in range(L - 2, -1, -1):
        a = abar[l + 1][:, :-1]            # φ(s_l), (B, d_l)
        Ds[l] = (Ds[l + 1] @ params[l + 1][:-1].T) * act_deriv(s[l], a, activation)
    return Ds


def grads_from_Ds(cache, Ds):
    """Sum over the batch of ā_b Ds_bᵀ per layer: list of (d_in+1, d_out)."""
    abar, _ = cache
    return [ab.T @ D for ab, D in zip(abar, Ds)]


def per_example_grads(cache, Ds):
    """Per-example gradients ā_b Ds_bᵀ: list of (B, d_in+1, d_out)."""
    abar, _ = cache
    return [ab[:, :, None] * D[:, None, :] for ab, D in zip(abar, Ds)]


def sum_sq_grads(cache, Ds):
    """Σ_b (ā_b Ds_bᵀ)² elementwise, in closed form (ā²)ᵀ(Ds²): list of (d_in+1, d_out)."""
    abar, _ = cache
    return [(ab * ab).T @ (D * D) for ab, D in zip(abar, Ds)]


def flatten_layers(params):
    """Concatenate row-major flattened layers: list -> (P,)."""
    return np.concatenate([W.ravel() for W in params])


def unflatten_layers(theta, like):
    out, i = [], 0
    for W in like:
        out.append(theta[i:i + W.size].reshape(W.shape))
        i += W.size
    return out
