"""Matrix-normal-inverse-Wishart: expected_stats = grad logZ (autograd), logZ normalises the
density (quadrature, n = m = 1) and reduces to the NIW at m = 1, round trips, KL (>= 0, 0 at
equality, = Monte Carlo), sampling moments against expected_stats."""
import numpy as onp
import pytest
from autograd import grad
from autograd.test_util import check_grads
from scipy import integrate

from refimpl.expfam import mniw, niw


def rand_spd(rng, D, jitter=0.5):
    X = rng.standard_normal((D, D))
    return X @ X.T + jitter * onp.eye(D)


def rand_mniw(rng, n=2, m=3):
    nu = n - 1 + 1.5 + 3 * rng.random()
    return mniw.standard_to_natural(nu, rand_spd(rng, n), rng.standard_normal((n, m)), rand_spd(rng, m))


def stats_of(A, Sig):
    """t(A, Σ) for one draw, in the module's layout."""
    P = onp.linalg.inv(Sig)
    return (-0.5 * A.T @ P @ A, A.T @ P, -0.5 * P, -0.5 * onp.linalg.slogdet(Sig)[1])


def log_density(eta, A, Sig):
    return sum(onp.sum(a * b) for a, b in zip(eta, stats_of(A, Sig))) - mniw.logZ(eta)


@pytest.mark.parametrize("n,m", [(1, 1), (2, 3), (3, 1), (1, 2)])
def test_grad_logZ_is_expected_stats(n, m):
    eta = rand_mniw(onp.random.default_rng(n + 10 * m), n, m)
    for a, b in zip(grad(mniw.logZ)(eta), mniw.expected_stats(eta)):
        onp.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_check_grads_logZ():
    A, B, C, d = rand_mniw(onp.random.default_rng(0), 2, 2)
    check_grads(lambda A, B, C, d: mniw.logZ((A, B, C, d)), modes=["rev"], order=1)(A, B, C, d)


def test_logZ_normalises_density_n1_m1():
    nu, S, M, K = 7.0, onp.array([[1.2]]), onp.array([[0.4]]), onp.array([[0.6]])
    eta = mniw.standard_to_natural(nu, S, M, K)
    f = lambda a, s2: onp.exp(sum(onp.sum(x * y) for x, y in zip(eta, stats_of(onp.array([[a]]), onp.array([[s2]])))))
    val, _ = integrate.dblquad(f, 1e-4, 200, -15, 15, epsabs=1e-12)
    onp.testing.assert_allclose(mniw.logZ(eta), onp.log(val), rtol=2e-4)


def test_m1_is_the_niw():
    # NIW (S, μ, κ, ν) = MNIW (ν, S, M = μ as a column, K = 1/κ), components reordered
    rng = onp.random.default_rng(1)
    S, mu, kappa, nu = rand_spd(rng, 3), rng.standard_normal(3), 0.7, 4.5
    e_mn = mniw.standard_to_natural(nu, S, mu[:, None], onp.array([[1.0 / kappa]]))
    e_niw = niw.standard_to_natural(S, mu, kappa, nu)
    onp.testing.assert_allclose(mniw.logZ(e_mn), niw.logZ(e_niw), rtol=1e-12)
    s_mn, s_niw = mniw.expected_stats(e_mn), niw.expected_stats(e_niw)
    for a, b in [(s_mn[0][0, 0], s_niw[2]), (s_mn[1][0], s_niw[1]), (s_mn[2], s_niw[0]), (s_mn[3], s_niw[3])]:
        onp.testing.assert_allclose(a, b, rtol=1e-10)


def test_round_trip():
    rng = onp.random.default_rng(2)
    std = (5.5, rand_spd(rng, 2), rng.standard_normal((2, 3)), rand_spd(rng, 3))
    for a, b in zip(mniw.natural_to_standard(mniw.standard_to_natural(*std)), std):
        onp.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    eta = rand_mniw(rng)
    for a, b in zip(mniw.standard_to_natural(*mniw.natural_to_standard(eta)), eta):
        onp.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_kl_nonneg_zero_at_equality_and_monte_carlo():
    rng = onp.random.default_rng(3)
    for _ in range(5):
        q, p = rand_mniw(rng), rand_mniw(rng)
        assert mniw.kl(q, p) > 0
        onp.testing.assert_allclose(mniw.kl(q, q), 0.0, atol=1e-10)
    A, Sig = mniw.sample(rng, q, n=4000)
    lr = onp.array([log_density(q, a, s) - log_density(p, a, s) for a, s in zip(A, Sig)])
    # the Monte Carlo mean of log q/p has standard error std/√4000; 4 standard errors
    assert abs(lr.mean() - mniw.kl(q, p)) < 4 * lr.std() / onp.sqrt(len(lr))


def test_sampling_moments_match_expected_stats():
    # each entry of E[t] within 4.5 Monte Carlo standard errors (std/√N, N = 20000) of the
    # sample mean; with ~20 entries a false failure has probability ~1e-4
    rng = onp.random.default_rng(4)
    eta = mniw.standard_to_natural(9.0, rand_spd(rng, 2), rng.standard_normal((2, 3)), rand_spd(rng, 3))
    A, Sig = mniw.sample(rng, eta, n=20000)
    draws = [stats_of(a, s) for a, s in zip(A, Sig)]
    for k, E in enumerate(mniw.expected_stats(eta)):
        x = onp.array([d[k] for d in draws])
        se = x.std(0) / onp.sqrt(len(x))
        assert onp.all(onp.abs(x.mean(0) - E) < 4.5 * se + 1e-12), k
    nu, S, M, K = mniw.natural_to_standard(eta)
    se = A.std(0) / onp.sqrt(len(A))
    assert onp.all(onp.abs(A.mean(0) - M) < 4.5 * se)
    onp.testing.assert_allclose(mniw.expected_standard_params(eta)[0], M, rtol=1e-10)


def test_bad_input_names_argument():
    with pytest.raises(TypeError, match="eta"):
        mniw.logZ((onp.eye(2), onp.zeros((2, 2))))
    with pytest.raises(ValueError, match="eta"):
        mniw.logZ((onp.eye(2), onp.zeros((3, 2)), onp.eye(2), 5.0))
    with pytest.raises(ValueError, match="nu"):
        mniw.standard_to_natural(0.5, onp.eye(2), onp.zeros((2, 2)), onp.eye(2))
