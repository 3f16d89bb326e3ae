"""A PyTorch port of the official β-TCVAE training step and sampled-MIG metric
(rtqichen/beta-tcvae: `vae_quant.py` `VAE.elbo` with `tcvae=True, mss=True`, and
`metric_helpers/mi_metric.py` `estimate_entropies`), for `numerics/bench_tcvae.py` only.

Differences from the official code, both deliberate: the MSS weight matrix is the correct
one (the official `_log_importance_weight_matrix` has the column-0 defect documented in
`refimpl.tcvae.mss`), so the two sides compute the same loss; and the random draws of the
metric come from a NumPy Generator in the same order as `refimpl.tcvae.mig_sampled`, so the
two MIG values can be compared to rounding.
"""
import math

import numpy as np
import torch

LOG_2PI = math.log(2 * math.pi)


def to_torch(params):
    """refimpl's {"enc": [(W, b)...], "dec": [...]} -> the same structure of leaf tensors."""
    return {k: [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in v]
            for k, v in params.items()}


def _mlp(layers, h):
    for i, (W, b) in enumerate(layers):
        h = h @ W + b
        if i < len(layers) - 1:
            h = torch.relu(h)
    return h


def _log_normal(x, mean, log_std):
    return -0.5 * ((x - mean) * torch.exp(-log_std)) ** 2 - log_std - 0.5 * LOG_2PI


def log_iw_matrix(B, N):
    M = B - 1
    W = torch.full((B, B), 1.0 / M)
    idx = torch.arange(B)
    W[idx, idx] = 1.0 / N
    W[idx, (idx + 1) % B] = (N - M) / (N * M)
    return W.log()


def tcvae_loss(tp, x, eps, N, beta):
    """−(β-TCVAE objective) with α = γ = 1, MSS (as `VAE.elbo`, include_mutinfo, lamb = 0)."""
    h = _mlp(tp["enc"], x)
    D = h.shape[1] // 2
    mean, log_std = h[:, :D], h[:, D:]
    z = mean + torch.exp(log_std) * eps
    logits = _mlp(tp["dec"], z)
    logpx = (x * logits - torch.nn.functional.softplus(logits)).sum(1)
    logpz = _log_normal(z, torch.zeros(()), torch.zeros(())).sum(1)
    logqz_condx = _log_normal(z, mean, log_std).sum(1)
    B = x.shape[0]
    _logqz = _log_normal(z.view(B, 1, D), mean.view(1, B, D), log_std.view(1, B, D))    # (B, B, D)
    logiw = log_iw_matrix(B, N)
    logqz = torch.logsumexp(logiw + _logqz.sum(2), dim=1)
    logqz_prod = torch.logsumexp(logiw.view(B, B, 1) + _logqz, dim=1).sum(1)
    elbo = logpx - (logqz_condx - logqz) - beta * (logqz - logqz_prod) - (logqz_prod - logpz)
    return -elbo.mean()


def _entropy(mean, log_std, rng, n_samples, chunk=10):
    """H(z_j) of the mixture, as `estimate_entropies`: logsumexp over the N components for
    chunks of `chunk` samples. Draws from `rng` in refimpl's order."""
    N, D = mean.shape
    idx = rng.choice(N, size=min(n_samples, N), replace=False)
    z = mean[idx] + np.exp(log_std[idx]) * rng.standard_normal((len(idx), D))
    tm, tl, tz = torch.from_numpy(mean), torch.from_numpy(log_std), torch.from_numpy(z)
    h = torch.zeros(D, dtype=torch.float64)
    for lo in range(0, len(idx), chunk):
        lp = _log_normal(tz[lo:lo + chunk].view(-1, 1, D), tm.view(1, N, D), tl.view(1, N, D))   # (s, N, D)
        h -= (torch.logsumexp(lp, dim=1) - math.log(N)).sum(0)
    return (h / len(idx)).numpy()


def mig_sampled(mean, log_std, factors, rng, n_samples=10000, factor_subset=None):
    """The paper's MIG (refimpl's definition; the official metric's structure and sums)."""
    ks = range(factors.shape[1]) if factor_subset is None else list(factor_subset)
    h_z = _entropy(mean, log_std, rng, n_samples)
    gaps = []
    for k in ks:
        vals, inv = np.unique(factors[:, k], return_inverse=True)
        inv = inv.ravel()
        if len(vals) < 2:
            continue
        h_cond = np.zeros_like(h_z)
        for v in range(len(vals)):
            sel = inv == v
            h_cond += sel.mean() * _entropy(mean[sel], log_std[sel], rng, n_samples)
        mi = np.sort(np.maximum(h_z - h_cond, 0.0) / np.log(len(vals)))
        gaps.append(mi[-1] - mi[-2])
    return float(np.mean(gaps)) if gaps else 0.0
