"""HMC on a correlated Gaussian, leapfrog properties, diagnostics on processes with known answers."""
import numpy as np
import pytest

from refimpl.mcmc import DualAveraging, ess, leapfrog, sample, split_rhat


@pytest.fixture(scope="module")
def gaussian():
    rng = np.random.default_rng(0)
    D = 5
    L = rng.standard_normal((D, D))
    C = L @ L.T / D + 0.1 * np.eye(D)           # condition number ~ 30
    m = rng.standard_normal(D)
    P = np.linalg.inv(C)
    return m, C, lambda q: (-0.5 * (q - m) @ P @ (q - m), -P @ (q - m))


def test_hmc_recovers_mean_and_covariance_of_a_correlated_gaussian(gaussian):
    m, C, lg = gaussian
    rng = np.random.default_rng(1)
    res = sample(lg, rng.standard_normal((4, 5)) * 3, rng, n_warmup=400, n_samples=1000, n_leapfrog=10)
    d = res.diagnostics()
    print({k: v for k, v in d.items() if not isinstance(v, np.ndarray)})
    x = res.samples.reshape(-1, 5)
    n_eff = d["ess"]                                                        # (5,)
    assert np.all(np.abs(x.mean(0) - m) < 5 * np.sqrt(np.diag(C) / n_eff))
    # SE of a Gaussian covariance entry: sqrt((C_ii C_jj + C_ij²) / n_eff)
    se = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C ** 2) / n_eff.min())
    assert np.all(np.abs(np.cov(x.T) - C) < 5 * se)
    assert 0.65 < d["accept_rate"] < 0.95          # dual averaging targets 0.8
    assert d["rhat_max"] < 1.02
    assert d["ess_min"] > 400


def test_leapfrog_is_reversible_and_second_order(gaussian):
    m, C, lg = gaussian
    rng = np.random.default_rng(2)
    q, p = rng.standard_normal(5), rng.standard_normal(5)
    lp, g = lg(q)
    q1, p1, lp1, g1 = leapfrog(lg, q, p, g, 0.1, 20)
    q2, p2, _, _ = leapfrog(lg, q1, -p1, g1, 0.1, 20)
    np.testing.assert_allclose(q2, q, rtol=0, atol=1e-12)
    np.testing.assert_allclose(-p2, p, rtol=0, atol=1e-12)
    # energy error over a fixed time T = 1 shrinks like ε² (global order 2)
    errs = []
    for eps in (0.02, 0.01, 0.005):
        q1, p1, lp1, _ = leapfrog(lg, q, p, g, eps, int(round(1 / eps)))
        errs.append(abs((lp1 - 0.5 * p1 @ p1) - (lp - 0.5 * p @ p)))
    order = np.polyfit(np.log([0.02, 0.01, 0.005]), np.log(errs), 1)[0]
    assert 1.8 < order < 2.2, order


def test_dual_averaging_solves_for_the_target_acceptance():
    # a monotone acceptance curve α(ε) = exp(−ε²) plus zero-mean noise that never needs
    # clipping (|noise| ≤ 0.05 < 1 − δ): ε̄ must approach sqrt(−log δ)
    rng = np.random.default_rng(3)
    for delta in (0.6, 0.8, 0.9):
        da = DualAveraging(eps0=1.0, target=delta)
        eps = 1.0
        for _ in range(3000):
            eps = da.update(np.exp(-eps ** 2) + rng.uniform(-0.05, 0.05))
        assert abs(da.final / np.sqrt(-np.log(delta)) - 1) < 0.05, (delta, da.final)


def test_ess_of_ar1_and_iid_processes():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 2000))
    assert abs(ess(x) / 8000 - 1) < 0.1
    phi = 0.9
    z = np.zeros((4, 5000))
    z[:, 0] = rng.standard_normal(4) / np.sqrt(1 - phi ** 2)
    for t in range(1, 5000):
        z[:, t] = phi * z[:, t - 1] + rng.standard_normal(4)
    exact = 20000 * (1 - phi) / (1 + phi)                  # τ = (1 + φ)/(1 − φ)
    assert abs(ess(z) / exact - 1) < 0.25


def test_split_rhat_flags_disagreeing_and_drifting_chains():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 1000))
    assert split_rhat(x) < 1.01
    assert split_rhat(x + np.arange(4)[:, None]) > 1.5        # chains in different places
    drift = x + np.linspace(0, 3, 1000)[None]                 # each chain drifts: split halves disagree
    assert split_rhat(drift) > 1.2


def test_bad_input_names_the_argument():
    lg = lambda q: (-0.5 * q @ q, -q)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="q0"):
        sample(lg, np.full((1, 2), np.nan), rng)
    with pytest.raises(ValueError, match="target_accept"):
        sample(lg, np.zeros((1, 2)), rng, target_accept=1.5)
    with pytest.raises(ValueError, match="x"):
        ess(np.zeros((2, 2)))
