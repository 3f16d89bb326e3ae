"""ELBO gradient estimators for Gaussian variational families, as autograd surrogates.

A surrogate's **value** is the S-sample ELBO estimate; its **gradient** (autograd) is the
named gradient estimator. For q_φ(z) = N(μ, Σ) reparameterized as z = t(ε, φ) = μ + Lε:

    L(φ) = E_q[log p(x, z) - log q_φ(z)]                                 [STL eq. 1]
    ∇_φ L̂ = ∇_z[log p(x,z) - log q_φ(z)] ∇_φ t(ε, φ)   - ∇_φ log q_φ(z)  (total derivative)
            '---------- path derivative ----------'     '-- score --'

- ``"total"``   the standard reparameterization gradient: both terms.
- ``"stl"``     Sticking the Landing, the path derivative only (eq. 8): the variational
                parameters inside log q are held constant (stop-gradient); the score term
                has mean zero, so the estimator stays unbiased, and when q = p(z|x) the
                integrand log p(x,z) - log q(z) is constant in z, so the STL gradient is
                exactly zero for every ε.
- ``"score"``   the score-function (REINFORCE) estimator E[(log p - log q) ∇_φ log q_φ(z)]
                with z held fixed (gradients of parameters inside `logjoint` are kept).
                Convention: the explicit term -E[∇_φ log q_φ(z)] of the gradient of
                E_q[-log q_φ] is dropped, since it has mean zero (unbiased either way).
- ``"analytic"`` E[log p(x, z)] by Monte Carlo plus the closed-form entropy H[q].

`logjoint(z)` maps (..., D) -> (...) (vectorised over leading axes).

References
----------
G. Roeder, Y. Wu, D. Duvenaud. Sticking the Landing: Simple, Lower-Variance Gradient
Estimators for Variational Inference. NeurIPS 2017 (arXiv:1703.09194).
D. P. Kingma, M. Welling. Auto-Encoding Variational Bayes. ICLR 2014 (the "total" estimator).
"""
import autograd.numpy as np

from ._common import LOG_2PI, check_estimator, check_noise, diag_normal_logpdf, stop_gradient

ESTIMATORS = ("total", "stl", "score", "analytic")


def _elbo_terms(logjoint, logq, entropy, z, estimator):
    """Per-sample surrogate terms shared by the diagonal and full-covariance families.

    `z` is the reparameterized sample (live, depends on φ); `logq(z, stop)` evaluates
    log q_φ(z) with φ held constant when `stop` is True; `entropy()` is H[q] in closed form.
    """
    if estimator == "total":
        return logjoint(z) - logq(z, False)
    if estimator == "stl":
        # [STL eq. 8]: path derivative only, φ inside log q held constant
        return logjoint(z) - logq(z, True)
    if estimator == "score":
        # score function: value f(z̄), gradient f(z̄) ∇_φ log q_φ(z̄) with z̄ = stop(z)
        zb = stop_gradient(z)
        lp, lq = logjoint(zb), logq(zb, False)                          # lq live in φ
        f = stop_gradient(lp - lq)
        return lp - stop_gradient(lq) + f * (lq - stop_gradient(lq))
    # analytic: E_q[log p] by Monte Carlo + closed-form H[q]
    return logjoint(z) + entropy()


# --- diagonal Gaussian --------------------------------------------------------------

def diag_sample(mean, log_std, eps):
    """z = μ + exp(log σ) ⊙ ε; eps: (S, ..., D) broadcast against mean: (..., D)."""
    return mean + np.exp(log_std) * eps


def diag_entropy(log_std):
    """H[N(μ, diag σ²)] = Σ_d log σ_d + D/2 (1 + log 2π): (..., D) -> (...)."""
    D = np.shape(log_std)[-1]
    return np.sum(log_std, axis=-1) + 0.5 * D * (1.0 + LOG_2PI)


def elbo_terms(logjoint, mean, log_std, eps, estimator="total"):
    """Per-sample surrogate terms (S, ...) for a diagonal Gaussian (see `elbo_surrogate`)."""
    check_estimator(estimator, ESTIMATORS)
    check_noise(eps, np.shape(mean)[-1])
    z = diag_sample(mean, log_std, eps)                                 # (S, ..., D)

    def logq(zz, stop):
        m, s = (stop_gradient(mean), stop_gradient(log_std)) if stop else (mean, log_std)
        return diag_normal_logpdf(zz, m, s)                             # (S, ...)

    return _elbo_terms(logjoint, logq, lambda: diag_entropy(log_std), z, estimator)


def elbo_surrogate(logjoint, mean, log_std, eps, estimator="total"):
    """S-sample ELBO of q = N(mean, diag(exp(2 log_std))) whose gradient is `estimator`.

    mean, log_std: (D,) (or (B, D) for an amortized batch); eps: (S, D) (or (S, B, D))
    standard normal noise; logjoint: (..., D) -> (...). Returns a scalar: the mean of the
    per-sample terms over all leading axes (samples and batch).
    Estimators: "total", "stl", "score", "analytic" (see the module docstring).
    """
    return np.mean(elbo_terms(logjoint, mean, log_std, eps, estimator))


# --- full-covariance Gaussian (Cholesky factor) -------------------------------------

def fullcov_sample(mean, chol, eps):
    """z = μ + L ε with L = tril(chol); eps: (S, D) -> (S, D)."""
    return mean + np.dot(eps, np.tril(chol).T)


def forward_substitution(L, r):
    """Solve L u = r for lower-triangular L (D, D), row-wise for r: (S, D) -> u: (S, D).

    u_i = (r_i - Σ_{j<i} L_ij u_j) / L_ii, written in autograd NumPy (differentiable in L
    and r). Used instead of scipy's LAPACK `solve_triangular`, whose threaded OpenBLAS call
    costs milliseconds per tiny solve on an oversubscribed machine.
    """
    D = np.shape(L)[0]
    u = []
    for i in range(D):
        acc = r[..., i]
        if i > 0:
            acc = acc - np.dot(np.stack(u, axis=-1), L[i, :i])
        u.append(acc / L[i, i])
    return np.stack(u, axis=-1)


def fullcov_logpdf(z, mean, chol):
    """log N(z; μ, L Lᵀ), L = tril(chol) (any nonzero diagonal): (S, D) -> (S,)."""
    L = np.tril(chol)
    D = np.shape(L)[0]
    u = forward_substitution(L, z - mean)                               # (S, D) = L⁻¹(z - μ)
    return -0.5 * np.sum(u ** 2, axis=-1) - np.sum(np.log(np.abs(np.diag(L)))) - 0.5 * D * LOG_2PI


def fullcov_entropy(chol):
    """H[N(μ, L Lᵀ)] = Σ_d log|L_dd| + D/2 (1 + log 2π)."""
    D = np.shape(chol)[0]
    return np.sum(np.log(np.abs(np.diag(chol)))) + 0.5 * D * (1.0 + LOG_2PI)


def fullcov_elbo_surrogate(logjoint, mean, chol, eps, estimator="total"):
    """S-sample ELBO of q = N(mean, L Lᵀ), L = tril(chol), whose gradient is `estimator`.

    mean: (D,); chol: (D, D) (only the lower triangle is used; the diagonal may have any
    nonzero sign); eps: (S, D). Estimators as for `elbo_surrogate`.
    """
    check_estimator(estimator, ESTIMATORS)
    D = np.shape(mean)[-1]
    if np.ndim(mean) != 1 or np.shape(chol) != (D, D):
        raise ValueError(f"mean, chol: expected shapes (D,) and (D, D), got {np.shape(mean)} "
                         f"and {np.shape(chol)}")
    check_noise(eps, D)
    if np.ndim(eps) != 2:
        raise ValueError(f"eps: expected shape (S, {D}), got {np.shape(eps)}")
    z = fullcov_sample(mean, chol, eps)                                 # (S, D)

    def logq(zz, stop):
        m, c = (stop_gradient(mean), stop_gradient(chol)) if stop else (mean, chol)
        return fullcov_logpdf(zz, m, c)                                 # (S,)

    return np.mean(_elbo_terms(logjoint, logq, lambda: fullcov_entropy(chol), z, estimator))
