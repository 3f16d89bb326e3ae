"""The O(S·N·D) sums behind every full-dataset estimate: log-densities of S points under
the mixture of N diagonal Gaussians (the aggregate posterior q(z) = (1/N) Σ_n q(z|n)).

    joint, dims = mixture_lse(z, mean, log_std)        # (S,), (S, D)
    joint[s]   = logsumexp_n  Σ_d log N(z_sd; mean_nd, exp(log_std_nd)²)
    dims[s, d] = logsumexp_n  log N(z_sd; mean_nd, exp(log_std_nd)²)

(no −log N: callers subtract it). Two twins, held equal by
`tests/tcvae/test_kernels_objectives.py`: `mixture_lse_numpy` (readable, chunked scipy
logsumexp) and `mixture_lse_numba` (per sample and dimension: one row of N log-densities,
its max, then Σ e^(v − max) with a vectorised exp — no (S, N, D) array is ever formed).
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
    for name, a in (("z", z), ("mean", mean), ("log_std", log_std)):
        if not np.all(np.isfinite(a)):                 # the kernel indexes a table by exponent
            raise ValueError(f"{name}: expected finite values (a diverged encoder?), got NaN or inf")
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


# exp by Cody–Waite range reduction and a degree-13 Taylor polynomial, so the loop over
# the N components has no library call and vectorises (numba has no vector exp without
# SVML): e^t = 2^k e^r, k = round(t / ln 2), |r| <= ln2 / 2, 2^k from a table. Arguments
# are clamped to [-700, 0] (every call here is e^(v - max v) <= 1; e^-700 ~ 1e-304 adds
# nothing to a sum holding 1). Relative error <= 3e-14 over [-700, 0] (<= 1e-15 for the
# terms that matter, t > -40), checked in tests/tcvae/test_kernels_objectives.py.
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_POW2 = 2.0 ** np.arange(-1010, 1, dtype=np.float64)                 # 2^k, k = -1010..0
_INV_FACT = np.array([1.0 / float(np.prod(np.arange(1, j + 1))) for j in range(14)])
_FAST = {"reassoc", "contract", "nsz", "arcp"}                          # no nnan/ninf: inf stays inf


@njit(fastmath=_FAST, cache=True)
def _sum_exp_shifted(row, m, pow2, c):
    """Σ_n e^(row[n] − m) for m >= max(row)."""
    acc = 0.0
    for n in range(row.shape[0]):
        t = row[n] - m
        if t < -700.0:
            t = -700.0
        k = np.floor(t * _LOG2E + 0.5)
        r = (t - k * _LN2_HI) - k * _LN2_LO
        p = c[13]
        for j in range(12, -1, -1):
            p = p * r + c[j]
        acc += p * pow2[np.int64(k) + 1010]
    return acc


@njit(fastmath=_FAST, cache=True)
def _lse_kernel(z, meanT, invT, constT, want_joint, pow2, c):
    S, D = z.shape
    N = meanT.shape[1]
    joint = np.full(S, np.nan)
    dims = np.empty((S, D))
    row = np.empty(N)
    tot = np.empty(N)
    for s in range(S):
        if want_joint:
            tot[:] = 0.0
        for d in range(D):
            zd = z[s, d]
            m = -np.inf
            for n in range(N):
                u = (zd - meanT[d, n]) * invT[d, n]
                v = constT[d, n] - 0.5 * u * u
                row[n] = v
                m = max(m, v)
            if want_joint:
                for n in range(N):
                    tot[n] += row[n]
            dims[s, d] = m + np.log(_sum_exp_shifted(row, m, pow2, c))
        if want_joint:
            m = -np.inf
            for n in range(N):
                m = max(m, tot[n])
            joint[s] = m + np.log(_sum_exp_shifted(tot, m, pow2, c))
    return joint, dims


def mixture_lse_numba(z, mean, log_std, want_joint=True):
    """numba twin of `mixture_lse_numpy` (same outputs to ~1e-14 relative). Components are
    laid out (D, N) so the loop over them is contiguous; want_joint=False skips the joint
    sum (its output is then NaN) — the MIG needs only the per-dimension sums."""
    z, mean, log_std = _check(z, mean, log_std)
    meanT, invT = np.ascontiguousarray(mean.T), np.ascontiguousarray(np.exp(-log_std).T)
    constT = np.ascontiguousarray((-log_std - _HALF_LOG_2PI).T)
    return _lse_kernel(z, meanT, invT, constT, bool(want_joint), _POW2, _INV_FACT)


def mixture_lse(z, mean, log_std, backend="numba", want_joint=True):
    """`mixture_lse_numba` (default) or `mixture_lse_numpy` (backend="numpy")."""
    if backend == "numba":
        return mixture_lse_numba(z, mean, log_std, want_joint)
    if backend == "numpy":
        return mixture_lse_numpy(z, mean, log_std)
    raise ValueError(f"backend: expected 'numba' or 'numpy', got {backend!r}")
