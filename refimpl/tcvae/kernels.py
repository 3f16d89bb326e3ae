"""The O(S·N·D) sums behind every full-dataset estimate: log-densities of S points under
the mixture of N diagonal Gaussians (the aggregate posterior q(z) = (1/N) Σ_n q(z|n)).

    joint, dims = mixture_lse(z, mean, log_std)        # (S,), (S, D)
    joint[s]   = logsumexp_n  Σ_d log N(z_sd; mean_nd, exp(log_std_nd)²)
    dims[s, d] = logsumexp_n  log N(z_sd; mean_nd, exp(log_std_nd)²)

(no −log N: callers subtract it). Two twins, held equal by `tests/tcvae/test_kernels.py`:
`mixture_lse_numpy` (readable, chunked scipy logsumexp) and `mixture_lse_numba` (one pass
over the components with a running, rescaled logsumexp per output — the streaming form
m' = max(m, v), s' = s·e^{m−m'} + e^{v−m'} — so no (S, N, D) array is ever formed).
`mixture_lse` picks the numba one. These are evaluation-only sums (no gradient is taken
through them: training uses the minibatch estimators of `objectives.py`).
"""
import numpy as np
from numba import njit
from scipy.special import logsumexp

__all__ = ["mixture_lse", "mixture_lse_numpy", "mixture_lse_numba"]

_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def _check(z, mean, log_std):
    z, mean, log_std = (np.ascontiguousarray(a, dtype=np.float64) for a in (z, mean, log_std))
    if mean.ndim != 2 or mean.shape != log_std.shape:
        raise ValueError(f"mean, log_std: expected equal shapes (N, D), got {mean.shape}, {log_std.shape}")
    if z.ndim != 2 or z.shape[1] != mean.shape[1]:
        raise ValueError(f"z: expected (S, {mean.shape[1]}), got {z.shape}")
    if mean.shape[0] == 0:
        raise ValueError("mean: expected at least one mixture component, got N = 0")
    return z, mean, log_std


def mixture_lse_numpy(z, mean, log_std, chunk=64):
    """Readable twin: z (S, D), mean / log_std (N, D) -> (joint (S,), dims (S, D))."""
    z, mean, log_std = _check(z, mean, log_std)
    S = z.shape[0]
    joint, dims = np.empty(S), np.empty(z.shape)
    for lo in range(0, S, chunk):
        zc = z[lo:lo + chunk, None, :]                                          # (s, 1, D)
        lp = -0.5 * ((zc - mean[None]) * np.exp(-log_std[None])) ** 2 - log_std[None] - _HALF_LOG_2PI
        dims[lo:lo + chunk] = logsumexp(lp, axis=1)                             # (s, D)
        joint[lo:lo + chunk] = logsumexp(lp.sum(2), axis=1)                     # (s,)
    return joint, dims


@njit(cache=True)
def _lse_kernel(z, mean, inv_std, const):
    S, D = z.shape
    N = mean.shape[0]
    joint = np.empty(S)
    dims = np.empty((S, D))
    m_d = np.empty(D)
    s_d = np.empty(D)
    for s in range(S):
        m_j, s_j = -np.inf, 0.0
        for d in range(D):
            m_d[d], s_d[d] = -np.inf, 0.0
        for n in range(N):
            tot = 0.0
            for d in range(D):
                u = (z[s, d] - mean[n, d]) * inv_std[n, d]
                v = const[n, d] - 0.5 * u * u
                tot += v
                if v > m_d[d]:
                    s_d[d] = s_d[d] * np.exp(m_d[d] - v) + 1.0
                    m_d[d] = v
                else:
                    s_d[d] += np.exp(v - m_d[d])
            if tot > m_j:
                s_j = s_j * np.exp(m_j - tot) + 1.0
                m_j = tot
            else:
                s_j += np.exp(tot - m_j)
        joint[s] = m_j + np.log(s_j)
        for d in range(D):
            dims[s, d] = m_d[d] + np.log(s_d[d])
    return joint, dims


def mixture_lse_numba(z, mean, log_std):
    """numba twin of `mixture_lse_numpy` (same outputs to rounding)."""
    z, mean, log_std = _check(z, mean, log_std)
    return _lse_kernel(z, mean, np.exp(-log_std), -log_std - _HALF_LOG_2PI)


def mixture_lse(z, mean, log_std, backend="numba"):
    """`mixture_lse_numba` (default) or `mixture_lse_numpy` (backend="numpy")."""
    if backend == "numba":
        return mixture_lse_numba(z, mean, log_std)
    if backend == "numpy":
        return mixture_lse_numpy(z, mean, log_std)
    raise ValueError(f"backend: expected 'numba' or 'numpy', got {backend!r}")
