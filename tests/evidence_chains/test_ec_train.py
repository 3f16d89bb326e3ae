"""Claims about training: the model clearly beats the global mean on synthetic data,
Adam is Adam, training resumes from a checkpoint, the example and experiments run."""

import numpy as np
import pytest

from refimpl.evidence_chains.data import split, synthetic
from refimpl.evidence_chains.train import adam_update, evaluate, fit, pretrain_prototypes


@pytest.fixture(scope="module")
def trained():
    data = synthetic(np.random.default_rng(0), n_users=150, n_items=250, n_ratings=9000)
    train, test = split(data, np.random.default_rng(1))
    params, graph, hist = fit(train, np.random.default_rng(2), epochs=3, batch_size=100, n_proto=(15, 15),
                              dim=8, hidden=16, tree_kw=dict(node_cap=32))
    return train, test, params, graph, hist


def test_beats_the_global_mean_by_many_standard_errors(trained):
    train, test, params, graph, hist = trained
    r_ec, info = evaluate(params, graph, test, np.random.default_rng(3), node_cap=32)
    e_gm = (test.ratings - train.ratings.mean()) ** 2
    e_ec = (test.ratings - info["pred"]) ** 2
    d = e_gm - e_ec                                               # paired per-rating gain
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert d.mean() > 4 * se, (d.mean(), se)
    assert r_ec < np.sqrt(e_gm.mean())
    assert len(hist) == 3 and hist[-1]["step"] == 3 * (len(train) // 100)


def test_adam_update_matches_algorithm_1():
    x, g = np.array([1.0, -2.0]), np.array([0.5, -0.1])
    x1, m, v = adam_update(x, g, np.zeros(2), np.zeros(2), 1, lr=0.1)
    # first step: m_hat = g, v_hat = g², so the step is lr * sign(g) (up to eps)
    np.testing.assert_allclose(x1, x - 0.1 * np.sign(g), rtol=1e-7)
    np.testing.assert_allclose(m, 0.1 * g) and np.testing.assert_allclose(v, 0.001 * g * g)


def test_pretraining_fits_the_prototype_block(trained):
    train, test, params, graph, hist = trained
    keep = (graph.proto_u[train.users] >= 0) & (graph.proto_i[train.items] >= 0)
    su, si = graph.proto_u[train.users[keep]], graph.proto_i[train.items[keep]]

    def block_rmse(p):
        pred = p["mu"][0] + np.sum(p["P_u"][su] * p["P_i"][si], axis=1)
        return np.sqrt(np.mean((pred - train.ratings[keep]) ** 2))

    pre = pretrain_prototypes(params, train, graph, np.random.default_rng(0))
    assert keep.sum() > 100 and block_rmse(pre) < 0.9 * block_rmse(params)


class _Ck:
    """In-memory stand-in for refimpl's Checkpoint."""
    def __init__(self):
        self.state = None

    def load(self):
        return self.state

    def save(self, s):
        self.state = {k: np.array(v) for k, v in s.items()}

    def maybe_save(self, step, fn):
        self.save(fn())


def test_resume_continues_from_the_checkpoint():
    data = synthetic(np.random.default_rng(0), n_users=60, n_items=90, n_ratings=2000)
    ck = _Ck()
    kw = dict(batch_size=300, tree_kw=dict(node_cap=20), n_proto=(5, 5), dim=4, hidden=8)
    fit(data, np.random.default_rng(1), epochs=1, checkpoint=ck, **kw)
    assert int(ck.state["step"]) == len(data) // 300
    _, _, hist = fit(data, np.random.default_rng(1), epochs=2, checkpoint=ck, **kw)
    assert int(ck.state["step"]) == 2 * (len(data) // 300) and len(hist) == 2


def test_example_runs_quick(run_example):
    out, _ = run_example("evidence_chains.py", timeout=120)
    assert "evidence chains RMSE" in out.stdout and "new user with 30 ratings" in out.stdout


def test_experiments_are_registered():
    from refimpl.experiments import discover
    names = set(discover())
    assert {"evidence-chains", "evidence-chains-coldstart", "evidence-chains-scaling"} <= names
