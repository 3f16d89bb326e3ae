"""Claims about the diagonal and full-covariance Gaussian ELBO estimators (refimpl.vi.gaussian).

1. "total" and "analytic" surrogates are differentiable functions whose gradient is the
   gradient of their value (check_grads, order 2).
2. Every estimator ("total", "stl", "score", "analytic") is unbiased for the exact gradient
   of the closed-form ELBO of a Gaussian target, within 4 standard errors.
3. With q equal to the exact Gaussian posterior, the STL gradient is zero for every ε
   (Roeder et al. Sec. 3) while "total" has positive variance; also for full covariance.
"""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from refimpl.testing import EstimatorCheckError, assert_unbiased
from refimpl.vi import elbo_surrogate, elbo_terms, fullcov_elbo_surrogate

D = 3


def _target(rng):
    """A correlated Gaussian 'posterior' N(mu_p, Sigma_p) with an unknown normaliser c."""
    A = rng.standard_normal((D, D))
    Sigma = A @ A.T / D + 0.5 * np.eye(D)
    mu = rng.standard_normal(D)
    P = np.linalg.inv(Sigma)
    logdet = np.linalg.slogdet(Sigma)[1]
    c = 1.3

    def logjoint(z):                                                    # (..., D) -> (...)
        u = z - mu
        return -0.5 * anp.sum(anp.dot(u, P) * u, axis=-1) - 0.5 * logdet - 0.5 * D * np.log(2 * np.pi) + c

    def exact_elbo(m, Sq):
        # E_q[log p] + H[q] for q = N(m, Sq), in closed form
        u = m - mu
        e_logp = (-0.5 * (anp.trace(anp.dot(P, Sq)) + anp.dot(u, anp.dot(P, u)))
                  - 0.5 * logdet - 0.5 * D * np.log(2 * np.pi) + c)
        return e_logp + 0.5 * anp.linalg.slogdet(Sq)[1] + 0.5 * D * (1 + np.log(2 * np.pi))

    return logjoint, exact_elbo, mu, Sigma


def _per_sample_diag_grads(logjoint, mean, log_std, eps, estimator):
    """Per-sample gradients in one call: replicate (mean, log_std) N times, one ε per copy."""
    N = eps.shape[0]
    M, L = np.tile(mean, (N, 1)), np.tile(log_std, (N, 1))
    f = lambda M, L: anp.sum(elbo_terms(logjoint, M, L, eps[None], estimator))
    gM, gL = grad(f, (0, 1))(M, L)
    return np.concatenate([gM, gL], axis=1)                             # (N, 2D)


def test_total_and_analytic_pass_check_grads():
    rng = np.random.default_rng(0)
    logjoint, _, _, _ = _target(rng)
    eps = rng.standard_normal((4, D))
    np.random.seed(0)
    for est in ("total", "analytic"):
        check_grads(lambda m, s: elbo_surrogate(logjoint, m, s, eps, est), modes=["rev"], order=2)(
            rng.standard_normal(D), 0.3 * rng.standard_normal(D))
        chol = np.tril(rng.standard_normal((D, D))) + 2 * np.eye(D)
        check_grads(lambda m, c: fullcov_elbo_surrogate(logjoint, m, c, eps, est), modes=["rev"], order=2)(
            rng.standard_normal(D), chol)


@pytest.mark.parametrize("estimator", ["total", "stl", "score", "analytic"])
def test_diag_estimators_unbiased(estimator):
    rng = np.random.default_rng(1)
    logjoint, exact_elbo, mu, _ = _target(rng)
    mean, log_std = mu + 0.5 * rng.standard_normal(D), -0.3 + 0.2 * rng.standard_normal(D)
    exact = np.concatenate(grad(lambda m, s: exact_elbo(m, anp.diag(anp.exp(2 * s))), (0, 1))(mean, log_std))
    g = _per_sample_diag_grads(logjoint, mean, log_std, rng.standard_normal((20000, D)), estimator)
    assert_unbiased(g, exact, n_se=4, name=f"diag {estimator} gradient")
    # power: the same samples reject an expectation shifted by 8 standard errors
    se = g.std(axis=0, ddof=1) / np.sqrt(len(g))
    with pytest.raises(EstimatorCheckError):
        assert_unbiased(g, exact + 8 * se, n_se=4)


@pytest.mark.parametrize("estimator", ["total", "stl", "score", "analytic"])
def test_fullcov_estimators_unbiased(estimator):
    rng = np.random.default_rng(2)
    logjoint, exact_elbo, mu, _ = _target(rng)
    mean = mu + 0.5 * rng.standard_normal(D)
    chol = np.tril(0.3 * rng.standard_normal((D, D))) + 0.7 * np.eye(D)
    L = lambda c: anp.tril(c)
    exact = np.concatenate([a.ravel() for a in grad(
        lambda m, c: exact_elbo(m, anp.dot(L(c), L(c).T)), (0, 1))(mean, chol)])
    gfun = grad(lambda m, c, e: fullcov_elbo_surrogate(logjoint, m, c, e, estimator), (0, 1))
    # 150 independent batch means of S = 20 single-sample gradients
    eps = rng.standard_normal((150, 20, D))
    g = np.stack([np.concatenate([a.ravel() for a in gfun(mean, chol, e)]) for e in eps])
    assert_unbiased(g, exact, n_se=4, name=f"full-cov {estimator} gradient")


def test_stl_zero_variance_at_exact_posterior_diag():
    rng = np.random.default_rng(3)
    mu, log_sd = rng.standard_normal(D), 0.4 * rng.standard_normal(D)
    logjoint = lambda z: -0.5 * anp.sum(((z - mu) * np.exp(-log_sd)) ** 2 + 2 * log_sd, axis=-1) + 2.0
    eps = rng.standard_normal((500, D))
    g_stl = _per_sample_diag_grads(logjoint, mu, log_sd, eps, "stl")
    g_tot = _per_sample_diag_grads(logjoint, mu, log_sd, eps, "total")
    assert np.max(np.abs(g_stl)) < 1e-12
    # "total" keeps the score term -∇ log q: variance of order 1 per coordinate
    assert np.min(g_tot.var(axis=0)) > 0.1


def test_stl_zero_variance_at_exact_posterior_fullcov():
    rng = np.random.default_rng(4)
    logjoint, _, mu, Sigma = _target(rng)
    chol = np.linalg.cholesky(Sigma)
    gfun = {e: grad(lambda m, c, x, e=e: fullcov_elbo_surrogate(logjoint, m, c, x, e), (0, 1))
            for e in ("stl", "total")}
    eps = rng.standard_normal((100, 1, D))
    g = {e: np.stack([np.concatenate([a.ravel() for a in f(mu, chol, x)]) for x in eps]) for e, f in gfun.items()}
    assert np.max(np.abs(g["stl"])) < 1e-12
    assert np.max(g["total"].var(axis=0)) > 0.1


def test_bad_input_names_the_argument():
    rng = np.random.default_rng(5)
    logjoint, _, mu, _ = _target(rng)
    with pytest.raises(ValueError, match="estimator"):
        elbo_surrogate(logjoint, mu, np.zeros(D), rng.standard_normal((2, D)), "reinforce")
    with pytest.raises(ValueError, match="eps"):
        elbo_surrogate(logjoint, mu, np.zeros(D), rng.standard_normal((2, D + 1)))
    with pytest.raises(ValueError, match="eps"):
        elbo_surrogate(logjoint, mu, np.zeros(D), np.full((2, D), np.nan))
    with pytest.raises(ValueError, match="chol"):
        fullcov_elbo_surrogate(logjoint, mu, np.eye(D + 1), rng.standard_normal((2, D)))


def test_forward_substitution_matches_scipy_and_has_correct_gradients():
    import scipy.linalg
    from refimpl.vi.gaussian import forward_substitution
    rng = np.random.default_rng(6)
    L = np.tril(rng.standard_normal((4, 4))) + 3 * np.eye(4)
    r = rng.standard_normal((7, 4))
    ref = scipy.linalg.solve_triangular(L, r.T, lower=True).T
    np.testing.assert_allclose(forward_substitution(L, r), ref, rtol=1e-13, atol=1e-14)
    np.random.seed(1)
    check_grads(lambda L, r: forward_substitution(anp.tril(L), r), modes=["rev"], order=2)(L, r)
