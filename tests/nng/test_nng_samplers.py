"""Claims about the posterior samplers that predictions use: `opt.sample(rng)` draws from the
Gaussian the optimiser states (`opt.mu`, `opt.covariance()` / `opt.std()`).

Each case runs a few steps of the optimiser on a small regression problem (so the Fisher
factors are not diagonal), then draws S samples and compares the empirical mean and
covariance with the stated ones, entry by entry in units of the standard error:
se(mean_i) = sqrt(Σ_ii / S), se(cov_ij) = sqrt((Σ_ii Σ_jj + Σ_ij²) / S). λ ≠ 1 and a small N
make (λ/N) far from 1, so a sample scaled by λ/N instead of sqrt(λ/N), drawn with σ² instead
of σ, or through a transposed triangular solve is many standard errors off.
"""
import numpy as np
import pytest

from refimpl.nng import FullCovNNG, NoisyAdam, NoisyKFAC, mlp

S = 20_000
Z_MAX = 5.0


def _problem(seed=0, n=40):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = np.sin(X[:, :1]) + 0.1 * rng.standard_normal((n, 1))
    return X, y, mlp.init_params(rng, [2, 3, 1])


def _trained(cls, lam, N, **kw):
    X, y, p0 = _problem()
    opt = cls(p0, N=N, kl_weight=lam, **kw)
    rng = np.random.default_rng(1)
    for _ in range(5):
        opt.step(X, y, 4.0, rng)
    return opt


def _assert_moments(draws, mean, cov, what):
    """draws: (S, d); mean: (d,); cov: (d, d)."""
    emp_mean = draws.mean(axis=0)
    emp_cov = np.cov(draws, rowvar=False)
    var = np.diag(cov)
    z_mean = np.abs(emp_mean - mean) / np.sqrt(var / S)
    se_cov = np.sqrt((np.outer(var, var) + cov ** 2) / S)
    z_cov = np.abs(emp_cov - cov) / se_cov
    assert z_mean.max() < Z_MAX, f"{what}: sample mean off by {z_mean.max():.1f} se"
    assert z_cov.max() < Z_MAX, f"{what}: sample covariance off by {z_cov.max():.1f} se"


@pytest.mark.parametrize("lam,N", [(1.0, 10), (0.3, 10), (2.0, 25)])
def test_noisy_kfac_samples_have_the_stated_covariance(lam, N):
    opt = _trained(NoisyKFAC, lam, N, T_inv=1)
    rng = np.random.default_rng(2)
    draws = [opt.sample(rng) for _ in range(S)]
    for l in range(len(opt.mu)):
        W = np.stack([d[l].reshape(-1) for d in draws])            # (S, in*out) row-major vec
        _assert_moments(W, opt.mu[l].reshape(-1), opt.covariance(l), f"noisy K-FAC layer {l}")


@pytest.mark.parametrize("lam,N", [(1.0, 10), (0.3, 10)])
def test_noisy_adam_samples_have_the_stated_std(lam, N):
    opt = _trained(NoisyAdam, lam, N)
    rng = np.random.default_rng(3)
    draws = [opt.sample(rng) for _ in range(S)]
    for l, (mu, sd) in enumerate(zip(opt.mu, opt.std())):
        W = np.stack([d[l].reshape(-1) for d in draws])
        _assert_moments(W, mu.reshape(-1), np.diag(sd.reshape(-1) ** 2), f"noisy Adam layer {l}")
    # the stated std is the formula's sqrt((λ/N) / (f + γ_in)), not its square
    f0 = opt.f[0]
    np.testing.assert_allclose(opt.std()[0] ** 2, lam / N / (f0 + opt.gamma_in), rtol=1e-12)


@pytest.mark.parametrize("lam,N", [(1.0, 10), (0.3, 10)])
def test_full_cov_samples_have_the_stated_covariance(lam, N):
    opt = _trained(FullCovNNG, lam, N)
    C = opt.covariance()
    off = C - np.diag(np.diag(C))
    assert np.abs(off).max() > 0.05 * np.abs(np.diag(C)).max()   # a transposed solve shows
    rng = np.random.default_rng(4)
    draws = np.stack([opt.sample_flat(rng) for _ in range(S)])
    _assert_moments(draws, opt.mu, C, "full-cov")
    # sample() is sample_flat() unflattened into the layer list
    lay = opt.sample(np.random.default_rng(5))
    np.testing.assert_array_equal(mlp.flatten_layers(lay), opt.sample_flat(np.random.default_rng(5)))
