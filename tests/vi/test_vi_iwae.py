"""Claims about the IWAE estimators (refimpl.vi.iwae).

1. "total" passes check_grads (its gradient is the gradient of the bound estimate).
2. "dreg" is unbiased for the IWAE gradient of the inference parameters (reference: the
   mean of "total" over many draws), within 4 combined standard errors, for K = 5.
3. "stl" is biased for K > 1 (Tucker et al. 2018): on a correlated Gaussian target with a
   diagonal q its mean differs from the IWAE gradient by many standard errors.
4. At K = 1, "stl" and "dreg" are the same estimator sample by sample, and both agree with
   "total" in mean; for parameters inside logjoint (a model θ) "dreg" equals "total" exactly.
"""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from refimpl.vi import iwae_surrogate, iwae_terms

D = 2
P = np.linalg.inv(np.array([[1.0, 0.9], [0.9, 1.0]]))                  # correlated target


def logjoint(z, theta=np.array([0.5, -0.3])):
    u = z - theta
    return -0.5 * anp.sum(anp.dot(u, P) * u, axis=-1) + 0.3


MEAN, LOG_STD = np.array([0.2, -0.1]), np.array([-0.5, -0.6])


def per_sample_grads(estimator, K, N, rng, lj=logjoint):
    """N iid single-replicate gradients wrt (mean, log_std) in one call: (N, 2D)."""
    M, L = np.tile(MEAN, (N, 1)), np.tile(LOG_STD, (N, 1))
    eps = rng.standard_normal((K, N, D))
    f = lambda M, L: anp.sum(iwae_terms(lj, M, L, eps, estimator))
    return np.concatenate(grad(f, (0, 1))(M, L), axis=1)


def z_scores(a, b):
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    return np.abs(a.mean(axis=0) - b.mean(axis=0)) / se


def test_total_passes_check_grads():
    rng = np.random.default_rng(0)
    for shape in [(5, D), (3, 5, D)]:
        eps = rng.standard_normal(shape)
        np.random.seed(0)
        check_grads(lambda m, s: iwae_surrogate(logjoint, m, s, eps, "total"), modes=["rev"], order=2)(MEAN, LOG_STD)


def test_dreg_unbiased_and_stl_biased_for_K5():
    rng = np.random.default_rng(1)
    ref = per_sample_grads("total", 5, 150_000, rng)
    dreg = per_sample_grads("dreg", 5, 50_000, rng)
    stl = per_sample_grads("stl", 5, 50_000, rng)
    assert np.max(z_scores(dreg, ref)) < 4.0
    assert np.max(z_scores(stl, ref)) > 10.0
    # and both have lower variance than "total" here
    assert np.all(dreg.var(axis=0) < ref.var(axis=0))


def test_K1_all_estimators_agree():
    rng = np.random.default_rng(2)
    eps = rng.standard_normal((1, D))
    g = {e: np.concatenate(grad(lambda m, s, e=e: iwae_surrogate(logjoint, m, s, eps, e), (0, 1))(MEAN, LOG_STD))
         for e in ("stl", "dreg")}
    np.testing.assert_allclose(g["dreg"], g["stl"], rtol=1e-13, atol=1e-14)
    tot = per_sample_grads("total", 1, 100_000, rng)
    stl = per_sample_grads("stl", 1, 100_000, rng)
    assert np.max(z_scores(stl, tot)) < 4.0


def test_dreg_model_gradient_is_the_iwae_one():
    # for θ inside logjoint, DReG keeps Σ_k w̃_k ∇θ log p(x, z_k): identical to "total"
    rng = np.random.default_rng(3)
    eps = rng.standard_normal((2, 7, D))
    gt = {e: grad(lambda th, e=e: iwae_surrogate(lambda z: logjoint(z, th), MEAN, LOG_STD, eps, e))(np.array([0.5, -0.3]))
          for e in ("total", "dreg", "stl")}
    np.testing.assert_allclose(gt["dreg"], gt["total"], rtol=1e-12)
    np.testing.assert_allclose(gt["stl"], gt["total"], rtol=1e-12)


def test_value_is_the_bound_for_every_estimator():
    rng = np.random.default_rng(4)
    eps = rng.standard_normal((3, 5, D))
    v = [iwae_surrogate(logjoint, MEAN, LOG_STD, eps, e) for e in ("total", "stl", "dreg")]
    np.testing.assert_allclose(v, v[0], rtol=1e-14)


def test_bad_input():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="estimator"):
        iwae_surrogate(logjoint, MEAN, LOG_STD, rng.standard_normal((5, D)), "score")
    with pytest.raises(ValueError, match="eps"):
        iwae_surrogate(logjoint, MEAN, LOG_STD, rng.standard_normal((5,)))
    with pytest.raises(ValueError, match="eps"):
        iwae_surrogate(logjoint, np.zeros((3, D)), np.zeros((3, D)), rng.standard_normal((5, 4, D)))
