"""Noisy natural gradient (Zhang et al. 2018) in one page: noisy K-FAC fits a Bayesian
neural network by K-FAC steps on weights *sampled* from its matrix-variate Gaussian posterior.

1. Bayesian linear regression: noisy K-FAC with exact damping recovers the closed-form posterior.
2. 1-D regression with a gap: noisy K-FAC vs noisy Adam vs Bayes by Backprop, mean ± 2 sd.

Run: python examples/noisy_natural_gradient.py [--quick]   (writes noisy_natural_gradient.png)
"""
import argparse

import numpy as np

from refimpl.nng import BBB, NoisyAdam, NoisyKFAC, mlp
from refimpl.nng.regression import FixedNoise, fit
from refimpl.plotting import plt, savefig


def blr_check(rng, n_iter, N=200, D=3, tau=4.0, eta=1.0):
    """Noisy K-FAC (eigen damping, exact Fisher) vs the exact Gaussian posterior."""
    X = rng.standard_normal((N, D))
    Xb = mlp.homog(X)                                                   # (N, D+1), bias column
    y = (Xb @ rng.standard_normal(D + 1) + rng.standard_normal(N) / np.sqrt(tau))[:, None]
    Sigma = np.linalg.inv(tau * Xb.T @ Xb + np.eye(D + 1) / eta)        # exact posterior covariance
    m = Sigma @ (tau * Xb.T @ y[:, 0])                                  # exact posterior mean
    opt = NoisyKFAC(mlp.init_params(rng, [D, 1]), N, lr=0.1, beta=0.1, prior_var=eta, gamma_ex=0.0,
                    damping="eigen", fisher="exact")
    trace = []
    for i in range(n_iter):
        opt.step(X, y, tau, rng)
        trace.append(opt.mu[0].ravel().copy())
    mu = np.mean(trace[n_iter // 2:], axis=0)                           # iterate average
    return np.abs(mu - m) / np.sqrt(np.diag(Sigma)), np.abs(opt.covariance(0) - Sigma).max() / np.abs(Sigma).max()


def toy_data(rng, n=40, sigma=0.2):
    x = np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0) * rng.uniform(1.5, 4.0, size=n)
    return x[:, None], np.sin(x) + sigma * rng.standard_normal(n)


def fit_and_predict(opt, X, y, grid, rng, n_iter, sigma=0.2, n_samples=200):
    fit(opt, X, y, rng, n_iter, batch_size=10, noise=FixedNoise(1 / sigma ** 2))
    return np.stack([mlp.forward(opt.sample(rng), grid)[0][:, 0] for _ in range(n_samples)])


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="noisy_natural_gradient.png")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n_iter = 1000 if args.quick else 8000

    err_mean, err_cov = blr_check(rng, 600 if args.quick else 4000)
    print("Bayesian linear regression, noisy K-FAC (exact damping):")
    print(f"  |mean - exact| / posterior sd = {np.round(err_mean, 3)}")
    print(f"  max relative covariance error = {err_cov:.1e}")

    X, y = toy_data(rng)
    grid = np.linspace(-6, 6, 121)[:, None]
    N = X.shape[0]
    methods = {
        "noisy K-FAC": NoisyKFAC(mlp.init_params(rng, [1, 20, 1]), N, lr=0.03, gamma_ex=0.01, kl_clip=1e-2),
        "noisy Adam": NoisyAdam(mlp.init_params(rng, [1, 20, 1]), N, lr=0.01, beta2=0.99),
        "Bayes by Backprop": BBB(mlp.init_params(rng, [1, 20, 1]), N, lr=0.003),
    }
    fig, axes = plt.subplots(1, 3, figsize=(11, 3), sharey=True)
    for ax, (name, opt) in zip(axes, methods.items()):
        F = fit_and_predict(opt, X, y, grid, rng, n_iter)
        m, s = F.mean(0), F.std(0)
        in_gap = np.abs(grid[:, 0]) < 1.0
        print(f"{name:18s} mean predictive sd in the gap {s[in_gap].mean():.3f}, on the data "
              f"{s[(np.abs(grid[:, 0]) > 1.5) & (np.abs(grid[:, 0]) < 4)].mean():.3f}")
        ax.fill_between(grid[:, 0], m - 2 * s, m + 2 * s, alpha=0.3, lw=0)
        ax.plot(grid[:, 0], m)
        ax.plot(X[:, 0], y, "k.", ms=3)
        ax.set_title(name, fontsize=9)
        ax.set_ylim(-4, 4)
    savefig(fig, args.out)
    print("wrote", args.out)
