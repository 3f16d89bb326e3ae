"""The fused VAE/IWAE gradient against autograd on `vae_surrogate` (value and every leaf)."""
import numpy as np
import pytest
from autograd import value_and_grad
from autograd.misc import flatten

from refimpl.vi.fused import vae_value_and_grad
from refimpl.vi.vae import init_vae, vae_surrogate


def _problem(seed, hidden=(7, 5)):
    rng = np.random.default_rng(seed)
    params = init_vae(rng, 9, 3, hidden=hidden)
    # non-zero biases and a spread of log σ so no term is hidden by a symmetric start
    params = {k: [(W * 1.5, 0.3 * rng.standard_normal(b.shape)) for W, b in v] for k, v in params.items()}
    x = (rng.random((4, 9)) < 0.4).astype(float)
    return rng, params, x


@pytest.mark.parametrize("objective", ["vae", "iwae"])
@pytest.mark.parametrize("estimator", ["total", "stl", "dreg"])
@pytest.mark.parametrize("K", [1, 5])
def test_fused_gradient_equals_autograd(objective, estimator, K):
    rng, params, x = _problem(K + 10 * len(estimator))
    eps = rng.standard_normal((K, 4, 3))
    v_ref, g_ref = value_and_grad(lambda p: vae_surrogate(p, x, eps, objective, estimator))(params)
    v, g = vae_value_and_grad(params, x, eps, objective, estimator)
    assert v == pytest.approx(float(v_ref), rel=1e-12)
    np.testing.assert_allclose(flatten(g)[0], flatten(g_ref)[0], rtol=1e-9, atol=1e-12)


def test_fused_gradient_one_hidden_layer_and_fractional_x():
    rng, params, x = _problem(3, hidden=(6,))
    x = rng.random(x.shape)                                       # Bernoulli log-lik is defined for x in [0, 1]
    eps = rng.standard_normal((3, 4, 3))
    v_ref, g_ref = value_and_grad(lambda p: vae_surrogate(p, x, eps, "iwae", "dreg"))(params)
    v, g = vae_value_and_grad(params, x, eps, "iwae", "dreg")
    np.testing.assert_allclose(flatten(g)[0], flatten(g_ref)[0], rtol=1e-9, atol=1e-12)


def test_fused_rejects_bad_arguments():
    rng, params, x = _problem(4)
    with pytest.raises(ValueError, match="eps"):
        vae_value_and_grad(params, x, rng.standard_normal((2, 4, 5)))
    with pytest.raises(ValueError, match="estimator"):
        vae_value_and_grad(params, x, rng.standard_normal((2, 4, 3)), "iwae", "score")
    with pytest.raises(ValueError, match="objective"):
        vae_value_and_grad(params, x, rng.standard_normal((2, 4, 3)), "elbo", "total")


@pytest.mark.parametrize("objective,estimator", [("vae", "total"), ("iwae", "dreg")])
def test_training_with_the_fused_gradient_follows_the_autograd_run(objective, estimator):
    from refimpl.vi.train import fit_vae
    rng, params, _ = _problem(5)
    X = (rng.random((40, 9)) < 0.4).astype(float)
    runs = [fit_vae(params, X, objective=objective, estimator=estimator, K=3, n_epochs=3, batch_size=10,
                    step_size=1e-2, make_rng=lambda e: np.random.default_rng(7 + e), fused=f) for f in (True, False)]
    np.testing.assert_allclose(runs[0][2], runs[1][2], rtol=1e-10)           # per-epoch bounds
    np.testing.assert_allclose(flatten(runs[0][0])[0], flatten(runs[1][0])[0], rtol=1e-8, atol=1e-10)


def test_grad_buffers_are_flatten_ordered_views_filled_in_place():
    from refimpl.vi.fused import grad_buffers
    rng, params, x = _problem(6)
    eps = rng.standard_normal((2, 4, 3))
    _, g = vae_value_and_grad(params, x, eps, "iwae", "total")
    flat, tree = grad_buffers(params)
    _, g2 = vae_value_and_grad(params, x, eps, "iwae", "total", out=tree)
    assert g2 is tree or all(a[0] is b[0] for a, b in zip(g2["dec"], tree["dec"]))
    np.testing.assert_array_equal(flat, flatten(g)[0])
