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
    for blk in gp["res"]:                                       # non-zero biases: a bias bug shows
        for c in blk:
            c["b"] = rng.standard_normal(c["b"].shape)
    z = rng.standard_normal((5, wgan.LATENT))
    P = wgan.generate(gp, z)
    assert P.shape == (5, 10, 4) and (P > 0).all() and np.allclose(P.sum(axis=2), 1.0)
    # the official architecture written out: linear -> 5 x (h + 0.3 conv5(relu(conv5(relu(h)))))
    # -> 1x1 conv -> softmax over nucleotides
    relu = lambda a: np.maximum(a, 0.0)                         # noqa: E731
    h = (z @ gp["fc"]["W"] + gp["fc"]["b"]).reshape(5, 10, 4)
    assert len(gp["res"]) == 5
    for c1, c2 in gp["res"]:
        assert c1["W"].shape[0] == c2["W"].shape[0] == 5
        r = layers.conv1d_reference(relu(h), c1["W"], c1["b"])
        h = h + 0.3 * layers.conv1d_reference(relu(r), c2["W"], c2["b"])
    o = layers.conv1d_reference(h, gp["out"]["W"], gp["out"]["b"])
    e = np.exp(o - o.max(axis=2, keepdims=True))
    assert np.allclose(P, e / e.sum(axis=2, keepdims=True), atol=1e-12)


def test_training_moves_the_critic_apart():
    # a few steps on a fixed real set: the critic learns to score real above fake
    rng = np.random.default_rng(4)
    X = np.eye(4)[np.zeros((64, 8), dtype=int)]                 # all-A sequences
    gp, cp, _ = wgan.train_wgan(rng, X, 3, dim=4, batch=16)
    fake = wgan.generate(gp, rng.standard_normal((64, wgan.LATENT)))
    assert wgan.critic(cp, X).mean() > wgan.critic(cp, fake).mean()


def test_adam_defaults_are_the_official_ones():
    # the official WGAN-GP optimiser: Adam lr 1e-4, beta1 0.5, beta2 0.9 (bias-corrected)
    x0, g1, g2 = np.array([1.0, -2.0]), np.array([0.3, -1.0]), np.array([-0.5, 0.2])
    opt = wgan.Adam({"x": x0})
    opt.step({"x": g1})
    out = opt.step({"x": g2})["x"]
    b1, b2, lr = 0.5, 0.9, 1e-4
    m = (1 - b1) * (b1 * g1 + g2) / (1 - b1 ** 2)
    v = (1 - b2) * (b2 * g1 ** 2 + g2 ** 2) / (1 - b2 ** 2)
    x1 = x0 - lr * g1 / (np.abs(g1) + 1e-8)
    assert np.allclose(out, x1 - lr * m / (np.sqrt(v) + 1e-8), rtol=0, atol=1e-15)
