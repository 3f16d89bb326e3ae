"""`evidence-chains-movielens`: the splits, the fair-tuning protocol (same budget, test never
seen in tuning, the chosen setting reused for every seed) and the mean ± sd table, checked
with the trained models replaced by a recording stub (the real training is the quick run's)."""
import numpy as np
import pytest

from refimpl.evidence_chains import exp_movielens as X
from refimpl.evidence_chains.data import synthetic
from refimpl.experiments import Config

EC_KW = dict(n_proto=(5, 5), dim=4, hidden=8, lr=1e-2, predictor="biased", kappa=5.0)


def _pairs(d):
    return set(zip(d.users.tolist(), d.items.tolist()))


def test_split_indices_partition_and_temporal_direction():
    rng = np.random.default_rng(0)
    d = synthetic(rng, n_users=40, n_items=60, n_ratings=900, min_per_user=10)
    times = rng.permutation(len(d))
    for kind in X.SPLITS:
        tr, te = X.split_indices(kind, d, times, np.random.default_rng(1))
        assert np.array_equal(np.sort(np.concatenate([tr, te])), np.arange(len(d)))
        assert abs(te.size - 0.1 * len(d)) <= d.n_users
    tr, te = X.split_indices("temporal", d, times, None)
    for u in range(d.n_users):                      # every user's test ratings are its latest
        a, b = times[tr][d.users[tr] == u], times[te][d.users[te] == u]
        assert b.size >= 1 and a.max() < b.min()
    with pytest.raises(ValueError, match="kind"):
        X.split_indices("future", d, times, rng)


def test_subsample_keeps_whole_users():
    rng = np.random.default_rng(0)
    d = synthetic(rng, n_users=50, n_items=80, n_ratings=2000, min_per_user=10)
    s, t = X.subsample_users(d, np.arange(len(d)), np.random.default_rng(3), 500)
    kept = np.unique(s.users)
    assert len(s) >= 500 and len(s) == np.isin(d.users, kept).sum() and t.shape == (len(s),)


class _Stub:
    """Replaces `_train`: records every call; validation curves are made up per (method, hp)
    so the best configuration and epoch are known; predicts the training mean (+ a per-method
    offset, so the table's columns differ)."""

    def __init__(self):
        self.calls = []

    def __call__(self, method, hp, train, rng, epochs, valid, ec_kw, tree_kw):
        self.calls.append(dict(method=method, hp=dict(hp), train=_pairs(train), epochs=epochs,
                               valid=None if valid is None else _pairs(valid)))
        k = X.GRIDS[method].index(hp)
        best_epoch = min(k + 1, epochs)             # config k is best after k+1 epochs
        curve = [1.0 + 0.1 * abs(e + 1 - best_epoch) + 0.01 * (k != 1) for e in range(epochs)]
        mu, off = train.ratings.mean(), 0.01 * X.TRAINED.index(method) + 1e-3 * float(rng.random())
        return (lambda d: np.full(len(d), mu + off)), curve


@pytest.fixture()
def stubbed(monkeypatch, tmp_path):
    stub = _Stub()
    monkeypatch.setattr(X, "_train", stub)
    cfg = Config(name="evidence-chains-movielens", quick=True, out=tmp_path)
    ds, metrics, tables, info = X.run_movielens(cfg, EC_KW, dict(node_cap=16))
    return stub, cfg, ds, metrics, tables, info


def test_tuning_has_the_same_budget_and_never_sees_the_test_set(stubbed):
    stub, cfg, ds, metrics, tables, info = stubbed
    _, data, times, _ = X._load(cfg)
    tuning = [c for c in stub.calls if c["valid"] is not None]
    assert len(tuning) == 2 * sum(len(g) for g in X.GRIDS.values())
    n = sum(len(g) for g in X.GRIDS.values())
    for kind, block in zip(X.SPLITS, (tuning[:n], tuning[n:])):
        _, te0 = X.split_indices(kind, data, times, cfg.rng(10, 0))
        test0 = _pairs(data.subset(te0))
        for c in block:                              # the validation part comes from training only
            assert not (c["train"] | c["valid"]) & test0 and not c["train"] & c["valid"]
        counts = {m: sum(c["method"] == m for c in block) for m in X.TRAINED}
        assert len(set(counts.values())) == 1       # same number of configurations per method


def test_the_chosen_setting_is_reused_for_every_seed(stubbed):
    stub, cfg, ds, metrics, tables, info = stubbed
    final = [c for c in stub.calls if c["valid"] is None]
    assert len(final) == len(X.SPLITS) * len(X.SEEDS) * len(X.TRAINED)
    for c in final:                                  # the stub makes config 1 best, after 2 epochs
        assert c["hp"] == X.GRIDS[c["method"]][1]
        assert c["epochs"] == min(2, info["epochs"][c["method"]])
    for kind in X.SPLITS:
        for m in X.TRAINED:
            assert metrics[f"{ds}/{kind}/{m}/tuned_epochs"] == min(2, info["epochs"][m])
            assert metrics[f"{ds}/{kind}/{m}/tuned_valid_rmse"] == pytest.approx(1.0)


def test_table_is_mean_and_sample_sd_over_seeds(stubbed):
    stub, cfg, ds, metrics, tables, info = stubbed
    for kind in X.SPLITS:
        for m in (*X.TRAINED, "global_mean", "user_mean", "item_mean"):
            v = [metrics[f"{ds}/{kind}/{m}/seed{s}/rmse"] for s in X.SEEDS]
            assert metrics[f"{ds}/{kind}/{m}/rmse"] == pytest.approx(np.mean(v))
            assert metrics[f"{ds}/{kind}/{m}/rmse_sd"] == pytest.approx(np.std(v, ddof=1))
            assert v == pytest.approx(info["per_seed"][kind][m])
    for m in X.TRAINED:                              # the keys are the random split's
        assert metrics[f"{ds}/{m}/rmse"] == metrics[f"{ds}/random/{m}/rmse"]
    assert metrics[f"{ds}/random/global_mean/rmse_sd"] > 0             # new split per seed
    assert metrics[f"{ds}/temporal/global_mean/rmse_sd"] == 0          # one split for all seeds



def test_registered():
    from refimpl.experiments import discover
    assert discover()["evidence-chains-movielens"].quick_seconds <= 25
