"""The VAE / IWAE training gradient by one hand-written backward pass: the fast twin of
`autograd.value_and_grad(refimpl.vi.vae.vae_surrogate)` for the tanh-MLP VAE.

The surrogate's gradient (`vi.gaussian`, `vi.iwae`) is a weighted sum over the R = K·B
samples z_r = μ_b + σ_b ⊙ ε_r of two kinds of terms, with log w_r = log p(x_b, z_r) −
log q(z_r|x_b) and, for the IWAE, w̃ = softmax over the K samples of each datapoint:

    decoder θ:            Σ_r c_r ∇_θ log p(x, z_r)
    encoder (μ, log σ):   Σ_r c'_r g_r ∂z_r/∂(μ, log σ) + (total only) Σ_r c'_r ∂(−log q)/∂log σ|_direct

    objective, estimator    c_r          c'_r        g_r (the path term)
    vae, total              1/(KB)       1/(KB)      ∇_z log p                 (∂(−log q)/∂log σ = 1)
    vae, stl / dreg         1/(KB)       1/(KB)      ∇_z log p + ε/σ           [STL eq. 8]
    iwae, total             w̃/B          w̃/B         ∇_z log p                 (Burda et al. Sec. 3)
    iwae, stl               w̃/B          w̃/B         ∇_z log p + ε/σ
    iwae, dreg              w̃/B          w̃²/B        ∇_z log p + ε/σ           (Tucker et al. 2018, eq. 7)

(for "total" the z-path and the direct path of log q cancel in μ and leave −1 per log σ_d, the
closed form of d log q(μ + σε; μ, σ)/d log σ). Everything is linear in the per-row weights,
so one backward pass of the decoder gives ∇_z log p unscaled (for g) and, scaling each
layer's input rows by c, the decoder's weight gradients; the encoder's backward pass takes
(∂/∂μ, ∂/∂log σ). Plain matmuls and one exp shared by the sigmoid and the softplus, no tape.
`tests/vi/test_fused.py` compares value and every gradient leaf with autograd for every
objective × estimator.
"""
import numpy as np
from scipy.special import logsumexp

from ._common import LOG_2PI
from .vae import OBJECTIVES

__all__ = ["vae_value_and_grad", "grad_buffers", "tree_views"]


def _forward(layers, h):
    """tanh MLP, linear last layer: (output, [inputs of each layer])."""
    ins = []
    for i, (W, b) in enumerate(layers):
        ins.append(h)
        h = h @ W + b
        if i < len(layers) - 1:
            h = np.tanh(h)
    return h, ins


def _backward(layers, ins, d, row_weight=None, out=None, input_grad=True):
    """Given ∂/∂output d (N, out) (unscaled rows), the weight gradients of Σ_n c_n out_n·d_n
    (c = row_weight, default 1) and ∂/∂input (N, in) unscaled (None if not input_grad).
    out: [(gW, gb)] arrays to write the weight gradients into (no allocation)."""
    grads = [None] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        W, _ = layers[i]
        h = ins[i]
        hc = h if row_weight is None else h * row_weight[:, None]
        gW, gb = (None, None) if out is None else out[i]
        gW = np.matmul(hc.T, d, out=gW)
        gb = np.sum(d, 0, out=gb) if row_weight is None else np.matmul(row_weight, d, out=gb)
        grads[i] = (gW, gb)
        if i == 0 and not input_grad:
            return grads, None
        d = d @ W.T
        if i > 0:
            d *= 1.0 - h * h                                         # h = tanh(...) of the layer below
    return grads, d


def vae_value_and_grad(params, x, eps, objective="vae", estimator="total", out=None):
    """(value, gradient) of `vae_surrogate(params, x, eps, objective, estimator)` (tanh MLPs).

    params {"enc": [(W, b)], "dec": [(W, b)]}; x (B, X) in [0, 1]; eps (K, B, Dz).
    The gradient has the layout of params; `out` (that layout, e.g. `grad_buffers`) receives
    it in place — a training loop then allocates no gradient arrays (for these sizes fresh
    MB-sized arrays cost ~1 ms a step in page faults)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective: expected one of {list(OBJECTIVES)}, got {objective!r}")
    if estimator not in ("total", "stl", "dreg"):
        raise ValueError(f"estimator: expected 'total', 'stl' or 'dreg', got {estimator!r}")
    enc, dec = params["enc"], params["dec"]
    eps = np.asarray(eps, float)
    h_out, enc_ins = _forward(enc, x)                                # (B, 2Dz)
    B, Dz = h_out.shape[0], h_out.shape[1] // 2
    if eps.ndim != 3 or eps.shape[1:] != (B, Dz):
        raise ValueError(f"eps: expected shape (K, {B}, {Dz}), got {eps.shape}")
    K = eps.shape[0]
    mean, log_std = h_out[:, :Dz], h_out[:, Dz:]
    sd = np.exp(log_std)
    z = (mean + sd * eps).reshape(K * B, Dz)                         # rows r = (k, b)
    logits, dec_ins = _forward(dec, z)                               # (R, X)
    L3 = logits.reshape(K, B, -1)                                    # (K, B, X), a view
    one_e = np.exp(-np.abs(L3))
    one_e += 1.0                                                     # 1 + e^{−|ℓ|} in (1, 2]
    # log p(x, z) = −½|z|² − (Dz/2) log 2π + Σ_d [x ℓ − softplus(ℓ)],  softplus(ℓ) = max(ℓ, 0) + log(1 + e^{−|ℓ|})
    lp = (np.einsum("kbx,bx->kb", L3, x) - np.sum(np.maximum(L3, 0.0) + np.log(one_e), -1)).ravel()
    lp -= 0.5 * np.sum(z * z, -1) + 0.5 * Dz * LOG_2PI
    log_q = -0.5 * np.sum(eps * eps, -1) - np.sum(log_std, -1) - 0.5 * Dz * LOG_2PI   # (K, B)
    logw = lp.reshape(K, B) - log_q
    if objective == "vae":
        value = logw.mean()
        c = np.full((K, B), 1.0 / (K * B))
        c_path = c
    else:
        lse = logsumexp(logw, axis=0)                                # (B,)
        value = np.mean(lse - np.log(K))
        wt = np.exp(logw - lse)                                      # w̃ (K, B)
        c = wt / B
        c_path = wt * wt / B if estimator == "dreg" else c
    # decoder: ∂lp/∂ℓ = x − σ(ℓ), σ(ℓ) = ½ + sign(ℓ)(1/(1 + e^{−|ℓ|}) − ½)
    r = np.reciprocal(one_e)
    r -= 0.5
    np.copysign(r, L3, out=r)
    d = (x - 0.5) - r                                                # (K, B, X)
    g_dec, g_z = _backward(dec, dec_ins, d.reshape(K * B, -1), c.ravel(), None if out is None else out["dec"])
    g_z = (g_z - z).reshape(K, B, Dz)                                # ∇_z log p (unscaled)
    if estimator != "total":
        g_z = g_z + eps / sd                                         # + ∇_z(−log q_φ̄) = ε/σ
    cp = c_path[..., None]
    g_mean = np.sum(cp * g_z, 0)                                     # (B, Dz)
    g_log_std = np.sum(cp * g_z * sd * eps, 0)
    if estimator == "total":
        g_log_std = g_log_std + np.sum(c_path, 0)[:, None]           # d(−log q)/d log σ = +1
    g_enc, _ = _backward(enc, enc_ins, np.concatenate([g_mean, g_log_std], -1), None,
                         None if out is None else out["enc"], input_grad=False)
    return float(value), {"enc": g_enc, "dec": g_dec}


def tree_views(flat, params):
    """The {"enc", "dec"} tree of `params`' shapes as views into `flat`, in the order of
    `autograd.misc.flatten(params)` (dict keys sorted, lists in order): a cheap unflatten
    (autograd's runs a backward pass, ~5 ms for the 784-200-200-50 VAE)."""
    tree, i = {}, 0
    for k in sorted(params):
        tree[k] = []
        for W, b in params[k]:
            gW = flat[i:i + W.size].reshape(W.shape)
            i += W.size
            tree[k].append((gW, flat[i:i + b.size].reshape(b.shape)))
            i += b.size
    return tree


def grad_buffers(params):
    """(flat (n,), tree): a gradient tree for `vae_value_and_grad(..., out=tree)` whose arrays
    are views into one flat vector (`tree_views`): after the call, `flat` is the flattened
    gradient."""
    flat = np.zeros(sum(W.size + b.size for k in params for W, b in params[k]))
    return flat, tree_views(flat, params)
