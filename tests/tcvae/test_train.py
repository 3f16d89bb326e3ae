"""Training runs, improves its objective, reports full-dataset (not minibatch) TC."""
import numpy as np
import pytest

from refimpl.tcvae.train import encode_all, evaluate, train


def _tiny(seed=0):
    # 4 x 4 x 2 factorial grid of 8x8 images: a bar at (row, col) of two lengths
    imgs, f = [], []
    for r in range(4):
        for c in range(4):
            for ln in range(2):
                im = np.zeros((8, 8), np.uint8)
                im[2 * r:2 * r + 2, 2 * c:2 * c + 2 + 2 * ln] = 1
                imgs.append(im)
                f.append((r, c, ln))
    return np.array(imgs), np.array(f, np.int64)


def test_training_improves_the_elbo_and_calls_on_log():
    imgs, _ = _tiny()
    seen = []
    params, hist = train(imgs, np.random.default_rng(0), kind="tcvae", beta=2.0, latent=3, hidden=(16,),
                         iters=300, batch_size=16, lr=3e-3, log_every=100,
                         on_log=lambda i, p: seen.append(i))
    assert seen == [0, 100, 200, 299] and [h["iter"] for h in hist] == seen
    assert hist[-1]["elbo"] > hist[0]["elbo"] + 2.0          # ~3.6 nats here; a sign error loses nats


def test_evaluate_reports_both_migs_and_a_consistent_decomposition():
    imgs, f = _tiny()
    params, _ = train(imgs, np.random.default_rng(1), kind="betavae", beta=1.0, latent=3, hidden=(16,),
                      iters=200, batch_size=16, lr=3e-3, log_every=0)
    ev = evaluate(params, imgs, f, np.random.default_rng(2), n_samples=32, n_points=None, factor_subset=(0, 1))
    for k in ("mig_sampled", "mig_histogram", "mig_sampled_all", "mig_histogram_noshape"):
        assert 0.0 <= ev[k] <= 1.0 + 1e-9, k
    assert ev["mi"] + ev["tc"] + ev["dim_kl"] == pytest.approx(ev["kl"], abs=1e-9)
    mean, log_std = encode_all(params, imgs)
    assert mean.shape == (32, 3) and log_std.shape == (32, 3)


def test_bad_arguments_are_named():
    imgs, _ = _tiny()
    with pytest.raises(ValueError, match="kind"):
        train(imgs, np.random.default_rng(0), kind="factorvae")
    with pytest.raises(ValueError, match="iters, batch_size"):
        train(imgs, np.random.default_rng(0), iters=0)
    with pytest.raises(ValueError, match="images"):
        train(np.zeros((0, 8, 8)), np.random.default_rng(0))
