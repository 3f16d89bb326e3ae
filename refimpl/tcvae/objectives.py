"""The training objectives: β-TCVAE, β-VAE and the plain VAE, on one minibatch.

Model: p(z) = N(0, I), q(z|x) = N(mean, diag exp(2 log_std)) from an MLP encoder (ReLU),
p(x|z) Bernoulli from an MLP decoder — `refimpl.vi.vae`'s networks with activation "relu" on
both. The official `vae_quant.py` MLPs differ: encoder 4096-1200-1200-2D ReLU, decoder
D-1200-1200-1200-4096 **tanh** (three hidden layers); refimpl's experiments scale both to
(256, 256) ReLU on 32×32 images (numerics/DIFFERENCES.md, TCVAE section).

Per datapoint n of a batch of B (dataset size N), with z_n ~ q(z|x_n) (one sample):

    log p(x|z), log p(z), log q(z|x)           — closed forms
    log q(z), log Π_j q(z_j)                   — MWS or MSS over the batch (`mss.py`)

[TCVAE eq. 4] the β-TCVAE objective, each KL term of [TCVAE eq. 2] weighted separately:

    L = E[log p(x|z)] − α·I_q(z; n) − β·TC(z) − γ·Σ_j KL(q(z_j) ‖ p(z_j))
      = E[ log p(x|z) − α(log q(z|x) − log q(z)) − β(log q(z) − log Π_j q(z_j))
                      − γ(log Π_j q(z_j) − log p(z)) ]

With α = β = γ = 1 the three terms telescope to log q(z|x) − log p(z) and L is the ELBO
whatever estimator of q(z) is used (a test). β-VAE (Higgins et al. 2017):
E[log p(x|z)] − β(log q(z|x) − log p(z)).

`anneal_kl` is the official code's warm-up: β (for β-VAE; for β-TCVAE the TC weight) grows
linearly from 0 to its value over `warmup` iterations ("beta_anneal"). The official
dSprites setting uses warm-up 7000 iterations; refimpl's experiments state theirs.
"""
import autograd.numpy as np
from autograd.scipy.special import logsumexp as _lse

from ..nn import mlp2d
from ..vi.vae import bernoulli_loglik
from .mss import log_importance_weight_matrix
from .pairwise import pairwise_lse

__all__ = ["encode", "batch_terms", "objective", "anneal_kl", "OBJECTIVES", "ESTIMATORS"]

OBJECTIVES = ("tcvae", "betavae", "vae")
ESTIMATORS = ("mws", "mss")
LOG_2PI = float(np.log(2 * np.pi))


def _log_normal(x, mean, log_std):
    """log N(x; mean, exp(log_std)²) elementwise."""
    return -0.5 * ((x - mean) * np.exp(-log_std)) ** 2 - log_std - 0.5 * LOG_2PI


def encode(params, x):
    """q(z|x): x (B, P) -> mean (B, D), log_std (B, D) — `refimpl.vi.vae.encoder` with ReLU,
    through `refimpl.nn.mlp2d` (same values, plain-matmul VJPs)."""
    h = mlp2d(params["enc"], x, "relu")
    D = h.shape[-1] // 2
    return h[:, :D], h[:, D:]


def log_q_pairs(z, mean, log_std):
    """log q(z_i,j | n_k) for every pair in the batch: z, mean, log_std (B, D) -> (B, B, D)."""
    return _log_normal(z[:, None, :], mean[None, :, :], log_std[None, :, :])


def batch_terms(params, x, eps, dataset_size, estimator="mws", fused=True):
    """The per-datapoint terms on a batch x (B, P) with noise eps (B, D).

    Returns dict of (B,) arrays: logpx, logpz, logqz_condx, logqz, logqz_prod.
    fused: the O(B²D) sums by the numba primitive `pairwise.pairwise_lse` (same values and
    gradients as the readable autograd path, fused=False; tests hold them equal)."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator: expected one of {list(ESTIMATORS)}, got {estimator!r}")
    mean, log_std = encode(params, x)                                 # (B, D) each
    if np.shape(eps) != np.shape(mean):
        raise ValueError(f"eps: expected shape {np.shape(mean)} (batch, latent), got {np.shape(eps)}")
    B = x.shape[0]
    z = mean + np.exp(log_std) * eps                                  # (B, D) reparameterised
    logpx = bernoulli_loglik(x, mlp2d(params["dec"], z, "relu"))      # (B,)
    logpz = np.sum(_log_normal(z, 0.0, 0.0), axis=1)
    logqz_condx = np.sum(_log_normal(z, mean, log_std), axis=1)
    if fused:
        log_w = (np.full((B, B), -np.log(B * float(dataset_size))) if estimator == "mws"
                 else log_importance_weight_matrix(B, dataset_size))
        logqz, logqz_prod = pairwise_lse(z, mean, log_std, log_w)
        return dict(logpx=logpx, logpz=logpz, logqz_condx=logqz_condx, logqz=logqz, logqz_prod=logqz_prod)
    lp = log_q_pairs(z, mean, log_std)                                # (B, B, D)
    if estimator == "mws":
        # MWS: log q(z_i) ≈ logsumexp_j log q(z_i|n_j) − log(B N), per dimension likewise
        c = np.log(B * float(dataset_size))
        logqz = _lse(np.sum(lp, axis=2), axis=1) - c
        logqz_prod = np.sum(_lse(lp, axis=1) - c, axis=1)
    else:
        # MSS: the same sums with the stratified importance weights (the correct matrix)
        log_w = log_importance_weight_matrix(B, dataset_size)        # (B, B)
        logqz = _lse(np.sum(lp, axis=2) + log_w, axis=1)
        logqz_prod = np.sum(_lse(lp + log_w[:, :, None], axis=1), axis=1)
    return dict(logpx=logpx, logpz=logpz, logqz_condx=logqz_condx, logqz=logqz, logqz_prod=logqz_prod)


def objective(params, x, eps, dataset_size, kind="tcvae", beta=1.0, alpha=1.0, gamma=1.0,
              estimator="mws", fused=True):
    """Mean over the batch of the chosen objective (to be maximised).

    kind "tcvae": [TCVAE eq. 4] with weights (alpha, beta, gamma); "betavae": β-VAE with
    weight `beta`; "vae": the ELBO (beta, alpha, gamma ignored)."""
    if kind not in OBJECTIVES:
        raise ValueError(f"kind: expected one of {list(OBJECTIVES)}, got {kind!r}")
    t = batch_terms(params, x, eps, dataset_size, estimator, fused)
    if kind == "tcvae":
        mi = t["logqz_condx"] - t["logqz"]
        tc = t["logqz"] - t["logqz_prod"]
        dim_kl = t["logqz_prod"] - t["logpz"]
        val = t["logpx"] - alpha * mi - beta * tc - gamma * dim_kl
    elif kind == "betavae":
        val = t["logpx"] - beta * (t["logqz_condx"] - t["logpz"])
    else:
        val = t["logpx"] - (t["logqz_condx"] - t["logpz"])
    return np.mean(val)


def anneal_kl(beta, iteration, warmup):
    """The official `anneal_kl` ("beta_anneal"): min(β, β·iteration / warmup); warmup 0 = off.

    Its other switch, "lambda_anneal" (dimension-wise KL weighted 1 − λ, λ from 0.95 to 0),
    is not implemented."""
    if warmup < 0:
        raise ValueError(f"warmup: expected >= 0 iterations, got {warmup}")
    return float(beta) if warmup == 0 else float(min(beta, beta * iteration / warmup))
