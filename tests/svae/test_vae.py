"""The plain-VAE baseline (`svae.vae`): its bound is the ELBO with the KL to N(0, I) in closed
form, ½ Σ_d (σ_d² + μ_d² − 1 − log σ_d²), written here independently; gradients checked."""
import numpy as onp
import pytest
from autograd.test_util import check_grads

from refimpl.svae import objective, vae


def test_vae_bound_is_elbo_with_closed_form_kl():
    rng = onp.random.default_rng(0)
    nets = (objective.init_net(rng, 3, 4, (6,), mlp_scale=0.5), objective.init_net(rng, 2, 6, (6,)))
    x, eps = rng.standard_normal((7, 3)), rng.standard_normal((7, 2))
    out = objective.net(nets[0], x)
    mu, var = out[:, :2], onp.exp(out[:, 2:])
    z = mu + onp.sqrt(var) * eps
    kl = 0.5 * onp.sum(var + mu ** 2 - 1 - onp.log(var))
    want = (objective.decode_loglik(nets[1], z, x) - kl) / 7
    onp.testing.assert_allclose(vae.vae_bound(nets, x, eps), want, rtol=1e-10)
    check_grads(lambda n: vae.vae_bound(n, x, eps), modes=["rev"], order=1)(nets)


def test_train_vae_improves_the_bound_and_checks_arguments():
    rng = onp.random.default_rng(1)
    X = rng.standard_normal((60, 2)) * [3.0, 0.5]
    _, hist = vae.train_vae(rng, X, n_iter=150, batch=20, step=1e-2, hidden=(8,))
    assert onp.mean(hist[-20:]) > onp.mean(hist[:20]) + 0.5
    with pytest.raises(ValueError, match="optimizer"):
        vae.train_vae(rng, X, n_iter=1, optimizer="lbfgs")
    with pytest.raises(ValueError, match="batch"):
        vae.train_vae(rng, X, n_iter=1, batch=61)
