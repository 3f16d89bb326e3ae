"""Bayesian-network regression: the learned noise precision, the training loop, the metrics.

Likelihood: y | x, w, τ ~ N(f(x; w), 1/τ) on standardised targets. The noise precision τ
has a Gamma(a₀, b₀) prior and a variational Gamma(a, b) posterior. Default a₀ = 1, b₀ = 0.01
(vague: an exponential prior with mean 100 on standardised targets). PBP's Gamma(6, 6) is
*not* vague here: b₀ = 6 acts like 12 pseudo-observations of unit squared error and on
yacht (N = 277, standardised MSE ≈ 0.003) it caps E[τ] near 17 instead of ≈ 350 (measured).
Given q(w), the optimal q(τ) is conjugate (Bishop 2006, eq. (10.29)-(10.30)):

    a = a₀ + N/2,      b = b₀ + ½ Σ_n E_q(w)[(y_n − f(x_n; w))²].

We follow it by stochastic natural-gradient steps on b (for a conjugate exponential-family
factor the natural gradient step is a convex combination of natural parameters, Hoffman
et al. 2013, eq. (33)): b ← (1 − ρ) b + ρ (b₀ + (N/2) · mean_batch (y − f(x; w_s))²) with
the network weights w_s the optimizer sampled for its own step. The optimizers see
τ̄ = E_q[τ] = a/b, since E_q(τ)[log N(y | f, 1/τ)] has gradient τ̄ (y − f) in f.

Metrics (the UCI protocol of Hernández-Lobato & Adams 2015): test RMSE of the predictive
mean in original units, and the per-point test log-likelihood

    log p(y* | x*) ≈ log (1/S) Σ_s N(y*; y_mean + y_std f(x*; w_s), y_std² / τ_s)

with w_s ~ q(w), τ_s ~ q(τ): log-mean-exp over posterior samples, evaluated in original
units (the standardisation's Jacobian −log y_std is included).

References
----------
G. Zhang et al. Noisy Natural Gradient as Variational Inference. ICML 2018, Sec. 5.2.
J. M. Hernández-Lobato, R. Adams. Probabilistic Backpropagation. ICML 2015, Sec. 5.
M. Hoffman, D. Blei, C. Wang, J. Paisley. Stochastic Variational Inference. JMLR 2013.
"""
import numpy as np
from scipy.special import logsumexp

from . import mlp


class GammaNoise:
    """Variational Gamma(a, b) over the noise precision τ with a Gamma(a₀, b₀) prior."""

    def __init__(self, N, a0=1.0, b0=0.01, tau0=None):
        if a0 <= 0 or b0 <= 0:
            raise ValueError(f"a0, b0: expected positive Gamma prior parameters, got {a0!r}, {b0!r}")
        if tau0 is not None and not tau0 > 0:
            raise ValueError(f"tau0: expected a positive initial E[τ], got {tau0!r}")
        self.N, self.a0, self.b0 = int(N), float(a0), float(b0)
        self.a = self.a0 + 0.5 * self.N                       # fixed by conjugacy
        # start at E[τ] = tau0 (default: the prior mean a0/b0)
        self.b = self.a / (tau0 if tau0 is not None else self.a0 / self.b0)

    def mean(self):
        return self.a / self.b

    def update(self, sq_err_mean, rho):
        # Bishop eq. (10.30), one noisy natural-gradient step of size rho
        b_hat = self.b0 + 0.5 * self.N * float(sq_err_mean)
        self.b = (1.0 - rho) * self.b + rho * b_hat

    def sample(self, rng, size):
        return rng.gamma(self.a, 1.0 / self.b, size=size)

    def state(self):
        return np.array([self.b])


class FixedNoise:
    """A known noise precision τ (toy problems, closed-form checks): the same interface."""

    def __init__(self, tau):
        if not tau > 0:
            raise ValueError(f"tau: expected a positive noise precision, got {tau!r}")
        self.tau = float(tau)

    def mean(self):
        return self.tau

    def update(self, sq_err_mean, rho):
        pass

    def sample(self, rng, size):
        return np.full(size, self.tau)


def minibatches(rng, N, batch_size):
    """An endless stream of index arrays: shuffled epochs cut into batches of `batch_size`."""
    if int(batch_size) < 1:            # a non-positive size would loop forever without yielding
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    batch_size = min(int(batch_size), N)
    while True:
        perm = rng.permutation(N)
        for i in range(0, N - batch_size + 1, batch_size):
            yield perm[i:i + batch_size]


def fit(opt, X, y, rng, n_iters, batch_size, noise=None, rho=0.01, progress=None):
    """Train `opt` (an object with `step(X_b, y_b, tau, rng) -> f_b`) for n_iters minibatches.

    X: (N, D), y: (N, d_out). `noise` is a GammaNoise (None: created) or a FixedNoise. The noise update uses
    the outputs f_b of the weights the optimizer sampled for its step. Returns the noise.
    """
    X, y = np.asarray(X, float), np.asarray(y, float)
    if y.ndim == 1:
        y = y[:, None]
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X, y: expected (N, D) and (N,) or (N, d), got {X.shape} and {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X, y: expected finite values, got NaN or inf")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    noise = noise or GammaNoise(X.shape[0])
    batches = minibatches(rng, X.shape[0], batch_size)
    for it in range(int(n_iters)):
        idx = next(batches)
        f = opt.step(X[idx], y[idx], noise.mean(), rng)
        if not np.all(np.isfinite(f)):                   # never train on silently after a divergence
            raise FloatingPointError(f"fit: non-finite network outputs at iteration {it} of {int(n_iters)} "
                                     f"({type(opt).__name__} diverged; lower lr or raise the damping)")
        noise.update(np.mean((y[idx] - f) ** 2), rho)
        if progress is not None:
            progress.update(it + 1)
    return noise


def predictive_samples(opt, X, rng, n_samples, activation="relu"):
    """f(X; w_s) for w_s ~ q(w): (S, n, d_out)."""
    return np.stack([mlp.forward(opt.sample(rng), X, activation)[0] for _ in range(n_samples)])


def evaluate(F, tau, y_test, y_mean=0.0, y_std=1.0):
    """RMSE (original units) and mean test log-likelihood per point.

    F: (S, n) predictions on the standardised scale; tau: (S,) noise precisions;
    y_test: (n,) standardised targets.
    """
    F = np.asarray(F, float).reshape(len(tau), -1)
    y_test = np.asarray(y_test, float).ravel()
    rmse = y_std * np.sqrt(np.mean((F.mean(0) - y_test) ** 2))
    tau = np.asarray(tau, float)[:, None]                                    # (S, 1)
    # log N(y*; f_s, 1/τ_s) on the standardised scale, minus log y_std for the original units
    ll = 0.5 * np.log(tau / (2 * np.pi)) - 0.5 * tau * (y_test[None] - F) ** 2 - np.log(y_std)
    ll = logsumexp(ll, axis=0) - np.log(F.shape[0])                          # (n,)
    return float(rmse), float(ll.mean())
