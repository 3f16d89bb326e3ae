"""Importance-weighted bound (IWAE) gradient estimators, as autograd surrogates.

With K reparameterized samples z_k = μ + σ ⊙ ε_k from a diagonal Gaussian q_φ and log
weights log w_k = log p(x, z_k) - log q_φ(z_k),

    L_K = E[log (1/K) Σ_k w_k]                                   (Burda et al. Sec. 3)

- ``"total"``  the gradient of log (1/K) Σ_k w_k: Σ_k w̃_k ∇ log w_k, w̃ = softmax(log w).
- ``"stl"``    the same with φ inside log q_φ held constant ([STL eq. 8] applied to
               each log w_k). Unbiased for K = 1 but **biased for K > 1** (Tucker et al.
               2018): the dropped score term Σ_k w̃_k ∇_φ log q_φ(z_k) no longer has mean
               zero because w̃_k depends on z_k. `tests/vi/test_vi_iwae.py` measures it.
- ``"dreg"``   doubly reparameterized (Tucker et al. 2018, IWAE-DReG): for the inference
               parameters φ,  Σ_k w̃_k² ∂log w_k/∂z_k ∂z_k/∂φ  (log q's φ held constant);
               for parameters inside `logjoint` (a decoder θ) the usual Σ_k w̃_k ∇_θ log w_k.
               Unbiased for the IWAE gradient. Both parts live in one surrogate:

                   Σ_k [ w̃²_k (log p(z_k) - log q_φ̄(z_k)) - w̃²_k log p(z̄_k) + w̃_k log p(z̄_k) ]

               (bars = stop-gradient; w̃ held constant). The z-path carries w̃², the θ-path
               of the first and second terms cancels, and the third gives w̃ ∇_θ log p.
               At K = 1 (w̃ = 1) DReG and STL coincide exactly.

Shapes: mean, log_std: (..., D) (a single q, or an amortized batch (B, D)); eps:
(*S, K, ..., D) — the K axis sits just before mean's shape, optional replicate axes S in
front; `logjoint`: (..., D) -> (...).

References
----------
Y. Burda, R. Grosse, R. Salakhutdinov. Importance Weighted Autoencoders. ICLR 2016.
G. Roeder, Y. Wu, D. Duvenaud. Sticking the Landing. NeurIPS 2017, Sec. 4 (IWAE).
G. Tucker, D. Lawson, S. Gu, C. J. Maddison. Doubly Reparameterized Gradient Estimators
for Monte Carlo Objectives. ICLR 2019 (arXiv:1810.04152).
"""
import autograd.numpy as np
from autograd.scipy.special import logsumexp

from ._common import check_estimator, check_noise, diag_normal_logpdf, stop_gradient

ESTIMATORS = ("total", "stl", "dreg")


def normalized_weights(logw, axis=0):
    """w̃ = softmax(log w) along the K axis (a plain array; no gradient)."""
    lw = stop_gradient(logw)
    return np.exp(lw - logsumexp(lw, axis=axis, keepdims=True))


def iwae_terms(logjoint, mean, log_std, eps, estimator="total"):
    """Per-replicate surrogate terms of shape (*S, ...) (the K axis reduced)."""
    check_estimator(estimator, ESTIMATORS)
    check_noise(eps, np.shape(mean)[-1])
    k_axis = np.ndim(eps) - np.ndim(mean) - 1
    if k_axis < 0 or np.shape(eps)[k_axis + 1:] != np.shape(mean):
        raise ValueError(f"eps: expected shape (*S, K, {', '.join(map(str, np.shape(mean)))}) "
                         f"for mean of shape {np.shape(mean)}, got {np.shape(eps)}")
    K = np.shape(eps)[k_axis]
    z = mean + np.exp(log_std) * eps                                    # (*S, K, ..., D)
    lp = logjoint(z)                                                    # (*S, K, ...)
    if estimator == "total":
        logw = lp - diag_normal_logpdf(z, mean, log_std)
        # IWAE bound: log (1/K) Σ_k w_k
        return logsumexp(logw, axis=k_axis) - np.log(K)
    logw = lp - diag_normal_logpdf(z, stop_gradient(mean), stop_gradient(log_std))
    if estimator == "stl":
        # [STL eq. 8] applied to every log w_k: biased for K > 1 (Tucker et al. 2018)
        return logsumexp(logw, axis=k_axis) - np.log(K)
    # dreg (Tucker et al.): Σ_k w̃²_k ∇_z log w_k ∂z_k/∂φ for φ, Σ_k w̃_k ∇_θ log p for θ
    wt = normalized_weights(logw, axis=k_axis)                          # (*S, K, ...)
    lp_bar = logjoint(stop_gradient(z))                                 # θ-path only
    sur = np.sum(wt ** 2 * (logw - lp_bar) + wt * lp_bar, axis=k_axis)
    value = logsumexp(stop_gradient(logw), axis=k_axis) - np.log(K)
    return sur - stop_gradient(sur) + value


def iwae_surrogate(logjoint, mean, log_std, eps, estimator="total"):
    """IWAE bound estimate whose autograd gradient is `estimator` ("total", "stl", "dreg").

    mean, log_std: (D,) or (B, D); eps: (K, D) or (S, K, D) (or (K, B, D), (S, K, B, D)).
    Returns the mean over replicates S (and batch B) of log (1/K) Σ_k w_k.
    """
    return np.mean(iwae_terms(logjoint, mean, log_std, eps, estimator))
