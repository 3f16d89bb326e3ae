"""Posterior recovery on Bayesian linear regression, whose posterior is Gaussian in closed form.

Model: y = ā w + N(0, 1/τ), prior w ~ N(0, η I) (bias included), N examples, λ = 1:
exact precision P = τ Σ ā āᵀ + I/η = N (τ A + γ_in I), mean m = P⁻¹ τ Σ ā y.

Tolerance for the means. Every method iterates μ_{k+1} − m = (I − G)(μ_k − m) − G ξ_k with
ξ_k ~ q(w) the weight noise and G a (momentum-)preconditioned gain; the long-run variance of
the iterate average is then Cov(ξ)/K whatever G is (the G's cancel at frequency zero), so the
mean of the last K iterates is within 5 sd_q/√K of m per coordinate, up to the geometrically
decaying transient of the discarded first half. The covariances are deterministic here when
the Fisher is "exact" (a linear model's Fisher does not depend on w) and are compared to
1e-10; with sampled targets the diagonal Fisher is an EMA of χ² draws whose relative standard
deviation is sqrt(2 Σā⁴/(Σā²)² (1−β₂)/(1+β₂)), and the tolerance is 5 of those.
"""
import numpy as np
import pytest

from refimpl.nng import FullCovNNG, NoisyAdam, NoisyKFAC, mlp
from refimpl.testing import assert_twins_agree

N, D, TAU, ETA = 200, 3, 4.0, 1.0
N_ITER, K = 4000, 2000


@pytest.fixture(scope="module")
def blr():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    Xb = mlp.homog(X)
    y = Xb @ rng.standard_normal(D + 1) + rng.standard_normal(N) / np.sqrt(TAU)
    P = TAU * Xb.T @ Xb + np.eye(D + 1) / ETA
    Sigma = np.linalg.inv(P)
    return {"X": X, "Xb": Xb, "y": y[:, None], "P": P, "Sigma": Sigma, "m": Sigma @ (TAU * Xb.T @ y),
            "p0": mlp.init_params(rng, [D, 1])}


def run(opt, blr, seed=1):
    rng = np.random.default_rng(seed)
    trace = []
    for i in range(N_ITER):
        opt.step(blr["X"], blr["y"], TAU, rng)           # full batch: only the weight noise remains
        if i >= N_ITER - K:
            trace.append(mlp.flatten_layers(opt.mu) if isinstance(opt.mu, list) else opt.mu.copy())
    return np.mean(trace, axis=0)


def check_mean(mu_bar, blr, sd_q, name):
    units = np.abs(mu_bar - blr["m"]) / (sd_q / np.sqrt(K))
    print(f"{name}: |mean − exact| in posterior sd: {np.abs(mu_bar - blr['m']) / np.sqrt(np.diag(blr['Sigma']))}")
    assert np.all(units < 5.0), f"{name}: mean off by {units.max():.2f} standard errors"


# γ_ex > 0 damps the mean update only: the posterior must not move (catches γ / γ_in swaps)
@pytest.mark.parametrize("gamma_ex", [0.0, 0.05])
def test_full_covariance_nng_recovers_the_exact_posterior(blr, gamma_ex):
    opt = FullCovNNG(blr["p0"], N, lr=0.1, beta=0.1, prior_var=ETA, fisher="exact", gamma_ex=gamma_ex)
    mu_bar = run(opt, blr)
    assert_twins_agree(opt.covariance(), blr["Sigma"], rtol=1e-10, atol=1e-14, name="full-cov covariance")
    check_mean(mu_bar, blr, np.sqrt(np.diag(blr["Sigma"])), "full cov")


@pytest.mark.parametrize("gamma_ex", [0.0, 0.05])
def test_noisy_kfac_eigen_damping_recovers_the_exact_posterior(blr, gamma_ex):
    opt = NoisyKFAC(blr["p0"], N, lr=0.1, beta=0.1, prior_var=ETA, gamma_ex=gamma_ex, damping="eigen",
                    fisher="exact")
    mu_bar = run(opt, blr)
    assert_twins_agree(opt.covariance(0), blr["Sigma"], rtol=1e-10, atol=1e-14, name="K-FAC eigen covariance")
    check_mean(mu_bar, blr, np.sqrt(np.diag(blr["Sigma"])), "noisy K-FAC (eigen)")


def test_noisy_kfac_factored_damping_converges_to_its_kronecker_posterior(blr):
    opt = NoisyKFAC(blr["p0"], N, lr=0.1, beta=0.1, prior_var=ETA, gamma_ex=0.0, damping="factored",
                    fisher="exact")
    mu_bar = run(opt, blr)
    # closed form: (1/N) (A + π√γ I)⁻¹ ⊗ (τ + √γ/π)⁻¹, π = sqrt((tr A/d_A) / (τ/1))
    A = blr["Xb"].T @ blr["Xb"] / N
    g = 1.0 / (N * ETA)
    pi = np.sqrt(np.trace(A) / (D + 1) / TAU)
    C = np.linalg.inv(A + pi * np.sqrt(g) * np.eye(D + 1)) / (TAU + np.sqrt(g) / pi) / N
    assert_twins_agree(opt.covariance(0), C, rtol=1e-10, atol=1e-14, name="K-FAC factored covariance")
    rel = np.abs(C - blr["Sigma"]).max() / np.abs(blr["Sigma"]).max()
    print(f"factored-damping posterior vs exact: max relative difference {rel:.3f}")
    assert rel > 1e-3                      # the cross terms of the factored damping are visible
    check_mean(mu_bar, blr, np.sqrt(np.diag(C)), "noisy K-FAC (factored)")


@pytest.mark.parametrize("gamma_ex", [0.0, 0.05])
def test_noisy_adam_converges_to_the_mean_field_optimum(blr, gamma_ex):
    # mean-field optimum of a Gaussian target: mean m, precision diag(P)
    opt = NoisyAdam(blr["p0"], N, lr=0.02, beta2=0.99, prior_var=ETA, fisher="exact", gamma_ex=gamma_ex)
    mu_bar = run(opt, blr)
    var = np.concatenate([s.ravel() for s in opt.std()]) ** 2
    assert_twins_agree(var, 1.0 / np.diag(blr["P"]), rtol=1e-10, name="noisy Adam variances")
    check_mean(mu_bar, blr, np.sqrt(var), "noisy Adam")


def test_noisy_adam_with_sampled_fisher_is_within_its_ema_noise(blr):
    beta2 = 0.99
    opt = NoisyAdam(blr["p0"], N, lr=0.02, beta2=beta2, prior_var=ETA, fisher="sampled")
    mu_bar = run(opt, blr)
    f = mlp.flatten_layers(opt.f)
    f_true = TAU * np.mean(blr["Xb"] ** 2, axis=0)
    rel_sd = np.sqrt(2 * np.sum(blr["Xb"] ** 4, 0) / np.sum(blr["Xb"] ** 2, 0) ** 2 * (1 - beta2) / (1 + beta2))
    units = np.abs(f / f_true - 1) / rel_sd
    print(f"sampled diag Fisher / exact: {f / f_true} (relative sd {rel_sd})")
    assert np.all(units < 5.0)
    var = np.concatenate([s.ravel() for s in opt.std()]) ** 2
    check_mean(mu_bar, blr, np.sqrt(var), "noisy Adam (sampled Fisher)")


def test_batch_squared_gradient_overestimates_the_posterior_width(blr):
    # Alg. 1 read literally (square of the minibatch mean gradient) is not the Fisher diagonal
    rng = np.random.default_rng(3)
    opt = NoisyAdam(blr["p0"], N, lr=0.02, beta2=0.99, prior_var=ETA, fisher="batch")
    for _ in range(1500):
        idx = rng.choice(N, 10, replace=False)
        opt.step(blr["X"][idx], blr["y"][idx], TAU, rng)
    var = np.concatenate([s.ravel() for s in opt.std()]) ** 2
    assert np.all(var > 2.0 / np.diag(blr["P"]))


def test_hyperparameters_are_validated(blr):
    with pytest.raises(ValueError, match="prior_var"):
        NoisyAdam(blr["p0"], N, prior_var=0.0)
    with pytest.raises(ValueError, match="kl_weight"):
        NoisyKFAC(blr["p0"], N, kl_weight=-1.0)
    with pytest.raises(ValueError, match="N"):
        FullCovNNG(blr["p0"], 0)
    with pytest.raises(ValueError, match="damping"):
        NoisyKFAC(blr["p0"], N, damping="diag")
    with pytest.raises(ValueError, match="beta2"):
        NoisyAdam(blr["p0"], N, beta2=1.0)
    with pytest.raises(ValueError, match="beta"):
        FullCovNNG(blr["p0"], N, beta=0.0)
    with pytest.raises(ValueError, match="T_inv"):
        FullCovNNG(blr["p0"], N, T_inv=0)
