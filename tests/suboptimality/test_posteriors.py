import numpy as np
from scipy.stats import multivariate_normal

from refimpl.suboptimality.posteriors import quadrature_posterior


def _linear_gaussian(B=3, P=5, sigma=0.4):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((P, 2))
    x = rng.standard_normal((B, P))

    def lj(z):                                       # z (S, B, 2) -> log N(z; 0, I) + log N(x; Wz, σ²I)
        r = x - z @ W.T
        return (-0.5 * np.sum(z ** 2, -1) - np.log(2 * np.pi)
                - 0.5 * np.sum(r ** 2, -1) / sigma ** 2 - P * np.log(sigma) - 0.5 * P * np.log(2 * np.pi))
    cov_x = W @ W.T + sigma ** 2 * np.eye(P)
    exact = np.array([multivariate_normal(np.zeros(P), cov_x).logpdf(xb) for xb in x])
    Lam = np.eye(2) + W.T @ W / sigma ** 2
    post_mean = np.linalg.solve(Lam, W.T @ x.T / sigma ** 2).T
    return lj, exact, post_mean, np.sqrt(np.diag(np.linalg.inv(Lam)))


def test_quadrature_matches_the_closed_form_evidence_and_posterior():
    lj, exact, post_mean, post_std = _linear_gaussian()
    q = quadrature_posterior(lj, 3)
    np.testing.assert_allclose(q["log_px"], exact, atol=1e-6)
    np.testing.assert_allclose(q["mean"], post_mean, atol=2e-3)     # from the coarse grid
    np.testing.assert_allclose(q["std"], np.broadcast_to(post_std, (3, 2)), rtol=0.05)
    assert np.all(q["coverage"] > 1 - 1e-6)
    # the returned fine-grid density is normalised
    area = np.array([(a[1] - a[0]) * (c[1] - c[0]) for a, c in zip(*q["axes"])])
    np.testing.assert_allclose(np.exp(q["logp"]).sum((1, 2)) * area, 1.0, atol=1e-8)
