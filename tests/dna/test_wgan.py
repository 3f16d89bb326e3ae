"""The conv1d twins, the gradient penalty against its definition, the generator's outputs."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from refimpl.dna import layers, wgan


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("K", [1, 5, 4])
def test_conv1d_fast_twin_equals_reference_and_its_vjps_are_right(padding, K):
    rng = np.random.default_rng(K)
    x, W, b = rng.standard_normal((3, 9, 2)), rng.standard_normal((K, 2, 3)), rng.standard_normal(3)
    assert np.allclose(layers.conv1d(x, W, b, padding), layers.conv1d_reference(x, W, b, padding),
                       rtol=1e-12, atol=1e-12)
    check_grads(lambda x, W: layers.conv1d(x, W, b, padding), modes=["rev"], order=2)(x, W)
    # the fast twin's gradients equal the reference's (autograd through slicing)
    f = lambda W, conv: anp.sum(anp.sin(conv(x, W, b, padding)))          # noqa: E731
    assert np.allclose(grad(f)(W, layers.conv1d), grad(f)(W, layers.conv1d_reference), atol=1e-12)


def _small(rng, L=6, dim=3):
    return wgan.init_critic(rng, L, dim), rng.dirichlet(np.ones(4), size=(2, L))


def test_gradient_penalty_equals_its_definition_by_finite_differences():
    rng = np.random.default_rng(0)
    cp, x = _small(rng)
    h, g = 1e-5, np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        g[idx] = (wgan.critic(cp, x + e) - wgan.critic(cp, x - e))[idx[0]] / (2 * h)
    norms = np.sqrt((g ** 2).sum(axis=(1, 2)))
    assert wgan.gradient_penalty(cp, x) == pytest.approx(10.0 * np.mean((norms - 1) ** 2), rel=1e-7)


def test_gradient_penalty_gradient_in_critic_params():
    # a second derivative of the critic: check_grads on the penalty as a function of the params
    rng = np.random.default_rng(1)
    cp, x = _small(rng)
    check_grads(lambda p: wgan.gradient_penalty(p, x), modes=["rev"], order=1)(cp)


def test_critic_loss_gradient_in_both_networks():
    rng = np.random.default_rng(2)
    cp, x = _small(rng)
    gp = wgan.init_generator(rng, 6, 3)
    z, eps = rng.standard_normal((2, wgan.LATENT)), rng.uniform(size=2)
    check_grads(lambda c: wgan.critic_loss(c, gp, x, z, eps), modes=["rev"], order=1)(cp)
    check_grads(lambda g: wgan.generator_loss(g, cp, z), modes=["rev"], order=1)(gp)


def test_generator_outputs_distributions_and_residual_scale_matters():
    rng = np.random.default_rng(3)
    gp = wgan.init_generator(rng, 10, 4)
    P = wgan.generate(gp, rng.standard_normal((5, wgan.LATENT)))
    assert P.shape == (5, 10, 4) and (P > 0).all() and np.allclose(P.sum(axis=2), 1.0)


def test_training_moves_the_critic_apart():
    # a few steps on a fixed real set: the critic learns to score real above fake
    rng = np.random.default_rng(4)
    X = np.eye(4)[np.zeros((64, 8), dtype=int)]                 # all-A sequences
    gp, cp, _ = wgan.train_wgan(rng, X, 3, dim=4, batch=16)
    fake = wgan.generate(gp, rng.standard_normal((64, wgan.LATENT)))
    assert wgan.critic(cp, X).mean() > wgan.critic(cp, fake).mean()
