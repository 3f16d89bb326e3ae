"""Exponential families: expected_stats = grad logZ (autograd), logZ vs brute force,
standard <-> natural round trips, KL >= 0 / = 0 at equality / = Monte Carlo, sampling moments."""
import numpy as onp
import pytest
from autograd import grad
from autograd.test_util import check_grads
from scipy import integrate, stats

from refimpl.expfam import categorical, dirichlet, gaussian, niw


def rand_spd(rng, D, jitter=0.5):
    A = rng.standard_normal((D, D))
    return A @ A.T + jitter * onp.eye(D)


def rand_gauss(rng, D=3):
    return rand_spd(rng, D), rng.standard_normal(D)


def rand_niw(rng, D=2, K=None):
    shape = () if K is None else (K,)
    S = rand_spd(rng, D) if K is None else onp.stack([rand_spd(rng, D) for _ in range(K)])
    m = rng.standard_normal(shape + (D,))
    return niw.standard_to_natural(S, m, 0.5 + rng.random(shape), D + 2.0 + 3 * rng.random(shape))


def assert_tuple_close(a, b, **kw):
    for x, y in zip(a, b):
        onp.testing.assert_allclose(x, y, **kw)


# --- expected_stats == grad logZ -----------------------------------------------------

def test_gaussian_grad_logZ_is_expected_stats():
    rng = onp.random.default_rng(0)
    eta = rand_gauss(rng)
    assert_tuple_close(grad(gaussian.logZ)(eta), gaussian.expected_stats(eta), rtol=1e-10)


def test_categorical_dirichlet_grad_logZ():
    rng = onp.random.default_rng(1)
    eta = rng.standard_normal((4, 5))
    onp.testing.assert_allclose(grad(categorical.logZ)(eta), categorical.expected_stats(eta), rtol=1e-10)
    eta = rng.random(5) * 3 - 0.5
    onp.testing.assert_allclose(grad(dirichlet.logZ)(eta), dirichlet.expected_stats(eta), rtol=1e-10)


@pytest.mark.parametrize("D,K", [(1, None), (3, None), (2, 4)])
def test_niw_grad_logZ_is_expected_stats(D, K):
    eta = rand_niw(onp.random.default_rng(2), D, K)
    assert_tuple_close(grad(niw.logZ)(eta), niw.expected_stats(eta), rtol=1e-8, atol=1e-10)


def test_check_grads_logZ():
    rng = onp.random.default_rng(3)
    J, h = rand_gauss(rng)
    check_grads(lambda J, h: gaussian.logZ((J, h)), modes=["rev"], order=2)(J, h)
    A, b, c, d = rand_niw(rng, 2)
    check_grads(lambda A, b, c, d: niw.logZ((A, b, c, d)), modes=["rev"], order=1)(A, b, c, d)


# --- logZ vs brute force / independent formulas --------------------------------------

def test_gaussian_logZ_normalises_density():
    J, h = onp.array([[2.0]]), onp.array([0.7])
    val, _ = integrate.quad(lambda x: onp.exp(-0.5 * J[0, 0] * x * x + h[0] * x), -30, 30)
    onp.testing.assert_allclose(gaussian.logZ((J, h)), onp.log(val), rtol=1e-10)


def test_niw_logZ_normalises_density_D1():
    # D = 1: integrate exp(<eta, t(mu, sigma2)>) over mu and sigma2 numerically
    S, m, kappa, nu = onp.array([[1.3]]), onp.array([0.4]), 0.8, 3.5
    A, b, c, d = niw.standard_to_natural(S, m, kappa, nu)

    def f(mu, s2):
        return onp.exp(-0.5 * A[0, 0] / s2 + b[0] * mu / s2 - 0.5 * c * mu * mu / s2 - 0.5 * d * onp.log(s2))
    val, _ = integrate.dblquad(f, 1e-4, 60, -15, 15, epsabs=1e-11)
    onp.testing.assert_allclose(niw.logZ((A, b, c, d)), onp.log(val), rtol=2e-4)


def test_dirichlet_logZ_matches_scipy():
    alpha = onp.array([0.3, 2.0, 1.5])
    x = onp.array([0.2, 0.5, 0.3])
    ours = onp.sum((alpha - 1) * onp.log(x)) - dirichlet.logZ(alpha - 1)
    onp.testing.assert_allclose(ours, stats.dirichlet(alpha).logpdf(x), rtol=1e-10)


# --- round trips ----------------------------------------------------------------------

def test_round_trips():
    rng = onp.random.default_rng(4)
    mean, cov = rng.standard_normal(3), rand_spd(rng, 3)
    assert_tuple_close(gaussian.natural_to_standard(gaussian.standard_to_natural(mean, cov)), (mean, cov),
                       rtol=1e-10)
    S, m, k, nu = rand_spd(rng, 2), rng.standard_normal(2), 0.7, 5.0
    assert_tuple_close(niw.natural_to_standard(niw.standard_to_natural(S, m, k, nu)), (S, m, k, nu), rtol=1e-10)
    p = onp.array([0.1, 0.6, 0.3])
    onp.testing.assert_allclose(categorical.natural_to_standard(categorical.standard_to_natural(p)), p)
    onp.testing.assert_allclose(dirichlet.natural_to_standard(dirichlet.standard_to_natural(p)), p)


# --- KL ----------------------------------------------------------------------------------

def test_kl_nonneg_and_zero_at_equality():
    rng = onp.random.default_rng(5)
    for fam, make in [(gaussian, lambda: rand_gauss(rng)), (niw, lambda: rand_niw(rng, 2)),
                      (categorical, lambda: rng.standard_normal(4)),
                      (dirichlet, lambda: rng.random(4) * 2 - 0.5)]:
        q, p = make(), make()
        assert fam.kl(q, p) > 0
        onp.testing.assert_allclose(fam.kl(q, q), 0.0, atol=1e-10)


def test_gaussian_kl_closed_form():
    rng = onp.random.default_rng(6)
    (m1, S1), (m2, S2) = [(rng.standard_normal(3), rand_spd(rng, 3)) for _ in range(2)]
    P2 = onp.linalg.inv(S2)
    ref = 0.5 * (onp.trace(P2 @ S1) + (m2 - m1) @ P2 @ (m2 - m1) - 3
                 + onp.linalg.slogdet(S2)[1] - onp.linalg.slogdet(S1)[1])
    kl = gaussian.kl(gaussian.standard_to_natural(m1, S1), gaussian.standard_to_natural(m2, S2))
    onp.testing.assert_allclose(kl, ref, rtol=1e-10)


def test_niw_and_dirichlet_kl_monte_carlo():
    rng = onp.random.default_rng(7)
    q, p = rand_niw(rng, 2), rand_niw(rng, 2)

    def logpdf(eta, mu, Sig):
        P = onp.linalg.inv(Sig)
        t = (-0.5 * P, P @ mu, -0.5 * mu @ P @ mu, -0.5 * onp.linalg.slogdet(Sig)[1])
        return sum(onp.sum(a * b) for a, b in zip(eta, t)) - niw.logZ(eta)
    draws = [niw.sample(rng, q) for _ in range(4000)]
    lr = onp.array([logpdf(q, mu, S) - logpdf(p, mu, S) for mu, S in draws])
    assert abs(lr.mean() - niw.kl(q, p)) < 4 * lr.std() / onp.sqrt(len(lr))

    aq, ap = onp.array([0.5, 2.0, 3.0]), onp.array([1.0, 1.0, 4.0])
    x = rng.dirichlet(aq, 20000)
    lr = stats.dirichlet(aq).logpdf(x.T) - stats.dirichlet(ap).logpdf(x.T)
    assert abs(lr.mean() - dirichlet.kl(aq - 1, ap - 1)) < 4 * lr.std() / onp.sqrt(len(lr))


# --- sampling moments ----------------------------------------------------------------

def test_gaussian_sample_moments():
    rng = onp.random.default_rng(8)
    mean, cov = onp.array([1.0, -2.0]), onp.array([[2.0, 0.6], [0.6, 0.5]])
    x = gaussian.sample(rng, gaussian.standard_to_natural(mean, cov), n=40000)
    onp.testing.assert_allclose(x.mean(0), mean, atol=0.03)
    onp.testing.assert_allclose(onp.cov(x.T), cov, atol=0.05)


def test_niw_sample_moments_match_expected_stats():
    rng = onp.random.default_rng(9)
    eta = rand_niw(rng, 2)
    draws = [niw.sample(rng, eta) for _ in range(6000)]
    P = onp.array([onp.linalg.inv(S) for _, S in draws])
    Pmu = onp.array([onp.linalg.solve(S, mu) for mu, S in draws])
    E = niw.expected_stats(eta)
    onp.testing.assert_allclose(-0.5 * P.mean(0), E[0], rtol=0.06, atol=0.02)
    onp.testing.assert_allclose(Pmu.mean(0), E[1], rtol=0.08, atol=0.05)


def test_categorical_and_dirichlet_sample_moments_match_expected_stats():
    # E[one-hot(k)] = softmax(eta) and E[log π] = ψ(α) − ψ(Σα): the statistics each sampler must reproduce
    rng = onp.random.default_rng(10)
    eta = onp.array([0.3, -1.0, 1.2, 0.0])
    k = categorical.sample(rng, eta, n=40000)
    freq = onp.bincount(k, minlength=4) / len(k)
    onp.testing.assert_allclose(freq, categorical.expected_stats(eta), atol=0.01)
    eta = onp.array([-0.6, 0.5, 2.0])
    logpi = onp.log(dirichlet.sample(rng, eta, n=40000))
    se = logpi.std(0) / onp.sqrt(len(logpi))
    assert onp.all(onp.abs(logpi.mean(0) - dirichlet.expected_stats(eta)) < 4 * se)


def test_bad_input_names_argument():
    with pytest.raises(TypeError, match="eta"):
        gaussian.logZ(onp.eye(2))
    with pytest.raises(ValueError, match="eta"):
        gaussian.logZ((onp.eye(2), onp.zeros(3)))
    with pytest.raises(TypeError, match="eta"):
        niw.logZ((onp.eye(2), onp.zeros(2)))


def test_gaussian_logZ_refuses_a_J_that_is_not_positive_definite():
    # an invertible indefinite J, with det > 0 so slogdet's sign alone would not tell:
    # the formula returns a finite number there, but the integral diverges
    J = onp.stack([onp.eye(3), onp.diag([-1.0, -2.0, 3.0])])             # (2, 3, 3)
    h = onp.ones((2, 3))
    with pytest.raises(ValueError, match="eta: J must be symmetric positive definite"):
        gaussian.logZ((J, h))
    with pytest.raises(ValueError, match="positive definite"):
        gaussian.kl((J, h), (onp.stack([onp.eye(3)] * 2), h))
    assert onp.isfinite(gaussian.logZ((J[:1], h[:1])))                   # the SPD one is fine
    with pytest.raises(ValueError, match="non-symmetric"):             # Cholesky reads one triangle
        gaussian.logZ((onp.array([[2.0, 5.0], [0.0, 2.0]]), onp.ones(2)))
    with pytest.raises(ValueError, match="finite"):
        gaussian.logZ((onp.array([[onp.nan, 0.0], [0.0, 1.0]]), onp.ones(2)))
    with pytest.raises(ValueError, match="positive definite"):
        gaussian.sample(onp.random.default_rng(0), (J, h))
