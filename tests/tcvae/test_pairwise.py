"""The fused O(B²D) primitive equals its readable autograd twin in values and gradients."""
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from refimpl.tcvae.mss import log_importance_weight_matrix
from refimpl.tcvae.objectives import objective
from refimpl.tcvae.pairwise import pairwise_lse, pairwise_lse_reference
from refimpl.vi.vae import init_vae


def _args(seed=0, B=7, D=3):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((B, D)), rng.standard_normal((B, D)), 0.3 * rng.standard_normal((B, D)),
            log_importance_weight_matrix(B, 40))


def test_values_equal_the_twin():
    a = _args()
    for x, y in zip(pairwise_lse(*a), pairwise_lse_reference(*a)):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("which", [0, 1])
def test_vjp_equals_the_twin_for_every_input(which):
    a = _args(1)
    rng = np.random.default_rng(5)
    c = rng.standard_normal(a[0].shape[0])
    f = lambda *x: np.dot(pairwise_lse(*x)[which], c)                                   # noqa: E731
    r = lambda *x: np.dot(pairwise_lse_reference(*x)[which], c)                         # noqa: E731
    for k in range(4):
        np.testing.assert_allclose(grad(f, k)(*a), grad(r, k)(*a), rtol=1e-10, atol=1e-12, err_msg=str(k))


def test_check_grads_of_both_outputs_together():
    a = _args(2)
    f = lambda z, m, s, w: np.sum(pairwise_lse(z, m, s, w)[0] * 1.3 - pairwise_lse(z, m, s, w)[1])  # noqa: E731
    check_grads(f, modes=["rev"], order=1)(*a)


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_objective_fused_equals_readable_path(estimator):
    rng = np.random.default_rng(3)
    params = init_vae(rng, 12, 3, hidden=(8,))
    x = (rng.random((6, 12)) < 0.3).astype(float)
    eps = rng.standard_normal((6, 3))
    f = lambda p, fused: objective(p, x, eps, 50, "tcvae", beta=5.0, estimator=estimator, fused=fused)  # noqa: E731
    assert f(params, True) == pytest.approx(f(params, False), rel=1e-12)
    from autograd.misc import flatten
    g1, g2 = flatten(grad(f)(params, True))[0], flatten(grad(f)(params, False))[0]
    np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-12)
