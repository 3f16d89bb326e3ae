"""Claims about a training step's evidence order and mask (`fit`, `time_steps`):
the random order is redrawn every `evidence_refresh` steps (every step up to 200 000
ratings), `time_steps` charges each step 1/refresh of a draw, and the ratings being fitted
are never evidence for their own prediction."""

import numpy as np
import pytest

import refimpl.evidence_chains.train as T
from refimpl.evidence_chains.data import Ratings, synthetic
from refimpl.evidence_chains.model import init_params, predict_pairs
from refimpl.evidence_chains.trees import permute_lists


@pytest.fixture(scope="module")
def data():
    return synthetic(np.random.default_rng(0), n_users=60, n_items=100, n_ratings=1500, min_per_user=10)


def test_refresh_steps_thresholds():
    # every step up to 200 000 ratings (the paper's per-step draw), then ceil(nnz / 200 000)
    assert [T.refresh_steps(n) for n in (1, 100_004, 200_000, 200_001, 10_000_000)] == [1, 1, 1, 2, 50]


@pytest.mark.parametrize("refresh,draws", [(None, 10), (1, 10), (3, 4), (20, 1)])
def test_fit_draws_the_evidence_order_every_refresh_steps(monkeypatch, data, refresh, draws):
    calls = []
    real = T.permute_lists
    monkeypatch.setattr(T, "permute_lists", lambda g, rng: calls.append(1) or real(g, rng))
    T.fit(data, np.random.default_rng(1), epochs=1, batch_size=150, n_proto=(5, 5), dim=4, hidden=8,
          tree_kw=dict(node_cap=8), evidence_refresh=refresh)       # 10 steps
    assert len(calls) == draws


def test_bad_evidence_refresh_names_the_argument(data):
    with pytest.raises(ValueError, match="evidence_refresh"):
        T.fit(data, np.random.default_rng(1), epochs=1, batch_size=500, evidence_refresh=0)


def _spy_mask(monkeypatch, train, seen):
    """Wrap train.predict_pairs: record whether the rows masked are exactly the rows predicted."""
    real = T.predict_pairs

    def spy(params, graph, users, items, rng, mask=None, permuted=False, **kw):
        ok = mask is not None and permuted and np.array_equal(train.users[mask], np.asarray(users)) \
            and np.array_equal(train.items[mask], np.asarray(items))
        seen.append(ok)
        return real(params, graph, users, items, rng, mask=mask, permuted=permuted, **kw)
    monkeypatch.setattr(T, "predict_pairs", spy)


def test_fit_and_time_steps_mask_the_ratings_being_fitted(monkeypatch, data):
    seen = []
    _spy_mask(monkeypatch, data, seen)
    params, graph, _ = T.fit(data, np.random.default_rng(1), epochs=1, batch_size=300, n_proto=(5, 5), dim=4,
                             hidden=8, tree_kw=dict(node_cap=8))
    T.time_steps(params, graph, data, np.random.default_rng(2), 2, 100, node_cap=8)
    assert len(seen) == 5 + 3 and all(seen)


def test_a_masked_rating_is_not_evidence_on_a_permuted_graph():
    """A user whose only rating is being fitted has no evidence: it falls back. The mask
    must follow the rating to its slot in the permuted lists (u_pos / i_pos)."""
    rng = np.random.default_rng(3)
    d = synthetic(rng, n_users=40, n_items=80, n_ratings=800, min_per_user=10)
    # one extra user (id 40) with a single rating, appended in the middle of the rows
    k = 400
    users = np.insert(d.users, k, 40)
    items = np.insert(d.items, k, 7)
    d = Ratings(users, items, np.insert(d.ratings, k, 4.0), 41, d.n_items)
    graph = T.build_training_graph(d, 5, 5)
    params = init_params(rng, 5, 5, 4, 8)
    for seed in range(5):
        g = permute_lists(graph, np.random.default_rng(seed))
        idx = np.array([3, k, 600])
        _, info = predict_pairs(params, g, d.users[idx], d.items[idx], None, mask=idx, permuted=True,
                                return_info=True, node_cap=16)
        assert info["user_fallback"].tolist() == [False, True, False]
        _, info = predict_pairs(params, g, d.users[idx], d.items[idx], None, permuted=True,
                                return_info=True, node_cap=16)
        assert not info["user_fallback"].any()                     # unmasked, it is evidence


def test_time_steps_charges_each_step_one_refresh_share_of_a_draw(monkeypatch, data):
    now = [0.0]
    real_perm, real_pred = T.permute_lists, T.predict_pairs

    def perm(g, rng):
        now[0] += 1000.0                                           # a draw costs 1000
        return real_perm(g, rng)

    def pred(*a, **kw):
        now[0] += 1.0                                              # a step costs 1
        return real_pred(*a, **kw)
    monkeypatch.setattr(T, "permute_lists", perm)
    monkeypatch.setattr(T, "predict_pairs", pred)
    graph = T.build_training_graph(data, 5, 5)
    params = init_params(np.random.default_rng(0), 5, 5, 4, 8)
    for refresh in (1, 4):
        s = T.time_steps(params, graph, data, np.random.default_rng(1), 8, 50, clock=lambda: now[0],
                         evidence_refresh=refresh, node_cap=8)
        assert s == pytest.approx((8 * 1.0 + 1000.0 * 8 / refresh) / (8 * 50))
