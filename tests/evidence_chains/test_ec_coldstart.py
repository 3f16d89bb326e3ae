"""The population prior for cold start (`coldstart.py`): a no-op when the prior is the
prototype mean, the prior itself for a user with no ratings, and by hand for a user whose
evidence is prototypes only (closed form: w·mean f([P_j; r]) + (1 - w)·ū)."""
import numpy as np
import pytest

from refimpl.evidence_chains.coldstart import (population_latent, predict_with_prior, prior_latents,
                                               root_evidence)
from refimpl.evidence_chains.data import Ratings, concat, make_graph, synthetic, top_by_count
from refimpl.evidence_chains.model import evidence_features, init_params, latents_for, net, predict_pairs
from refimpl.evidence_chains.trees import ITEM, USER, build_forest, permute_lists

TREE = dict(node_cap=32)


@pytest.fixture(scope="module")
def small():
    d = synthetic(np.random.default_rng(0), n_users=60, n_items=90, n_ratings=1800, min_per_user=10)
    pu, pi = top_by_count(d.users, d.n_users, 5), top_by_count(d.items, d.n_items, 5)
    params = init_params(np.random.default_rng(1), 5, 5, dim=4, hidden=8, proto_scale=1.0)
    return d, pu, pi, params


def test_root_evidence_counts_the_roots_children(small):
    d, pu, pi, _ = small
    g = make_graph(d, pu, pi)
    f = build_forest(permute_lists(g, np.random.default_rng(2)), np.full(20, USER), np.arange(20), **TREE)
    want = [int(np.sum(f.parent == r)) for r in f.root_ptr[:-1]]
    assert root_evidence(f).tolist() == want and 0 in want and max(want) > 1     # user 0..19 holds prototypes


def test_prototype_mean_prior_is_the_model_itself(small):
    d, pu, pi, params = small
    g = make_graph(d, pu, pi)
    users, items = d.users[:40], d.items[:40]
    a = predict_pairs(params, g, users, items, np.random.default_rng(3), predictor="biased", **TREE)
    b = predict_with_prior(params, g, users, items, np.random.default_rng(3), params["P_u"].mean(0),
                           params["P_i"].mean(0), predictor="biased", **TREE)
    np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-13)


def test_prior_of_a_user_without_and_with_prototype_evidence(small):
    d, pu, pi, params = small
    params = dict(params, log_kappa=np.log([2.0, 7.0]))            # κ_user ≠ κ_item
    new = d.n_users
    grown = Ratings(d.users, d.items, d.ratings, d.n_users + 1, d.n_items, d.scale)
    g0 = permute_lists(make_graph(grown, pu, pi), np.random.default_rng(4))
    prior = np.array([0.3, -0.2, 0.5, 1.0])
    np.testing.assert_allclose(prior_latents(params, g0, USER, [new], prior, **TREE)[0], prior, rtol=1e-14)
    # three ratings of prototype items: the root's children are leaves with latents P_i[slot]
    js, rs = pi[[0, 2, 3]], np.array([5.0, 1.0, 4.0])
    g1 = permute_lists(make_graph(concat(grown, Ratings(np.full(3, new), js, rs, new + 1, d.n_items, d.scale)),
                                  pu, pi), np.random.default_rng(4))
    got = prior_latents(params, g1, USER, [new], prior, **TREE)[0]
    slots = np.array([0, 2, 3])
    m = net(params["f_iu"], evidence_features(params["P_i"][slots], (rs - 3.0)[:, None])).mean(0)
    w = 3 / (3 + np.exp(params["log_kappa"][USER]))
    np.testing.assert_allclose(got, w * m + (1 - w) * prior, rtol=1e-12)


def test_warm_entities_barely_move_and_the_population_latent_is_their_mean(small):
    d, pu, pi, params = small
    g = permute_lists(make_graph(d, pu, pi), np.random.default_rng(5))
    ids = np.arange(10, 30)
    lat, _ = latents_for(params, g, ITEM, ids, 3.0, **TREE)
    np.testing.assert_allclose(population_latent(params, make_graph(d, pu, pi), ITEM, ids,
                                                 np.random.default_rng(5), **TREE), np.mean(lat, 0), rtol=1e-12)
    lat_p = prior_latents(params, g, ITEM, pi, np.full(4, 9.0), **TREE)   # prototypes: their parameter rows
    np.testing.assert_array_equal(lat_p, params["P_i"])
    p = dict(params, log_kappa=np.array([-30.0, -30.0]))          # κ ≈ 0: no shrinkage, no prior
    lat0, _ = latents_for(p, g, ITEM, ids, 3.0, **TREE)
    np.testing.assert_allclose(prior_latents(p, g, ITEM, ids, np.full(4, 9.0), **TREE), lat0, atol=1e-10)


def test_crossover_and_paired_gap():
    from refimpl.evidence_chains.coldstart import paired_mse_diff, wins_from
    ks = [0, 1, 2, 5, 10]
    # chains ahead at k <= 1, MF from k = 2 on; a late lead of MF after a chains win does not count
    assert wins_from(ks, [1.0, 1.0, 1.0, 1.0, 1.0], [1.1, 1.05, 0.9, 0.8, 0.7]) == 2
    assert wins_from(ks, [1.0] * 5, [0.9, 1.1, 0.9, 0.9, 0.9]) == 2
    assert wins_from(ks, [1.0] * 5, [0.9] * 4 + [1.0]) == np.inf          # a tie at the end: MF has not won
    assert wins_from(ks, [1.0] * 5, [0.9] * 5) == 0
    y = np.array([1.0, 2.0, 3.0, 4.0])
    a, b = y + np.array([1.0, 0.0, -1.0, 2.0]), y + 0.5
    d, se = paired_mse_diff(a, b, y)
    diffs = np.array([1.0, 0.0, 1.0, 4.0]) - 0.25
    assert d == pytest.approx(diffs.mean()) and se == pytest.approx(diffs.std(ddof=1) / 2)
