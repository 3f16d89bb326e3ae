"""Full-dataset ELBO decomposition [TCVAE eq. 2], as the official `elbo_decomposition`:
E_p(n) KL(q(z|n) || p(z)) = index-code MI + total correlation + dimension-wise KL,
with q(z) = (1/N) sum_n q(z|n) evaluated over the whole dataset (no minibatch bias)."""
import numpy as np
from scipy.special import logsumexp


def _log_normal(x, mean, log_std):
    return -0.5 * ((x - mean) * np.exp(-log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi)


def elbo_decomposition(mean, log_std, rng, n_samples=1):
    """mean, log_std (N, D) encoder outputs for the whole dataset. Returns dict with
    'mi', 'tc', 'dim_kl' and 'kl' = E[log q(z|n) - log p(z)] (the three sum to it exactly)."""
    mean, log_std = np.asarray(mean, float), np.asarray(log_std, float)
    if mean.ndim != 2 or mean.shape != log_std.shape:
        raise ValueError(f"mean, log_std: expected equal shapes (N, D), got {mean.shape}, {log_std.shape}")
    N, D = mean.shape
    z = mean[:, None] + np.exp(log_std[:, None]) * rng.standard_normal((N, n_samples, D))  # (N,S,D)
    log_qzn = _log_normal(z, mean[:, None], log_std[:, None]).sum(-1)                      # (N,S)
    log_qzd = np.empty((N, n_samples, D))
    log_qz = np.empty((N, n_samples))
    for s in range(n_samples):
        lp = _log_normal(z[:, s][:, None, :], mean[None], log_std[None])                # (N,N,D)
        log_qzd[:, s] = logsumexp(lp, axis=1) - np.log(N)
        log_qz[:, s] = logsumexp(lp.sum(-1), axis=1) - np.log(N)
    log_pzd = _log_normal(z, 0.0, 0.0)
    mi = np.mean(log_qzn - log_qz)
    tc = np.mean(log_qz - log_qzd.sum(-1))
    dim_kl = np.mean((log_qzd - log_pzd).sum(-1))
    kl = np.mean(log_qzn - log_pzd.sum(-1))
    return {"mi": mi, "tc": tc, "dim_kl": dim_kl, "kl": kl}
