"""`objective.train`: the default optimiser is the official one (mattjj/svae
experiments/gmm_svae_synth.py: autograd's `sgd`, mass 0.9, step 1e-3, applied to the whole
tuple (q(θ), nets) with −natgrad_scale·∇̃ as the global "gradient"), written out here by hand."""
import numpy as onp
import pytest
from autograd import grad
from autograd.misc import flatten

from refimpl.svae import gmm, objective
from refimpl.svae.data import make_pinwheel


def manual_sgd(seed, X, K, n_iter, step, scale, mass, hidden):
    rng = onp.random.default_rng(seed)
    N, P = X.shape
    prior, ge = gmm.init_global(rng, K, 2)
    nets = (objective.init_net(rng, P, 4, hidden), objective.init_net(rng, 2, 2 * P, hidden))
    x, unflat = flatten((ge, nets))
    vel = onp.zeros_like(x)
    for _ in range(n_iter):
        ge, nets = unflat(x)
        idx = rng.choice(N, 20, replace=False)
        xb, eps = X[idx], rng.standard_normal((20, 2))
        _, stats = objective.surrogate(ge, prior, nets, xb, eps, N)
        g_nets = grad(lambda n: objective.surrogate(ge, prior, n, xb, eps, N)[0])(nets)
        ng = flatten(objective.natural_gradient(ge, prior, stats, N, 20))[0]
        g = onp.concatenate([-scale * ng, -flatten(g_nets)[0]])
        vel = mass * vel - (1 - mass) * g
        x = x + step * vel
    return unflat(x)


def test_default_optimizer_is_official_sgd_with_momentum_on_globals_and_nets():
    X, _ = make_pinwheel(onp.random.default_rng(0), num_per_class=12)
    kw = dict(K=3, n_iter=4, batch=20, step=1e-2, natgrad_scale=100.0, hidden=(5,))
    ge, _, nets, hist = objective.train(onp.random.default_rng(3), X, **kw)
    ge_m, nets_m = manual_sgd(3, X, 3, 4, 1e-2, 100.0, 0.9, (5,))
    onp.testing.assert_allclose(flatten(ge)[0], flatten(ge_m)[0], rtol=1e-10)
    onp.testing.assert_allclose(flatten(nets)[0], flatten(nets_m)[0], rtol=1e-10, atol=1e-14)
    assert len(hist) == 4
    # momentum matters: Adam on the nets with momentum-free global steps lands elsewhere
    ge_a, _, _, _ = objective.train(onp.random.default_rng(3), X, optimizer="adam", **kw)
    assert not onp.allclose(flatten(ge_a)[0], flatten(ge)[0], rtol=1e-3)


def test_train_rejects_unknown_optimizer():
    X, _ = make_pinwheel(onp.random.default_rng(0), num_per_class=12)
    with pytest.raises(ValueError, match="optimizer"):
        objective.train(onp.random.default_rng(0), X, K=3, n_iter=1, batch=10, optimizer="rmsprop")


@pytest.mark.parametrize("kw, name", [(dict(K=0), "K"), (dict(batch=0), "batch"), (dict(step=-1e-3), "step"),
                                      (dict(natgrad_scale=0.0), "natgrad_scale")])
def test_train_rejects_bad_settings_naming_them(kw, name):
    X, _ = make_pinwheel(onp.random.default_rng(0), num_per_class=12)
    base = dict(K=3, n_iter=1, batch=10)
    with pytest.raises(ValueError, match=name):
        objective.train(onp.random.default_rng(0), X, **{**base, **kw})


def test_train_and_pinwheel_reject_bad_data():
    rng = onp.random.default_rng(0)
    X, _ = make_pinwheel(rng, num_per_class=12)
    for bad in (X[:, 0], onp.where(onp.arange(len(X))[:, None] == 3, onp.nan, X)):
        with pytest.raises(ValueError, match="X"):
            objective.train(rng, bad, K=3, n_iter=1, batch=10)
    with pytest.raises(ValueError, match="radial_std"):
        make_pinwheel(rng, radial_std=-0.3)
    with pytest.raises(ValueError, match="N, B"):
        prior, q = gmm.init_global(rng, 3, 2)
        objective.natural_gradient(q, prior, q, 0, 1)
