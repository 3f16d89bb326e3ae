"""Normal-inverse-Wishart over (μ, Σ) in D dimensions.

Standard parameters (S, m, κ, ν): Σ ~ IW(S, ν), μ | Σ ~ N(m, Σ/κ). Sufficient statistics

    t(μ, Σ) = (−½ Σ⁻¹, Σ⁻¹μ, −½ μᵀΣ⁻¹μ, −½ log|Σ|)

and natural parameter eta = (A, b, c, d) = (S + κ m mᵀ, κ m, κ, ν + D + 2) (the density is
w.r.t. Lebesgue measure on (μ, Σ)), with the normalised log partition

    logZ = (D/2) log(2π/κ) + (νD/2) log 2 + log Γ_D(ν/2) − (ν/2) log|S|.

A batch of K NIWs has A (K, D, D), b (K, D), c (K,), d (K,); ``logZ`` sums over K.
"""
import autograd.numpy as np
from autograd.scipy.special import digamma, multigammaln

from ._common import check_tuple, kl_from_logZ


def _check(eta):
    A, b, c, d = check_tuple(eta, 4, "eta (A, b, c, d)")
    if np.shape(A)[-2:] != (np.shape(b)[-1],) * 2:
        raise ValueError(f"eta: A must be (..., D, D) and b (..., D); got {np.shape(A)}, {np.shape(b)}")
    return A, b, c, d


def natural_to_standard(eta):
    """(A, b, c, d) -> (S, m, κ, ν)."""
    A, b, c, d = _check(eta)
    D = np.shape(b)[-1]
    m = b / np.expand_dims(c, -1)
    S = A - np.expand_dims(np.expand_dims(c, -1), -1) * m[..., :, None] * m[..., None, :]
    return S, m, c, d - D - 2


def standard_to_natural(S, m, kappa, nu):
    D = np.shape(m)[-1]
    k = np.asarray(kappa)
    A = S + k[..., None, None] * m[..., :, None] * m[..., None, :]
    return A, k[..., None] * m, k, np.asarray(nu) + D + 2.0


def _multigammaln(x, D):
    # log Γ_D(x) = (D(D−1)/4) log π + Σ_{i=1..D} log Γ(x + (1 − i)/2), elementwise in x
    from autograd.scipy.special import gammaln
    return D * (D - 1) / 4.0 * np.log(np.pi) + sum(gammaln(x + (1.0 - i) / 2.0) for i in range(1, D + 1))


def logZ(eta):
    S, m, kappa, nu = natural_to_standard(eta)
    D = np.shape(m)[-1]
    return np.sum(0.5 * D * np.log(2 * np.pi / kappa) + 0.5 * nu * D * np.log(2.0)
                  + _multigammaln(0.5 * nu, D) - 0.5 * nu * np.linalg.slogdet(S)[1])


def expected_stats(eta):
    """Closed form: E[Σ⁻¹] = ν S⁻¹, E[Σ⁻¹μ] = ν S⁻¹ m, E[μᵀΣ⁻¹μ] = D/κ + ν mᵀS⁻¹m,
    E[log|Σ|] = log|S| − D log 2 − Σ_i ψ((ν + 1 − i)/2). Returned with the −½ factors of t."""
    S, m, kappa, nu = natural_to_standard(eta)
    D = np.shape(m)[-1]
    Sinv = np.linalg.inv(S)
    nu_ = np.expand_dims(nu, -1)
    ESinv = nu_[..., None] * Sinv
    ESinv_mu = np.sum(ESinv * m[..., None, :], -1)
    Equad = D / kappa + np.sum(m * ESinv_mu, -1)
    Elogdet = (np.linalg.slogdet(S)[1] - D * np.log(2.0)
               - sum(digamma((nu + 1.0 - i) / 2.0) for i in range(1, D + 1)))
    return -0.5 * ESinv, ESinv_mu, -0.5 * Equad, -0.5 * Elogdet


def sample(rng, eta):
    """One draw (μ, Σ) for a single NIW (A (D, D), ...)."""
    import numpy as onp
    from scipy.stats import invwishart
    S, m, kappa, nu = (onp.asarray(a) for a in natural_to_standard(eta))
    Sigma = invwishart(df=float(nu), scale=S).rvs(random_state=rng)
    Sigma = onp.atleast_2d(Sigma)
    mu = rng.multivariate_normal(m, Sigma / float(kappa))
    return mu, Sigma


def kl(eta_q, eta_p):
    return kl_from_logZ(logZ, expected_stats, _check(eta_q), _check(eta_p))
