"""Full-dataset ELBO decomposition [TCVAE eq. 2], as the official `elbo_decomposition`:
E_p(n) KL(q(z|n) || p(z)) = index-code MI + total correlation + dimension-wise KL,
with q(z) = (1/N) sum_n q(z|n) evaluated over the whole dataset (no minibatch bias)."""
import numpy as np

from .kernels import mixture_lse


def _log_normal(x, mean, log_std):
    return -0.5 * ((x - mean) * np.exp(-log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi)


def elbo_decomposition(mean, log_std, rng, n_samples=1, n_points=None, backend="numba"):
    """mean, log_std (N, D) encoder outputs for the whole dataset. Returns dict with
    'mi', 'tc', 'dim_kl' and 'kl' = E[log q(z|n) - log p(z)] (the three sum to it exactly).

    q(z) and q(z_j) are always the mixtures over all N components. The outer expectation
    E_p(n) runs over all N datapoints (n_points=None, the official code's choice) or over a
    random subset of `n_points` of them (unbiased for it; O(n_points·N·D) instead of
    O(N²·D)). backend: the mixture sums' twin (`kernels.mixture_lse`)."""
    mean, log_std = np.asarray(mean, float), np.asarray(log_std, float)
    if mean.ndim != 2 or mean.shape != log_std.shape:
        raise ValueError(f"mean, log_std: expected equal shapes (N, D), got {mean.shape}, {log_std.shape}")
    N, D = mean.shape
    if n_points is not None and not 1 <= int(n_points):
        raise ValueError(f"n_points: expected a positive count or None, got {n_points!r}")
    idx = np.arange(N) if n_points is None or n_points >= N else np.sort(rng.choice(N, int(n_points), replace=False))
    m, ls = mean[idx], log_std[idx]
    P = idx.size
    z = m[:, None] + np.exp(ls[:, None]) * rng.standard_normal((P, n_samples, D))          # (P,S,D)
    log_qzn = _log_normal(z, m[:, None], ls[:, None]).sum(-1)                              # (P,S)
    joint, dims = mixture_lse(z.reshape(P * n_samples, D), mean, log_std, backend)
    log_qz = joint.reshape(P, n_samples) - np.log(N)
    log_qzd = dims.reshape(P, n_samples, D) - np.log(N)
    log_pzd = _log_normal(z, 0.0, 0.0)
    mi = np.mean(log_qzn - log_qz)
    tc = np.mean(log_qz - log_qzd.sum(-1))
    dim_kl = np.mean((log_qzd - log_pzd).sum(-1))
    kl = np.mean(log_qzn - log_pzd.sum(-1))
    return {"mi": mi, "tc": tc, "dim_kl": dim_kl, "kl": kl}
