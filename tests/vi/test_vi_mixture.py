"""Claims about the Gaussian-mixture ELBO estimators (refimpl.vi.mixture, Roeder et al. Sec. 4).

1. The "total" surrogate's gradient is the gradient of its value (check_grads).
2. "stl" and "score" are unbiased: their mean gradient matches a large-sample reference
   (the mean of "total") within 4 combined standard errors; freezing the prefactors π_c as
   well (a tempting mistake) is detectably biased.
3. At q = p (the target is the same mixture up to a constant) STL is zero for every ε.
"""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.misc import flatten
from autograd.test_util import check_grads

from refimpl.vi import mixture_elbo_surrogate, mixture_logpdf, stop_gradient
from refimpl.vi.mixture import mixture_sample, mixture_weights

C, D = 2, 2


def _q(rng):
    return (0.5 * rng.standard_normal(C), rng.standard_normal((C, D)) * 1.5, -0.4 + 0.2 * rng.standard_normal((C, D)))


def _target():
    """Banana-free but non-Gaussian target: a correlated two-component mixture, unnormalised."""
    P = np.array([[2.0, 0.9], [0.9, 1.0]])

    def logjoint(z):
        a = -0.5 * anp.sum(anp.dot(z - 1.0, P) * (z - 1.0), axis=-1)
        b = -0.5 * anp.sum((z + 1.0) ** 2, axis=-1)
        return anp.logaddexp(a, b) + 0.7
    return logjoint


def _batch_grads(logjoint, params, estimator, rng, n_batches, S):
    """n_batches iid gradient estimates, each averaging S draws per component: (n, P)."""
    f = grad(lambda p, e: mixture_elbo_surrogate(logjoint, *p, e, estimator))
    return np.stack([flatten(f(params, rng.standard_normal((S, C, D))))[0] for _ in range(n_batches)])


def _assert_same_mean(a, b, n_se=4.0):
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    z = np.abs(a.mean(axis=0) - b.mean(axis=0)) / se
    assert np.max(z) < n_se, f"means differ by {np.max(z):.2f} standard errors"
    return z


def test_total_passes_check_grads():
    rng = np.random.default_rng(0)
    logjoint = _target()
    eps = rng.standard_normal((3, C, D))
    np.random.seed(0)
    check_grads(lambda l, m, s: mixture_elbo_surrogate(logjoint, l, m, s, eps, "total"),
                modes=["rev"], order=2)(*_q(rng))


@pytest.mark.parametrize("estimator", ["stl", "score"])
def test_mixture_estimators_unbiased(estimator):
    rng = np.random.default_rng(1)
    logjoint, params = _target(), _q(rng)
    ref = _batch_grads(logjoint, params, "total", rng, 120, 500)        # reference: 60 000 draws
    g = _batch_grads(logjoint, params, estimator, rng, 120, 100 if estimator == "stl" else 500)
    _assert_same_mean(g, ref)


def test_freezing_the_prefactors_too_is_biased():
    # the π_c in front must keep their gradient; with them frozen the logits' gradient is lost
    rng = np.random.default_rng(2)
    logjoint, params = _target(), _q(rng)

    def frozen(p, e):
        logits, means, log_stds = p
        z = mixture_sample(means, log_stds, e)
        f = logjoint(z) - mixture_logpdf(z, *stop_gradient(p))
        return anp.mean(anp.sum(stop_gradient(mixture_weights(logits)) * f, axis=-1))

    ref = _batch_grads(logjoint, params, "total", rng, 120, 500)
    g = np.stack([flatten(grad(frozen)(params, rng.standard_normal((100, C, D))))[0] for _ in range(120)])
    with pytest.raises(AssertionError):
        _assert_same_mean(g, ref)


def test_stl_zero_at_exact_mixture_posterior():
    rng = np.random.default_rng(3)
    params = _q(rng)
    logjoint = lambda z: mixture_logpdf(z, *params) - 3.0
    g_stl = _batch_grads(logjoint, params, "stl", rng, 100, 1)
    g_tot = _batch_grads(logjoint, params, "total", rng, 100, 1)
    assert np.max(np.abs(g_stl)) < 1e-12
    assert np.max(g_tot.var(axis=0)) > 0.01


def test_bad_input():
    rng = np.random.default_rng(4)
    logits, means, log_stds = _q(rng)
    with pytest.raises(ValueError, match="estimator"):
        mixture_elbo_surrogate(_target(), logits, means, log_stds, rng.standard_normal((C, D)), "analytic")
    with pytest.raises(ValueError, match="eps"):
        mixture_elbo_surrogate(_target(), logits, means, log_stds, rng.standard_normal((C + 1, D)))
    with pytest.raises(ValueError, match="logits"):
        mixture_elbo_surrogate(_target(), logits[:1], means, log_stds, rng.standard_normal((C, D)))
