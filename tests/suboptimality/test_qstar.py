"""q*_FFG reaches the closed-form optimum on a linear-Gaussian model; bounds are consistent."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads
from scipy.stats import multivariate_normal

from refimpl.suboptimality.qstar import _neg_elbo_sum, bounds_ffg, optimize_local_ffg


def _model(seed=0, B=4, D=3, X=5, sigma=0.6):
    rng = np.random.default_rng(seed)
    W, b = rng.standard_normal((X, D)), rng.standard_normal(X)
    x = rng.standard_normal((B, D)) @ W.T + b + sigma * rng.standard_normal((B, X))

    def log_joint(z):                                   # (S, B, D) -> (S, B)
        r = x - (anp.einsum("sbd,xd->sbx", z, W) + b)
        return (-0.5 * anp.sum(z ** 2, -1) - 0.5 * D * np.log(2 * np.pi)
                - 0.5 * anp.sum(r ** 2, -1) / sigma ** 2 - X * np.log(sigma) - 0.5 * X * np.log(2 * np.pi))

    Lam = np.eye(D) + W.T @ W / sigma ** 2
    post_mean = np.linalg.solve(Lam, W.T @ (x - b).T).T / sigma ** 2
    log_px = np.array([multivariate_normal(b, W @ W.T + sigma ** 2 * np.eye(X)).logpdf(xi) for xi in x])
    return log_joint, Lam, post_mean, log_px, B, D


def test_local_ffg_reaches_the_optimal_factorised_gaussian():
    log_joint, Lam, post_mean, log_px, B, D = _model()
    rng = np.random.default_rng(1)
    mean, log_std, info = optimize_local_ffg(log_joint, np.zeros((B, D)), np.zeros((B, D)), rng, lr=1e-2,
                                             n_samples=20)
    assert info["stopped"]
    np.testing.assert_allclose(mean, post_mean, atol=0.06)          # stochastic optimum
    np.testing.assert_allclose(np.exp(2 * log_std), np.tile(1 / np.diag(Lam), (B, 1)), rtol=0.1)
    # the approximation gap of the best FFG: ½ (Σ log Λ_ii − log det Λ)
    gap = 0.5 * (np.sum(np.log(np.diag(Lam))) - np.linalg.slogdet(Lam)[1])
    elbo, iwae = bounds_ffg(log_joint, mean, log_std, np.random.default_rng(2), n=5000)
    np.testing.assert_allclose(log_px - elbo, gap, atol=0.03)
    assert gap > 0.05                                   # the posterior is correlated: a real gap
    assert np.all(iwae >= elbo) and np.all(iwae <= log_px + 0.01)


def test_bounds_share_draws_and_are_exact_for_the_exact_posterior_in_1d():
    # D = 1: the posterior is Gaussian and factorised, so with q = posterior ELBO = IWAE = log p(x)
    log_joint, Lam, post_mean, log_px, B, D = _model(seed=3, D=1)
    std = np.sqrt(1 / Lam[0, 0])
    elbo, iwae = bounds_ffg(log_joint, post_mean, np.full((B, 1), np.log(std)), np.random.default_rng(4), n=100)
    np.testing.assert_allclose(elbo, log_px, rtol=1e-10)
    np.testing.assert_allclose(iwae, log_px, rtol=1e-10)


def test_elbo_and_iwae_come_from_the_same_draws():
    """Away from the posterior the log weights vary: ELBO = their mean, IWAE = their
    log-mean-exp, over one set of draws (the noise stream replayed here)."""
    from scipy.special import logsumexp
    log_joint, Lam, post_mean, log_px, B, D = _model(seed=3, D=2)
    mean, log_std = post_mean + 0.3, np.full((B, D), -0.2)
    elbo, iwae = bounds_ffg(log_joint, mean, log_std, np.random.default_rng(4), n=300)
    z = mean + np.exp(log_std) * np.random.default_rng(4).standard_normal((300, B, D))
    lw = log_joint(z) - np.sum(-0.5 * ((z - mean) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi), -1)
    np.testing.assert_allclose(elbo, lw.mean(0), rtol=1e-12)
    np.testing.assert_allclose(iwae, logsumexp(lw, 0) - np.log(300), rtol=1e-12)
    assert np.all(elbo < iwae)                                       # Jensen, on the same draws


def test_check_grads_of_the_local_objective():
    log_joint, *_ , B, D = _model(seed=5, B=2, D=2)
    eps = np.random.default_rng(6).standard_normal((3, B, D))
    rng = np.random.default_rng(7)
    check_grads(lambda m, s: _neg_elbo_sum((m, s), log_joint, eps), modes=["rev"], order=1)(
        rng.standard_normal((B, D)), 0.1 * rng.standard_normal((B, D)))


def test_bad_input():
    log_joint, *_ = _model()
    with pytest.raises(ValueError, match="mean0, log_std0"):
        optimize_local_ffg(log_joint, np.zeros((4, 3)), np.zeros((4, 2)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="check_every"):
        optimize_local_ffg(log_joint, np.zeros((4, 3)), np.zeros((4, 3)), np.random.default_rng(0), max_steps=10)
