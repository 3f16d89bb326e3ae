"""The experiments' tiled EOT fast path equals the generic EOT attacks on the same draws."""
import numpy as np
import pytest

from refimpl import attacks
from refimpl.sce import ensemble, models, operators, pipeline


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    model = models.init_mlp_classifier(rng, [784, 24, 16, 10])
    acts = models.activations(model, rng.uniform(size=(100, 784)))
    ops = [operators.train(rng, a, latent=3, hidden=8, iters=20) for a in acts]
    x, y = rng.uniform(size=(7, 784)), rng.integers(0, 10, size=7)
    return model, ops, x, y


def _split(draw, K, B):
    mask, eps = draw
    return [(mask[k * B:(k + 1) * B], [e[k * B:(k + 1) * B] for e in eps]) for k in range(K)]


def test_tiled_eot_equals_the_mean_of_member_gradients(setup):
    model, ops, x, y = setup
    K, B = 5, len(x)
    draw = ensemble.sample_draw(np.random.default_rng(1), ops, 0.5, K * B)
    got = pipeline._tiled_grad(x, y, model, ops, draw, K, "mean_ce")
    want = attacks.eot_grad(pipeline.member_grad(model, ops), x, y, _split(draw, K, B))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


def test_tiled_eot_equals_the_ensemble_cross_entropy_gradient(setup):
    model, ops, x, y = setup
    K, B = 4, len(x)
    draw = ensemble.sample_draw(np.random.default_rng(2), ops, 0.5, K * B)
    got = pipeline._tiled_grad(x, y, model, ops, draw, K, "ensemble_ce")
    draws = iter(_split(draw, K, B))
    g = attacks.eot_ensemble(lambda xx, d: ensemble.member_logits(model, ops, xx, d), lambda r, b: next(draws), K, None)
    np.testing.assert_allclose(got, g(x, y), rtol=1e-10, atol=1e-14)


def test_one_draw_ensemble_loss_is_the_member_cross_entropy(setup):
    model, ops, x, y = setup
    draw = ensemble.sample_draw(np.random.default_rng(3), ops, 0.5, len(x))
    g = attacks.eot_ensemble(lambda xx, d: ensemble.member_logits(model, ops, xx, d), lambda r, b: draw, 1, None)
    np.testing.assert_allclose(g(x, y), pipeline.member_grad(model, ops)(x, y, draw), rtol=1e-10, atol=1e-14)


def test_eot_attacks_keep_the_budget(setup):
    model, ops, x, y = setup
    for obj in ("mean_ce", "ensemble_ce"):
        g = pipeline.tiled_eot(model, ops, 0.5, 3, np.random.default_rng(4), obj)
        xa = attacks.pgd(g, x, y, 0.1, "linf", 3, rng=np.random.default_rng(5))
        assert np.abs(xa - x).max() <= 0.1 + 1e-12 and 0.0 <= xa.min() and xa.max() <= 1.0
    with pytest.raises(ValueError, match="objective"):
        pipeline.tiled_eot(model, ops, 0.5, 3, np.random.default_rng(4), "margin")
