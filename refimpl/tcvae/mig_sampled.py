"""Mutual information gap, the paper's sampled estimator [TCVAE Sec. 5] (official
`metric_helpers/mi_metric.py`): one z ~ q(z|x) per image, entropies by the mixture of
encoder densities; the mixture sums by `kernels.mixture_lse` (numba, with a NumPy twin)."""
import numpy as np

from .kernels import mixture_lse


def _entropy(mean, log_std, rng, n_samples, backend="numba"):
    # H(z_j) per latent for the mixture (1/N) sum_n q(z|n); mean/log_std (N, D) -> (D,):
    # -E log q(z_j), z from S = min(n_samples, N) random components (official estimate_entropies)
    N, D = mean.shape
    idx = rng.choice(N, size=min(n_samples, N), replace=False)
    z = mean[idx] + np.exp(log_std[idx]) * rng.standard_normal((len(idx), D))      # (S, D)
    _, dims = mixture_lse(z, mean, log_std, backend, want_joint=False)              # (S, D)
    return -(dims - np.log(N)).mean(0)


def mig_sampled(mean, log_std, factors, rng, *, n_samples=10000, factor_subset=None, backend="numba"):
    """MIG: (1/K) sum_k (I(z_j*; v_k) - I(z_j'; v_k)) / log|v_k|, MI = H(z_j) - H(z_j|v_k)
    clamped >= 0. `factor_subset`: factor columns to include (official dSprites code: all
    but shape); None = all. `backend`: the mixture sums' twin ("numba" or "numpy",
    `kernels.mixture_lse`)."""
    mi = mi_matrix(mean, log_std, factors, rng, n_samples=n_samples, factor_subset=factor_subset,
                   backend=backend)                                                  # (D, K')
    return mig_from_matrix(mi)


def mig_from_matrix(mi):
    """MIG from a normalised MI matrix (D, K): mean over factors of the top-two gap."""
    mi = np.asarray(mi, float)
    if mi.ndim != 2 or mi.shape[0] < 2:
        raise ValueError(f"mi: expected (D >= 2 latents, K factors), got shape {mi.shape}")
    if mi.shape[1] == 0:
        return 0.0
    top = np.sort(mi, axis=0)
    return float(np.mean(top[-1] - top[-2]))


def mi_matrix(mean, log_std, factors, rng, *, n_samples=10000, factor_subset=None, backend="numba"):
    """Normalised mutual information I(z_j; v_k) / log|v_k| (D, K') by the sampled estimator,
    for the factors in `factor_subset` (None = all) that take at least two values."""
    mean, log_std, factors = np.asarray(mean, float), np.asarray(log_std, float), np.asarray(factors)
    if mean.ndim != 2 or mean.shape != log_std.shape:
        raise ValueError(f"mean, log_std: expected equal shapes (N, D), got {mean.shape}, {log_std.shape}")
    if mean.shape[1] < 2:
        raise ValueError(f"mean: expected at least 2 latents for a gap, got {mean.shape[1]}")
    if factors.ndim != 2 or factors.shape[0] != mean.shape[0] or factors.dtype.kind not in "iu":
        raise ValueError(f"factors: expected integer (N, K), N={mean.shape[0]}, got {factors.dtype} {factors.shape}")
    if int(n_samples) < 1:
        raise ValueError(f"n_samples: expected >= 1, got {n_samples!r}")
    ks = range(factors.shape[1]) if factor_subset is None else list(factor_subset)
    if not ks or any(not 0 <= int(k) < factors.shape[1] for k in ks):
        raise ValueError(f"factor_subset: expected a non-empty list of factor columns in "
                         f"[0, {factors.shape[1]}), got {factor_subset!r}")
    h_z = _entropy(mean, log_std, rng, n_samples, backend)
    cols = []
    for k in ks:
        vals, inv = np.unique(factors[:, k], return_inverse=True)
        inv = inv.ravel()
        if len(vals) < 2:
            continue
        h_cond = np.zeros_like(h_z)
        for v in range(len(vals)):
            sel = inv == v
            h_cond += sel.mean() * _entropy(mean[sel], log_std[sel], rng, n_samples, backend)
        cols.append(np.maximum(h_z - h_cond, 0.0) / np.log(len(vals)))
    return np.stack(cols, axis=1) if cols else np.zeros((mean.shape[1], 0))
