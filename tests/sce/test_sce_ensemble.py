"""Classifiers, operators and the stochastic combinatorial ensemble."""
import numpy as np
import pytest
from autograd.test_util import check_grads
from scipy.signal import correlate2d
from scipy.special import softmax

from refimpl.sce import ensemble, models, operators, train


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    model = models.init_mlp_classifier(rng, [784, 32, 24, 16, 10])          # L = 3
    x = rng.uniform(size=(40, 784))
    acts = models.activations(model, rng.uniform(size=(200, 784)))
    ops = [operators.train(rng, a, kind="vae", latent=4, hidden=16, iters=30) for a in acts]
    return model, ops, x


def test_p_zero_reproduces_the_base_model_bit_for_bit(setup):
    model, ops, x = setup
    base = softmax(models.logits(model, x), axis=1)
    got = ensemble.ensemble_proba(model, ops, x, 0.0, 7, np.random.default_rng(1))
    np.testing.assert_array_equal(got, base)
    zero = (np.zeros((len(x), 3), bool), [np.ones((len(x), 4))] * 3)
    np.testing.assert_array_equal(ensemble.member_logits(model, ops, x, zero), models.logits(model, x))


def test_members_are_enumerated_and_differ(setup):
    model, ops, x = setup
    M = ensemble.enumerate_members(3)
    assert M.shape == (8, 3) and len({tuple(m) for m in M}) == 8
    assert not M[0].any()
    eps = [np.zeros((len(x), 4))] * 3
    outs = [ensemble.member_logits(model, ops, x, (m, eps)) for m in M]
    for i in range(8):
        for j in range(i):
            assert not np.allclose(outs[i], outs[j])
    p = np.array([0.2, 0.7, 0.5])
    assert np.isclose(sum(ensemble.member_probability(m, p) for m in M), 1.0)


def test_members_are_sampled_with_the_configured_probabilities(setup):
    _, ops, _ = setup
    p = np.array([0.2, 0.7, 0.5])
    n = 40000
    mask, _ = ensemble.sample_draw(np.random.default_rng(2), ops, p, n)
    codes = mask @ np.array([4, 2, 1])                     # binary order of enumerate_members
    counts = np.bincount(codes, minlength=8)
    for k, m in enumerate(ensemble.enumerate_members(3)):
        q = ensemble.member_probability(m, p)
        se = np.sqrt(n * q * (1 - q))
        assert abs(counts[k] - n * q) < 4 * se, (m, counts[k], n * q)


def test_ensemble_is_the_average_over_its_draws(setup):
    model, ops, x = setup
    # p = 1: every draw inserts all operators; the prediction is the mean of those members' softmax
    got = ensemble.ensemble_proba(model, ops, x, 1.0, 3, np.random.default_rng(5))
    r = np.random.default_rng(5)
    want = np.mean([softmax(ensemble.member_logits(model, ops, x, ensemble.sample_draw(r, ops, 1.0, len(x))), axis=1)
                    for _ in range(3)], axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-12)


def test_im2col_conv_matches_direct_correlation():
    rng = np.random.default_rng(3)
    model = models.init_conv_classifier(rng, channels=3)
    Wc, bc = model["params"][0]
    x = rng.uniform(size=(2, 784))
    got = models.conv_features(Wc, bc, x).reshape(2, 12, 12, 3)
    for i in range(2):
        for c in range(3):
            h = np.maximum(correlate2d(x[i].reshape(28, 28), Wc[:, c].reshape(5, 5), mode="valid") + bc[c], 0)
            np.testing.assert_allclose(got[i, :, :, c], h.reshape(12, 2, 12, 2).mean(axis=(1, 3)), rtol=1e-12)
    assert models.logits(model, x).shape == (2, 10) and models.n_boundaries(model) == 2


@pytest.mark.parametrize("kind", ["vae", "dae"])
def test_operator_loss_gradients(kind):
    rng = np.random.default_rng(4)
    h = np.abs(rng.standard_normal((6, 5)))
    op = operators.train(rng, h, kind=kind, latent=2, hidden=4, iters=1)
    eps = rng.standard_normal((6, 2))
    check_grads(lambda p: operators.loss(p, op, h + 0.1, h, eps), modes=["rev"], order=1)((op["enc"], op["dec"]))


def test_training_lowers_the_operator_loss():
    rng = np.random.default_rng(6)
    h = np.abs(rng.standard_normal((300, 3)) @ rng.standard_normal((3, 12)))   # rank-3 activations
    eps = np.zeros((300, 4))
    for kind in ("vae", "dae"):
        op0 = operators.train(np.random.default_rng(7), h, kind=kind, latent=4, hidden=32, iters=1)
        op1 = operators.train(np.random.default_rng(7), h, kind=kind, latent=4, hidden=32, iters=600)
        l0 = operators.loss((op0["enc"], op0["dec"]), op0, h, h, eps)
        l1 = operators.loss((op1["enc"], op1["dec"]), op1, h, h, eps)
        assert l1 < 0.5 * l0


def test_alignment_penalty_gradients_and_self_cosine():
    rng = np.random.default_rng(8)
    model = models.init_mlp_classifier(rng, [6, 16, 3])
    ref = models.init_mlp_classifier(rng, [6, 16, 3])
    x, y = rng.uniform(size=(4, 6)), rng.integers(0, 3, size=4)
    g_ref = train.input_gradients(ref["params"], ref, x, y)
    check_grads(lambda p: train.alignment_loss(p, model, x, y, g_ref, 0.7), modes=["rev"], order=1)(model["params"])
    g = train.input_gradients(model["params"], model, x, y)
    np.testing.assert_allclose(train.cosine_rows(g, g), 1.0, rtol=1e-12)
    # the penalty is lam * mean cos^2 on top of the cross-entropy
    cos = np.sum(g * g_ref, 1) / np.linalg.norm(g, axis=1) / np.linalg.norm(g_ref, axis=1)
    assert np.isclose(train.alignment_loss(model["params"], model, x, y, g_ref, 0.7),
                      train.cross_entropy(model["params"], model, x, y) + 0.7 * np.mean(cos ** 2), rtol=1e-12)


def test_bad_input_raises(setup):
    model, ops, x = setup
    with pytest.raises(ValueError, match="p"):
        ensemble.sample_draw(np.random.default_rng(0), ops, 1.5, 3)
    with pytest.raises(ValueError, match="kind"):
        operators.train(np.random.default_rng(0), np.ones((4, 2)), kind="pca")
    with pytest.raises(ValueError, match="n_samples"):
        ensemble.ensemble_proba(model, ops, x, 0.5, 0, np.random.default_rng(0))


def test_fast_conv_matches_its_readable_twin_and_its_vjp_is_exact():
    rng = np.random.default_rng(9)
    model = models.init_conv_classifier(rng, channels=4)
    Wc, bc = model["params"][0]
    bc = bc + 0.1 * rng.standard_normal(bc.shape)          # non-zero bias: its VJP is tested
    x = rng.uniform(size=(3, 784))
    np.testing.assert_allclose(models.conv_features(Wc, bc, x), models.conv_features_reference(Wc, bc, x),
                               rtol=1e-12, atol=1e-14)
    check_grads(models.conv_features, modes=["rev"], order=1)(Wc, bc, x)


def test_fused_conv_vjp_equals_the_twins_gradient():
    from autograd import grad
    rng = np.random.default_rng(10)
    Wc, bc = rng.standard_normal((25, 3)), 0.1 * rng.standard_normal(3)
    x, w_out = rng.uniform(size=(2, 784)), rng.standard_normal((2, 144 * 3))
    for argnum in (0, 1, 2):
        fast = grad(lambda *a: np.sum(models.conv_features(*a) * w_out), argnum)(Wc, bc, x)
        ref = grad(lambda *a: np.sum(models.conv_features_reference(*a) * w_out), argnum)(Wc, bc, x)
        np.testing.assert_allclose(fast, ref, rtol=1e-11, atol=1e-13)
