"""The mixture-sum twins agree; the objectives' terms and weights are what eq. 4 says."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads
from scipy.special import logsumexp

from refimpl.tcvae.kernels import mixture_lse, mixture_lse_numba, mixture_lse_numpy
from refimpl.tcvae.objectives import anneal_kl, batch_terms, objective
from refimpl.vi.vae import init_vae


def _mix(rng, S=7, N=23, D=3):
    return (rng.standard_normal((S, D)), rng.standard_normal((N, D)), 0.5 * rng.standard_normal((N, D)))


def test_numba_and_numpy_twins_agree_and_match_brute_force():
    z, m, ls = _mix(np.random.default_rng(0))
    j1, d1 = mixture_lse_numpy(z, m, ls)
    j2, d2 = mixture_lse_numba(z, m, ls)
    np.testing.assert_allclose(j2, j1, rtol=1e-12, atol=1e-12)
    assert np.isnan(mixture_lse_numba(z, m, ls, want_joint=False)[0]).all()
    np.testing.assert_array_equal(mixture_lse_numba(z, m, ls, want_joint=False)[1], d2)
    np.testing.assert_allclose(d2, d1, rtol=1e-12, atol=1e-12)
    # brute force from scipy.stats' Gaussian log-density
    from scipy.stats import norm
    lp = norm.logpdf(z[:, None, :], m[None], np.exp(ls)[None])          # (S, N, D)
    np.testing.assert_allclose(j1, logsumexp(lp.sum(2), axis=1), rtol=1e-12)
    np.testing.assert_allclose(d1, logsumexp(lp, axis=1), rtol=1e-12)


def test_kernel_is_stable_far_from_every_component():
    # all log-densities ~ -5e5: a naive sum of exponentials underflows to log(0)
    z, m, ls = _mix(np.random.default_rng(1))
    j, d = mixture_lse_numba(z + 1000.0, m, ls)
    j0, d0 = mixture_lse_numpy(z + 1000.0, m, ls)
    assert np.all(np.isfinite(j)) and np.all(np.isfinite(d))
    np.testing.assert_allclose(j, j0, rtol=1e-12)


def test_vectorised_exp_is_accurate_over_its_range():
    from refimpl.tcvae.kernels import _INV_FACT, _POW2, _sum_exp_shifted
    t = np.linspace(-700.0, 0.0, 20001)
    got = np.array([_sum_exp_shifted(t[i:i + 1], 0.0, _POW2, _INV_FACT) for i in range(t.size)])
    rel = np.abs(got - np.exp(t)) / np.exp(t)
    assert rel.max() < 5e-14 and rel[t > -40].max() < 2e-15


def test_kernel_bad_input_names_the_argument():
    z, m, ls = _mix(np.random.default_rng(2))
    with pytest.raises(ValueError, match="z:"):
        mixture_lse(z[:, :2], m, ls)
    with pytest.raises(ValueError, match="mean, log_std"):
        mixture_lse(z, m, ls[:, :2])
    with pytest.raises(ValueError, match="backend"):
        mixture_lse(z, m, ls, backend="cuda")


def _setup(seed=0, B=6, P=12, D=3):
    rng = np.random.default_rng(seed)
    params = init_vae(rng, P, D, hidden=(8,))
    x = (rng.random((B, P)) < 0.3).astype(float)
    return params, x, rng.standard_normal((B, D))


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_unit_weights_give_the_elbo_whatever_the_estimator(estimator):
    params, x, eps = _setup()
    t = batch_terms(params, x, eps, 100, estimator)
    elbo = np.mean(t["logpx"] + t["logpz"] - t["logqz_condx"])
    assert objective(params, x, eps, 100, "tcvae", 1.0, 1.0, 1.0, estimator) == pytest.approx(elbo, rel=1e-12)
    assert objective(params, x, eps, 100, "vae") == pytest.approx(elbo, rel=1e-12)
    assert objective(params, x, eps, 100, "betavae", beta=1.0) == pytest.approx(elbo, rel=1e-12)


def test_each_weight_multiplies_its_own_term():
    params, x, eps = _setup(1)
    t = batch_terms(params, x, eps, 100, "mss")
    mi, tc = np.mean(t["logqz_condx"] - t["logqz"]), np.mean(t["logqz"] - t["logqz_prod"])
    dkl = np.mean(t["logqz_prod"] - t["logpz"])
    base = objective(params, x, eps, 100, "tcvae", estimator="mss")
    # d objective / d weight = - its term
    for kw, term in (({"beta": 3.0}, tc), ({"alpha": 3.0}, mi), ({"gamma": 3.0}, dkl)):
        assert objective(params, x, eps, 100, "tcvae", estimator="mss", **kw) == pytest.approx(base - 2 * term, rel=1e-10)
    kl = np.mean(t["logqz_condx"] - t["logpz"])
    assert objective(params, x, eps, 100, "betavae", beta=4.0) == pytest.approx(
        objective(params, x, eps, 100, "vae") - 3 * kl, rel=1e-10)


def test_minibatch_terms_match_the_mss_module():
    from refimpl.tcvae.mss import log_qz_mss, log_qz_mws
    from refimpl.vi.vae import encoder
    params, x, eps = _setup(2)
    mean, log_std = encoder(params, x, "relu")      # the shared VAE's encoder: same values
    z = mean + np.exp(log_std) * eps
    for est, f in (("mws", log_qz_mws), ("mss", log_qz_mss)):
        t = batch_terms(params, x, eps, 50, est)
        qz, prod = f(z, mean, log_std, 50)
        np.testing.assert_allclose(t["logqz"], qz, rtol=1e-12)
        np.testing.assert_allclose(t["logqz_prod"], prod, rtol=1e-12)


@pytest.mark.parametrize("kind,estimator", [("tcvae", "mws"), ("tcvae", "mss"), ("betavae", "mws")])
def test_check_grads_of_the_objectives(kind, estimator):
    params, x, eps = _setup(3)
    check_grads(lambda p: objective(p, x, eps, 40, kind, beta=4.0, estimator=estimator),
                modes=["rev"], order=1)(params)


def test_anneal_and_bad_names():
    assert [anneal_kl(6.0, i, 100) for i in (0, 50, 100, 500)] == [0.0, 3.0, 6.0, 6.0]
    assert anneal_kl(6.0, 0, 0) == 6.0
    params, x, eps = _setup()
    with pytest.raises(ValueError, match="kind"):
        objective(params, x, eps, 10, "factorvae")
    with pytest.raises(ValueError, match="estimator"):
        objective(params, x, eps, 10, "tcvae", estimator="iwae")
    with pytest.raises(ValueError, match="eps"):
        objective(params, x, eps[:, :2], 10)
