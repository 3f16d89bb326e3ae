"""AIS and BDMC on a linear-Gaussian model with log p(x) in closed form."""
import autograd.numpy as anp
import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from refimpl.mcmc.ais import ais, bdmc, hmc_move, linear_schedule, sigmoid_schedule


def _model(seed=0, D=2, X=3, sigma=1.0):
    # a mild posterior (prior std 1, posterior std ~0.5): AIS weights with small variance
    rng = np.random.default_rng(seed)
    W, b = 0.7 * rng.standard_normal((X, D)), rng.standard_normal(X)
    x = W @ rng.standard_normal(D) + b + sigma * rng.standard_normal(X)

    def log_prior(z):
        return -0.5 * anp.sum(z ** 2, -1) - 0.5 * D * np.log(2 * np.pi)

    def log_lik(z):
        r = x - (anp.dot(z, W.T) + b)
        return -0.5 * anp.sum(r ** 2, -1) / sigma ** 2 - X * np.log(sigma) - 0.5 * X * np.log(2 * np.pi)

    exact = multivariate_normal(b, W @ W.T + sigma ** 2 * np.eye(X)).logpdf(x)
    Lam = np.eye(D) + W.T @ W / sigma ** 2
    post_mean = np.linalg.solve(Lam, W.T @ (x - b)) / sigma ** 2
    return log_prior, log_lik, exact, post_mean, np.linalg.inv(Lam), D


def _se(log_w):
    return np.std(log_w, axis=-1) / np.sqrt(log_w.shape[-1])


def test_estimate_converges_to_the_exact_log_marginal():
    lp, ll, exact, *_, D = _model()
    rng = np.random.default_rng(1)
    spread = []
    for n in (2, 20, 200):
        r = ais(lp, ll, rng.standard_normal((256, D)), linear_schedule(n), rng, step_size=0.2, adapt=False)
        assert abs(r.log_Z - exact) < 4 * _se(r.log_w) + 0.01
        spread.append(np.std(r.log_w))
    assert spread[2] < 0.5 * spread[0] and spread[2] < 0.1           # the weights' variance shrinks
    assert abs(r.log_Z - exact) < 0.02
    assert 0.5 < r.accept_rate <= 1.0


def test_one_distribution_is_prior_importance_sampling():
    lp, ll, exact, *_, D = _model(2)
    rng = np.random.default_rng(3)
    z0 = rng.standard_normal((64, D))
    r = ais(lp, ll, z0, np.array([0.0, 1.0]), rng, step_size=0.1, adapt=False)
    np.testing.assert_allclose(r.log_w, ll(z0), rtol=1e-12)        # the weight uses z0, before the move
    assert r.log_Z == pytest.approx(logsumexp(ll(z0)) - np.log(64), rel=1e-12)


def test_weights_are_unbiased_for_Z():
    # E[exp(log w)] = p(x): the mean of the weights over many chains, against its standard error
    lp, ll, exact, *_, D = _model(4)
    rng = np.random.default_rng(5)
    r = ais(lp, ll, rng.standard_normal((4000, D)), linear_schedule(5), rng, step_size=0.3, adapt=False)
    w = np.exp(r.log_w - exact)                                     # should average 1
    assert abs(w.mean() - 1.0) < 4 * w.std() / np.sqrt(w.size)


def test_batched_chains_give_one_estimate_per_datapoint():
    lp, ll, exact, *_, D = _model(6)
    rng = np.random.default_rng(7)
    r = ais(lp, ll, rng.standard_normal((3, 128, D)), sigmoid_schedule(100), rng, step_size=0.2, adapt=False)
    assert r.log_w.shape == (3, 128) and r.log_Z.shape == (3,) and r.step_size.shape == (3, 128)
    assert np.all(np.abs(r.log_Z - exact) < 4 * _se(r.log_w) + 0.01)


def test_bdmc_sandwiches_the_exact_value_and_narrows():
    # stochastic bounds: judged on the mean of 4 independent runs against its standard error
    lp, ll, exact, mean, cov, D = _model(8)
    widths = []
    for n in (5, 150):
        runs = []
        for rep in range(4):
            rng = np.random.default_rng([9, n, rep])
            z_post = rng.multivariate_normal(mean, cov, size=256)
            runs.append(bdmc(lp, ll, rng.standard_normal((256, D)), z_post, sigmoid_schedule(n), rng,
                             step_size=0.2, adapt=False))
        lo, up = np.array(runs).T
        se_lo, se_up = lo.std(ddof=1) / 2, up.std(ddof=1) / 2
        assert lo.mean() <= exact + 3 * se_lo + 0.01 and up.mean() >= exact - 3 * se_up - 0.01
        widths.append(abs(np.mean(up - lo)))
    assert widths[1] < widths[0] and widths[1] < 0.1


def test_adaptation_moves_the_step_size_within_its_clamp():
    lp, ll, exact, *_, D = _model(10)
    rng = np.random.default_rng(11)
    r = ais(lp, ll, rng.standard_normal((64, D)), sigmoid_schedule(100), rng, step_size=0.01, adapt=True)
    assert np.all(r.step_size > 0.01) and np.all(r.step_size <= 0.5)   # tiny steps accept: ε grows
    assert abs(r.log_Z - exact) < 0.1


def _flat(z):
    return 0.0 * anp.sum(z, -1)                                      # log f = 0: every proposal accepted


def test_adaptation_grows_by_1_02_per_accepted_transition_up_to_the_clamp():
    rng = np.random.default_rng(20)
    for T, expect in ((50, 0.01 * 1.02 ** 50), (400, 0.5)):         # 0.01·1.02^T until the 0.5 clamp
        r = ais(_flat, _flat, rng.standard_normal((3, 2)), linear_schedule(T), rng, step_size=0.01)
        assert r.accept_rate == 1.0
        np.testing.assert_allclose(r.step_size, expect, rtol=1e-12)


def test_adaptation_shrinks_by_0_98_per_rejection_down_to_the_clamp():
    rng = np.random.default_rng(21)

    def never(z):                                                    # log p(x|z) = −inf: every proposal rejected
        return np.full(z.shape[:-1], -np.inf), np.zeros_like(z)
    for T, expect in ((50, 0.01 * 0.98 ** 50), (400, 1e-4)):
        r = ais(_flat, None, rng.standard_normal((3, 2)), linear_schedule(T), rng, step_size=0.01,
                log_lik_grad=never)
        assert r.accept_rate == 0.0
        np.testing.assert_allclose(r.step_size, expect, rtol=1e-12)


def test_adaptation_uses_the_cumulative_acceptance_since_the_chain_start(monkeypatch):
    """Accept pattern 1,0,0,1,1,1,0: cumulative fractions 1, .5, .33, .5, .6, .67, .57 against
    0.65 give ×1.02, ×.98, ×.98, ×.98, ×.98, ×1.02, ×.98 (the latest step alone would not)."""
    import sys
    A = sys.modules["refimpl.mcmc.ais"]                              # (the package's `ais` is the function)
    pattern = iter([1, 0, 0, 1, 1, 1, 0])

    def fake_move(z, logf_and_grad, eps, n_leapfrog, rng, start=None):
        logf_and_grad(z)
        return z, np.full(z.shape[:-1], bool(next(pattern)))
    monkeypatch.setattr(A, "hmc_move", fake_move)
    rng = np.random.default_rng(22)
    r = A.ais(_flat, _flat, rng.standard_normal((2, 2)), linear_schedule(7), rng, step_size=0.01)
    expect = 0.01
    for f in (1.02, 0.98, 0.98, 0.98, 0.98, 1.02, 0.98):
        expect *= f
    np.testing.assert_allclose(r.step_size, expect, rtol=1e-12)


def test_leapfrog_clamps_the_gradient():
    """A gradient of 1e8 moves the proposal as a gradient of 1e4 (GRAD_CLAMP) would."""
    from refimpl.mcmc.ais import GRAD_CLAMP
    seen = []

    def steep(zz):
        seen.append(np.array(zz))
        return np.zeros(zz.shape[:-1]), np.full(zz.shape, 1e8)
    z, eps = np.zeros((1, 2)), np.full(1, 1e-3)
    hmc_move(z, steep, eps, 1, np.random.default_rng(23))
    v0 = np.random.default_rng(23).standard_normal((1, 2))
    np.testing.assert_allclose(seen[-1], z + 1e-3 * (v0 + 0.5 * 1e-3 * GRAD_CLAMP), rtol=1e-12)
    assert GRAD_CLAMP == 1e4


def test_hmc_with_tiny_steps_accepts_and_preserves_a_gaussian():
    rng = np.random.default_rng(12)
    prec = np.array([1.0, 4.0])

    def logf(z):
        return -0.5 * np.sum(prec * z ** 2, -1), -prec * z
    z = rng.standard_normal((4000, 2)) / np.sqrt(prec)
    z1, acc = hmc_move(z, logf, np.full(4000, 1e-3), 10, rng)
    assert acc.mean() > 0.999
    for _ in range(20):
        z, _ = hmc_move(z, logf, np.full(4000, 0.3), 10, rng)
    np.testing.assert_allclose(z.var(0), 1 / prec, rtol=0.1)
    np.testing.assert_allclose(z.mean(0), 0.0, atol=0.06)


def test_schedules_and_bad_input():
    s = sigmoid_schedule(10)
    assert s[0] == 0.0 and s[-1] == 1.0 and np.all(np.diff(s) > 0)
    assert np.diff(s)[0] < np.diff(s)[5]                              # slow at the ends
    lp, ll, *_ = _model()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="betas"):
        ais(lp, ll, np.zeros((4, 2)), np.array([0.0, 0.5]), rng)
    with pytest.raises(ValueError, match="z0"):
        ais(lp, ll, np.zeros(4), linear_schedule(2), rng)
    with pytest.raises(ValueError, match="n"):
        linear_schedule(0)
    with pytest.raises(ValueError, match="z0"):
        ais(lp, ll, np.full((4, 2), np.nan), linear_schedule(2), rng)
    with pytest.raises(ValueError, match="step_size"):
        ais(lp, ll, np.zeros((4, 2)), linear_schedule(2), rng, step_size=np.full(4, 0.1))
    with pytest.raises(ValueError, match="log_lik"):                  # summed over chains: one weight for all
        ais(lp, lambda z: anp.sum(ll(z)), np.zeros((4, 2)), linear_schedule(2), rng)
