"""Metric-learning detector and transferability helpers."""
import numpy as np
import pytest
from autograd.test_util import check_grads

from refimpl.datasets import images
from refimpl.sce import detect, models, train, transfer


@pytest.fixture(scope="module")
def digits():
    rng = np.random.default_rng(0)
    X, y = images.procedural_digits(1200, rng)
    return X.reshape(len(X), -1).astype(np.float64), y


def test_triplet_loss_gradients():
    rng = np.random.default_rng(1)
    params = detect.init_mlp(rng, [7, 6, 3])
    xa, xp, xn = (rng.uniform(size=(5, 7)) for _ in range(3))
    check_grads(lambda p: detect.triplet_loss(p, xa, xp, xn, margin=2.0), modes=["rev"], order=1)(params)


def test_triplets_respect_the_classes():
    y = np.repeat(np.arange(4), [3, 5, 1, 7])
    a, p, n = detect.sample_triplets(np.random.default_rng(2), y, 2000)
    assert np.all(y[a] == y[p]) and np.all(y[a] != y[n])
    # negatives' classes are uniform among the other classes
    frac = np.mean(y[n][y[a] == 3] == 0)
    assert abs(frac - 1 / 3) < 4 * np.sqrt(2 / 9 / np.sum(y[a] == 3))


def test_auc_matches_pair_counting_and_limits():
    rng = np.random.default_rng(3)
    neg, pos = rng.standard_normal(40), rng.standard_normal(30) + 0.5
    pos[:3] = neg[:3]                                     # ties count one half
    brute = np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))
    assert np.isclose(detect.auc(neg, pos), brute, rtol=1e-12)
    assert detect.auc(neg, neg.max() + 1 + np.abs(pos)) == 1.0 and detect.auc(neg + 100, pos) == 0.0
    fpr, tpr = detect.roc(neg, pos)
    assert np.isclose(np.trapezoid(tpr, fpr), brute, atol=0.02)


def test_detector_is_at_chance_on_clean_vs_clean(digits):
    X, y = digits
    rng = np.random.default_rng(4)
    model = train.fit(rng, models.init_mlp_classifier(rng, [784, 32, 10]), X[:600], y[:600], epochs=2)
    emb = detect.fit(rng, X[:600], y[:600], dims=(32, 8), iters=200)
    C = detect.centroids(emb, X[:600], y[:600])
    s = detect.score(emb, C, model, X[600:])
    a = detect.auc(s[:300], s[300:])
    se = np.sqrt((600 + 1) / (12 * 300 * 300))
    assert abs(a - 0.5) < 4 * se
    # and the score is informative: distances to a wrong class's centroid are larger
    wrong = np.linalg.norm(detect.embed(emb, X[600:]) - C[(models.predict(model, X[600:]) + 1) % 10], axis=1)
    assert detect.auc(s, wrong) > 0.7      # observed 0.80, s.e. ~0.017


def test_self_transfer_and_self_cosine(digits):
    X, y = digits
    rng = np.random.default_rng(6)
    m1 = train.fit(rng, models.init_mlp_classifier(rng, [784, 32, 10]), X[:600], y[:600], epochs=2)
    m2 = train.fit(rng, models.init_mlp_classifier(rng, [784, 16, 10]), X[:600], y[:600], epochs=2)
    rows = transfer.pairs({"a": m1, "b": m2}, X[600:800], y[600:800], 0.2, 5, rng)
    for s, d, rate, n, cos in rows:
        if s == d:
            assert n > 0 and rate == 1.0 and np.isclose(cos, 1.0, rtol=1e-12)
        else:
            assert -1.0 <= cos < 0.999 and 0.0 <= rate <= 1.0
    assert np.isclose(transfer.gradient_cosine(m1, m2, X[:50], y[:50]),
                      transfer.gradient_cosine(m2, m1, X[:50], y[:50]), rtol=1e-12)
