"""Minibatch estimators of log q(z) for the TC decomposition [TCVAE eq. 2].

Batch of B samples z_i ~ q(z|n_i), dataset size N.  log q(z_i) = log (1/N) sum_n q(z_i|n).
"""
import numpy as np
from scipy.special import logsumexp


def log_importance_weight_matrix(batch_size, dataset_size):
    """MSS log weights (B, B), B = M + 1 [TCVAE App. C.2]: row i gives the weight of
    q(z_i | n_j): self term (j = i) 1/N, one stratified term (N - M)/(N M), others 1/M.
    Each row sums to 1/N + (N - M)/(N M) + (M - 1)/M = 1."""
    for name, v in (("batch_size", batch_size), ("dataset_size", dataset_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer, float, np.floating)) or v != int(v):
            raise ValueError(f"{name}: expected an integer count, got {v!r}")
    B, N = int(batch_size), int(dataset_size)
    if B < 2:
        raise ValueError(f"batch_size: expected >= 2, got {batch_size}")
    if N < B:
        raise ValueError(f"dataset_size: expected >= batch_size ({B}), got {dataset_size}")
    M = B - 1
    W = np.full((B, B), 1.0 / M)
    idx = np.arange(B)
    W[idx, idx] = 1.0 / N
    W[idx, (idx + 1) % B] = (N - M) / (N * M)   # the stratified term: the next sample
    return np.log(W)


def official_log_importance_weight_matrix(batch_size, dataset_size):
    """KNOWN DEFECT, reproduced for the tests: rtqichen/beta-tcvae `_log_importance_weight_matrix`
    writes W.view(-1)[::M+1] = 1/N and W.view(-1)[1::M+1] = strat; with M = B - 1 the stride
    M + 1 = B walks down column 0 (and column 1), not the diagonal. W[M-1, 0] = strat as in
    the official code."""
    N, M = int(dataset_size), int(batch_size) - 1
    strat = (N - M) / (N * M)
    W = np.full((M + 1, M + 1), 1.0 / M)
    flat = W.reshape(-1)
    flat[::M + 1] = 1.0 / N
    flat[1::M + 1] = strat
    W[M - 1, 0] = strat
    return np.log(W)


def _log_q_pairs(z, mean, log_std):
    # z (B, D), mean/log_std (B, D) -> (B, B, D): log q(z_i,d | n_j) Gaussian
    diff = (z[:, None, :] - mean[None, :, :]) * np.exp(-log_std[None, :, :])
    return -0.5 * diff ** 2 - log_std[None, :, :] - 0.5 * np.log(2 * np.pi)


def log_qz_mws(z, mean, log_std, dataset_size):
    """Minibatch weighted sampling: returns log q(z_i) (B,) and log prod_d q(z_id) (B,)."""
    B = z.shape[0]
    lp = _log_q_pairs(z, mean, log_std)
    c = np.log(B * dataset_size)
    log_qz = logsumexp(lp.sum(2), axis=1) - c
    log_prod = (logsumexp(lp, axis=1) - c).sum(1)
    return log_qz, log_prod


def log_qz_mss(z, mean, log_std, dataset_size, log_w=None):
    """Minibatch stratified sampling with the correct (or a supplied) weight matrix."""
    B = z.shape[0]
    log_w = log_importance_weight_matrix(B, dataset_size) if log_w is None else log_w
    lp = _log_q_pairs(z, mean, log_std)
    log_qz = logsumexp(lp.sum(2) + log_w, axis=1)
    log_prod = logsumexp(lp + log_w[:, :, None], axis=1).sum(1)
    return log_qz, log_prod
