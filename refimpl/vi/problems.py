"""Posteriors for the STL variance experiments, and per-sample gradient variance.

- `logistic_regression(rng, n, d)`: Bayesian logistic regression on synthetic data,
  w ~ N(0, I), y_n ~ Bernoulli(sigmoid(x_nᵀ w)) (non-Gaussian posterior).
- `correlated_gaussian(rng, d, rho)`: a Gaussian posterior with correlation `rho`, so a
  full-covariance q can equal it exactly (where STL's variance is zero).
- `fit_fullcov(...)`: Adam on the full-covariance ELBO with a chosen estimator, recording
  the total gradient variance Σ_i Var[ĝ_i] of every estimator along the way
  (Roeder et al. Fig. 3 shape: variance vs iteration).

References
----------
G. Roeder, Y. Wu, D. Duvenaud. Sticking the Landing. NeurIPS 2017, Sec. 6 (variance plots).
"""
import autograd.numpy as np
import numpy as onp
from autograd import grad
from autograd.misc import flatten

from .gaussian import fullcov_elbo_surrogate
from .train import adam_init, adam_update


def logistic_regression(rng, n=100, d=4, prior_std=1.0):
    """Return (logjoint, X (n, d), y (n,) in {0, 1}, w_true (d,)); logjoint: (..., d) -> (...)."""
    X = rng.standard_normal((n, d))
    X[:, 0] = 1.0                                                       # intercept
    w_true = rng.standard_normal(d)
    y = (rng.random(n) < 1.0 / (1.0 + onp.exp(-X @ w_true))).astype(float)
    s = 2.0 * y - 1.0                                                   # ±1 labels

    def logjoint(w):
        log_prior = -0.5 * np.sum((w / prior_std) ** 2 + np.log(2 * np.pi * prior_std ** 2), axis=-1)
        logits = np.dot(w, X.T)                                         # (..., n)
        # log sigmoid(s_n x_nᵀ w) = -log(1 + exp(-s_n x_nᵀ w))
        return log_prior - np.sum(np.logaddexp(0.0, -s * logits), axis=-1)
    return logjoint, X, y, w_true


def correlated_gaussian(rng, d=4, rho=0.8, log_evidence=-10.0):
    """Return (logjoint, mu (d,), Sigma (d, d)) with Sigma_ij = s_i s_j rho^|i-j|.

    logjoint(z) = log N(z; mu, Sigma) + log_evidence: an unnormalised posterior, as in
    practice (with log_evidence = 0 the score-function estimator would also vanish at q = p).
    """
    sd = onp.exp(0.5 * rng.standard_normal(d))
    idx = onp.arange(d)
    Sigma = onp.outer(sd, sd) * rho ** onp.abs(idx[:, None] - idx[None, :])
    mu = rng.standard_normal(d)
    P = onp.linalg.inv(Sigma)
    logdet = onp.linalg.slogdet(Sigma)[1]

    def logjoint(z):
        u = z - mu
        return (-0.5 * np.sum(np.dot(u, P) * u, axis=-1) - 0.5 * logdet - 0.5 * d * np.log(2 * np.pi)
                + log_evidence)
    return logjoint, mu, Sigma


def fullcov_grad_samples(logjoint, mean, chol, estimator, eps):
    """Per-sample gradients of the full-covariance surrogate: eps (M, D) -> (M, D + D²)."""
    g = grad(lambda m, c, e: fullcov_elbo_surrogate(logjoint, m, c, e, estimator), (0, 1))
    return onp.stack([flatten(g(mean, chol, e[None]))[0] for e in eps])


def total_variance(samples):
    """Σ_i Var[ĝ_i] (trace of the gradient covariance) from samples (M, P)."""
    return float(onp.sum(onp.var(samples, axis=0, ddof=1)))


def fit_fullcov(logjoint, D, rng, *, n_iter, step_size, n_samples=10, fit_estimator="stl",
                measure_every=25, n_measure=100, estimators=("total", "stl", "score"), callback=None):
    """Fit q = N(m, L Lᵀ) by Adam on `fit_estimator` gradients; measure estimator variances.

    Returns (mean, chol, iterations (T,), {estimator: variances (T,)}). Variances are of the
    single-sample (S = 1) gradient with respect to (m, L), from `n_measure` draws.
    """
    mean0, chol0 = onp.zeros(D), onp.eye(D)
    flat, unflat = flatten((mean0, chol0))
    state = adam_init(flat)
    g = grad(lambda f, e: fullcov_elbo_surrogate(logjoint, *unflat(f), e, fit_estimator))
    its, var = [], {e: [] for e in estimators}
    for it in range(n_iter + 1):
        if it % measure_every == 0:
            m, c = unflat(state["x"])
            eps = rng.standard_normal((n_measure, D))                   # common noise for all
            for e in estimators:
                var[e].append(total_variance(fullcov_grad_samples(logjoint, m, c, e, eps)))
            its.append(it)
            if callback is not None:
                callback(it, {e: v[-1] for e, v in var.items()})
        if it < n_iter:
            state = adam_update(state, g(state["x"], rng.standard_normal((n_samples, D))), step_size)
    m, c = unflat(state["x"])
    return m, onp.tril(c), onp.array(its), {e: onp.array(v) for e, v in var.items()}
