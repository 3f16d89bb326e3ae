"""Matrix-normal-inverse-Wishart over (A, Σ): A (n, m), Σ (n, n) — the conjugate prior of the
linear-Gaussian transition x' = A x + w, w ~ N(0, Σ).

Standard parameters (ν, S, M, K) as the official mattjj/svae `mniw.py`:

    Σ ~ IW(S, ν),   A | Σ ~ MN(M, Σ, K)   (row covariance Σ (n, n), column covariance K (m, m)).

Sufficient statistics and natural parameter, in the official tuple order:

    t(A, Σ) = (−½ AᵀΣ⁻¹A (m, m),  AᵀΣ⁻¹ (m, n),  −½ Σ⁻¹ (n, n),  −½ log|Σ|)
    eta     = (K⁻¹,               K⁻¹Mᵀ,         S + M K⁻¹ Mᵀ,   ν + n + m + 1)

Constants (refimpl convention, different from the official): the density is normalised w.r.t.
Lebesgue measure on (A, Σ), so the last natural parameter carries the IW and MN powers of |Σ|
(official: d = ν, base measure (2π)^(−nm/2) |Σ|^(−(n+m+1)/2)), and

    logZ = (nm/2) log 2π + (n/2) log|K| + (νn/2) log 2 + log Γ_n(ν/2) − (ν/2) log|S|

(official: the same without the (nm/2) log 2π). With m = 1, K = 1/κ and M = μ this is
`expfam.niw` with its components reordered (tests check it). Unbatched: one (A, Σ) family.
"""
import autograd.numpy as np
from autograd.scipy.special import digamma, multigammaln

from ._common import check_tuple, kl_from_logZ

LOG2PI = np.log(2 * np.pi)


def _check(eta):
    A, B, C, d = check_tuple(eta, 4, "eta (A, B, C, d)")
    m, n = np.shape(B) if np.ndim(B) == 2 else (None, None)
    if m is None or np.shape(A) != (m, m) or np.shape(C) != (n, n) or np.ndim(d) != 0:
        raise ValueError(f"eta: expected A (m, m), B (m, n), C (n, n), scalar d; got shapes "
                         f"{np.shape(A)}, {np.shape(B)}, {np.shape(C)}, {np.shape(d)}")
    return A, B, C, d


def _sym(X):
    return 0.5 * (X + X.T)


def natural_to_standard(eta):
    """(A, B, C, d) -> (ν, S (n, n), M (n, m), K (m, m))."""
    A, B, C, d = _check(eta)
    m, n = np.shape(B)
    K = _sym(np.linalg.inv(A))
    M = np.dot(K, B).T
    return d - n - m - 1.0, C - np.dot(M, B), M, K


def standard_to_natural(nu, S, M, K):
    n, m = np.shape(M)
    if np.shape(S) != (n, n) or np.shape(K) != (m, m):
        raise ValueError(f"S, K: expected ({n}, {n}) and ({m}, {m}) for M {np.shape(M)}, "
                         f"got {np.shape(S)}, {np.shape(K)}")
    if not nu > n - 1:
        raise ValueError(f"nu: the inverse Wishart needs nu > n - 1 = {n - 1}, got {nu}")
    Kinv = np.linalg.inv(K)
    B = np.dot(Kinv, M.T)
    return Kinv, B, S + np.dot(M, B), nu + n + m + 1.0


def logZ(eta):
    nu, S, M, K = natural_to_standard(eta)
    n, m = np.shape(M)
    return (0.5 * n * m * LOG2PI + 0.5 * n * np.linalg.slogdet(K)[1] + 0.5 * nu * n * np.log(2.0)
            + multigammaln(0.5 * nu, n) - 0.5 * nu * np.linalg.slogdet(S)[1])


def expected_stats(eta):
    """Closed form (as official `expectedstats_standard`, without its 1e-8 fudge):
    E[Σ⁻¹] = ν S⁻¹, E[AᵀΣ⁻¹] = ν MᵀS⁻¹, E[AᵀΣ⁻¹A] = n K + ν MᵀS⁻¹M,
    E[log|Σ|] = log|S| − n log 2 − Σ_{i=0}^{n−1} ψ((ν − i)/2); returned with the −½ factors of t."""
    nu, S, M, K = natural_to_standard(eta)
    n, m = np.shape(M)
    Sinv_M = np.linalg.solve(S, M)                                   # (n, m)
    E_Sinv = nu * _sym(np.linalg.inv(S))
    E_ATSinvA = n * K + nu * _sym(np.dot(M.T, Sinv_M))
    E_logdet = np.linalg.slogdet(S)[1] - n * np.log(2.0) - np.sum(digamma(0.5 * (nu - np.arange(n))))
    return -0.5 * E_ATSinvA, nu * Sinv_M.T, -0.5 * E_Sinv, -0.5 * E_logdet


def expected_standard_params(eta):
    """The plug-in transition from the expected statistics, as the official
    `expected_standard_params`: (E[Σ⁻¹]⁻¹ E[Σ⁻¹A], E[Σ⁻¹]⁻¹) = (M, S/ν)."""
    _, ATSinv, mhalf_Sinv, _ = expected_stats(eta)
    Sigma = np.linalg.inv(-2.0 * mhalf_Sinv)
    return np.dot(Sigma, ATSinv.T), Sigma


def sample(rng, eta, n=None):
    """Draws (A (…, n, m), Σ (…, n, n)): Σ ~ IW(S, ν) (scipy), A = M + chol(Σ) G chol(K)ᵀ with
    G standard normal (n, m). Shapes (n_samples, …) when n is given."""
    import numpy as onp
    from scipy.stats import invwishart
    nu, S, M, K = (onp.asarray(a, float) for a in natural_to_standard(eta))
    size = 1 if n is None else int(n)
    Sig = invwishart(df=float(nu), scale=S).rvs(size=size, random_state=rng)
    Sig = Sig.reshape(size, *S.shape)
    G = rng.standard_normal((size,) + M.shape)
    A = M + onp.linalg.cholesky(Sig) @ G @ onp.linalg.cholesky(K).T
    return (A[0], Sig[0]) if n is None else (A, Sig)


def kl(eta_q, eta_p):
    """KL(q || p) = <eta_q − eta_p, E_q t> − logZ(eta_q) + logZ(eta_p)."""
    return kl_from_logZ(logZ, expected_stats, _check(eta_q), _check(eta_p))
