"""Amortized VAE / IWAE with a Bernoulli decoder, trained with any `refimpl.vi` estimator.

Model: p(z) = N(0, I), p_θ(x|z) = Π_d Bernoulli(x_d; sigmoid(decoder_logits(θ, z)_d)).
Inference network: q_φ(z|x) = N(mean, diag exp(2 log_std)), (mean, log_std) = encoder(φ, x).

    params = init_vae(rng, x_dim=196, z_dim=10, hidden=(100,))    # {"enc": [...], "dec": [...]}
    s = vae_surrogate(params, x, eps, objective="iwae", estimator="dreg")   # eps: (K, B, Dz)
    g = grad(vae_surrogate)(params, x, eps, "iwae", "dreg")         # the DReG gradient

`objective="vae"` is the K-sample average ELBO (estimators "total", "stl", "score",
"analytic", "dreg"); `objective="iwae"` the K-sample importance-weighted bound ("total",
"stl", "dreg"). Gradients for the decoder θ are the standard ones in every case; only the
encoder φ's gradient changes with the estimator. `iwae_loglik` estimates log p(x) for evaluation.

"dreg" for the VAE objective: the K-sample ELBO (1/K) Σ_k log w_k is the average of K
one-sample IWAE bounds, so DReG is applied to each of them (Tucker et al. 2019 with K = 1).
With a single sample the normalized weight is w̃ = 1, so the DReG gradient equals the STL
(path-derivative) gradient exactly; it is computed through the IWAE-DReG code path, and
`tests/vi/test_vi_vae.py` checks the identity.

References
----------
D. P. Kingma, M. Welling. Auto-Encoding Variational Bayes. ICLR 2014.
Y. Burda, R. Grosse, R. Salakhutdinov. Importance Weighted Autoencoders. ICLR 2016.
G. Roeder, Y. Wu, D. Duvenaud. Sticking the Landing. NeurIPS 2017, Sec. 6 (Table 1).
G. Tucker et al. Doubly Reparameterized Gradient Estimators for Monte Carlo Objectives. 2019.
"""
import autograd.numpy as np
import numpy as onp
from autograd.scipy.special import logsumexp

from ..nn import init_mlp, mlp
from ._common import LOG_2PI, check_noise
from .gaussian import elbo_surrogate
from .iwae import iwae_surrogate

OBJECTIVES = ("vae", "iwae")


def init_vae(rng, x_dim, z_dim, hidden=(200, 200), x_mean=None):
    """Encoder [x_dim, *hidden, 2 z_dim] and decoder [z_dim, *reversed(hidden), x_dim] MLPs.

    If `x_mean` (x_dim,) is given, the decoder's output bias starts at logit(x_mean)
    (a common initialisation that makes the first epochs cheaper).
    """
    enc = init_mlp(rng, [x_dim, *hidden, 2 * z_dim])
    dec = init_mlp(rng, [z_dim, *reversed(hidden), x_dim])
    if x_mean is not None:
        p = onp.clip(onp.asarray(x_mean, dtype=float), 1e-3, 1 - 1e-3)
        W, _ = dec[-1]
        dec[-1] = (W, onp.log(p) - onp.log1p(-p))
    return {"enc": enc, "dec": dec}


def encoder(params, x, activation="tanh"):
    """q_φ(z|x): x (..., X) -> (mean (..., Dz), log_std (..., Dz))."""
    h = mlp(params["enc"], x, activation=activation)                    # (..., 2 Dz)
    Dz = h.shape[-1] // 2
    return h[..., :Dz], h[..., Dz:]


def decoder_logits(params, z, activation="tanh"):
    """Bernoulli logits of p_θ(x|z): z (..., Dz) -> (..., X)."""
    return mlp(params["dec"], z, activation=activation)


def bernoulli_loglik(x, logits):
    """Σ_d [x_d ℓ_d - log(1 + e^{ℓ_d})] = log Bernoulli(x; sigmoid(ℓ)): (..., X) -> (...)."""
    # log(1 + e^ℓ) = max(ℓ, 0) + log1p(e^{-|ℓ|}): the value of np.logaddexp(0, ℓ), ~6x cheaper
    softplus = np.maximum(logits, 0.0) + np.log1p(np.exp(-np.abs(logits)))
    return np.sum(x * logits - softplus, axis=-1)


def log_joint(params, x, activation="tanh"):
    """The function z (..., B, Dz) -> log p(z) + log p_θ(x|z) (..., B) for the batch x (B, X)."""
    def lj(z):
        log_prior = -0.5 * np.sum(z ** 2 + LOG_2PI, axis=-1)            # (..., B)
        return log_prior + bernoulli_loglik(x, decoder_logits(params, z, activation))
    return lj


def vae_surrogate(params, x, eps, objective="vae", estimator="total", activation="tanh"):
    """Mean over the batch of the K-sample bound; its gradient is the chosen estimator.

    x: (B, X); eps: (K, B, Dz) standard normal noise. objective "vae": average ELBO over
    the K samples (estimator "dreg" = DReG of each one-sample term, identical to "stl");
    "iwae": log (1/K) Σ_k w_k.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective: expected one of {list(OBJECTIVES)}, got {objective!r}")
    mean, log_std = encoder(params, x, activation)                      # (B, Dz) each
    lj = log_joint(params, x, activation)
    if objective == "vae":
        if estimator == "dreg":
            # DReG of the K-sample ELBO = mean of K one-sample IWAE-DReG terms (w̃ = 1: = STL)
            check_noise(eps, np.shape(mean)[-1], min_ndim=3)
            return iwae_surrogate(lj, mean, log_std, eps[:, None], "dreg")    # eps (K, 1, B, Dz)
        return elbo_surrogate(lj, mean, log_std, eps, estimator)
    return iwae_surrogate(lj, mean, log_std, eps, estimator)


def iwae_loglik(params, x, k, rng, chunk=100, activation="tanh"):
    """Estimate log p(x) by the k-sample importance-weighted bound (Burda et al.).

    x: (B, X) -> (B,). Samples are drawn in chunks of `chunk` to bound memory; the
    estimate is log (1/k) Σ_j p(x, z_j)/q(z_j|x), a lower bound that tightens as k grows.
    """
    x = onp.asarray(x, dtype=float)
    mean, log_std = encoder(params, x, activation)
    lj = log_joint(params, x, activation)
    parts = []
    for start in range(0, int(k), int(chunk)):
        n = min(int(chunk), int(k) - start)
        eps = rng.standard_normal((n, *mean.shape))                     # (n, B, Dz)
        z = mean + onp.exp(log_std) * eps
        log_q = -0.5 * onp.sum(eps ** 2 + LOG_2PI + 2.0 * log_std, axis=-1)
        parts.append(logsumexp(lj(z) - log_q, axis=0))                  # (B,)
    return logsumexp(onp.stack(parts), axis=0) - onp.log(k)
