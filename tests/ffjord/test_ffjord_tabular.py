"""ffjord-tabular (issue 8): the known mixture density, its sampler, the Gaussian baseline."""
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from refimpl.ffjord.exp_tabular import (gaussian_fit_nll, make_mixture, mixture_log_prob,
                                        mixture_sample, standardisation_log_jacobian)
from refimpl.testing import assert_unbiased


def test_mixture_log_prob_matches_scipy():
    rng = np.random.default_rng(0)
    mix = make_mixture(rng, 5, 3)
    x = rng.standard_normal((20, 5))
    ref = np.log(sum(w * multivariate_normal(mu, L @ L.T).pdf(x)
                     for w, mu, L in zip(mix["w"], mix["mu"], mix["L"])))
    assert np.max(np.abs(mixture_log_prob(mix, x) - ref)) < 1e-10


def test_mixture_sampler_has_the_mixture_mean_and_true_nll_is_best():
    rng = np.random.default_rng(1)
    mix = make_mixture(rng, 4, 3)
    x = mixture_sample(mix, 40000, rng)
    assert_unbiased(x, mix["w"] @ mix["mu"], n_se=4, name="mixture mean")
    # the true density has the lowest expected NLL (Gibbs' inequality), the Gaussian fit a higher one
    x_test = mixture_sample(mix, 5000, rng)
    nll_true = -np.mean(mixture_log_prob(mix, x_test))
    assert nll_true < gaussian_fit_nll(x, x_test)


def test_gaussian_fit_on_gaussian_data_is_the_entropy():
    rng = np.random.default_rng(2)
    S = np.array([[2.0, 0.3], [0.3, 0.5]])
    x = rng.multivariate_normal([1.0, -1.0], S, size=200000)
    H = 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * S))
    nll = gaussian_fit_nll(x[:100000], x[100000:])
    se = np.std(-multivariate_normal([1.0, -1.0], S).logpdf(x[100000:])) / np.sqrt(100000)
    assert abs(nll - H) < 5 * se


def test_standardised_density_plus_log_jacobian_is_the_original_density():
    # x̃ = (x - m) / s is again a mixture (μ̃ = (μ - m) / s, L̃ = diag(1/s) L); a model of x̃ is
    # scored on the original scale by adding the log-Jacobian (how ffjord-tabular reports NLLs)
    rng = np.random.default_rng(3)
    mix = make_mixture(rng, 4, 3)
    x = mixture_sample(mix, 500, rng)
    m, s = x.mean(0), 2.5 * x.std(0)                           # any positive scales
    mix_std = {"w": mix["w"], "mu": (mix["mu"] - m) / s, "L": mix["L"] / s[None, :, None]}
    lp = mixture_log_prob(mix_std, (x - m) / s) + standardisation_log_jacobian(s)
    assert np.max(np.abs(lp - mixture_log_prob(mix, x))) < 1e-10
    assert abs(np.sum(np.log(s))) > 0.1                      # the shift is not a no-op here
    with pytest.raises(ValueError, match="s"):
        standardisation_log_jacobian(np.array([1.0, 0.0]))


def test_bad_input_and_registration():
    import refimpl.ffjord.experiments  # noqa: F401
    from refimpl.experiments import REGISTRY
    assert "ffjord-tabular" in REGISTRY
    with pytest.raises(ValueError, match="D"):
        make_mixture(np.random.default_rng(0), 0, 2)


@pytest.mark.slow
def test_tabular_quick_run(tmp_path):
    from refimpl.experiments import run_experiment
    m = run_experiment("ffjord-tabular", quick=True, out=tmp_path, progress=False)["metrics"]
    for k in ("true", "gaussian", "ffjord_exact", "ffjord_hutchinson"):
        assert np.isfinite(m[f"{k}/test_nll"])
    assert m["true/test_nll"] < min(m["gaussian/test_nll"], m["ffjord_exact/test_nll"])
