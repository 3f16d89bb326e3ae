"""Online updates: inserted ratings give exactly the from-scratch graph, and predictions
change at once with the parameters untouched."""
import numpy as np
import pytest
from autograd.misc import flatten

from refimpl.evidence_chains.data import make_graph, synthetic, top_by_count
from refimpl.evidence_chains.model import init_params
from refimpl.evidence_chains.online import OnlineChains, insert_ratings, time_ordered, with_ratings

FIELDS = ("n_users", "n_items", "u_ptr", "u_items", "u_vals", "i_ptr", "i_users", "i_vals", "u_pos",
          "i_pos", "proto_u", "proto_i")


def _data(seed=0):
    rng = np.random.default_rng(seed)
    d = synthetic(rng, n_users=60, n_items=80, n_ratings=1500, min_per_user=5)
    times = rng.integers(0, 200, len(d))              # many ties: the index breaks them
    return d, times, rng


def _protos(d):
    return top_by_count(d.users, d.n_users, 5), top_by_count(d.items, d.n_items, 6)


def test_time_order_puts_prototypes_first_then_most_recent():
    d, times, _ = _data()
    pu, pi = _protos(d)
    g = time_ordered(make_graph(d, pu, pi), times)
    t_of_slot = np.empty(len(d), np.int64)
    t_of_slot[g.u_pos] = np.arange(len(d))
    for u in range(d.n_users):
        sl = slice(g.u_ptr[u], g.u_ptr[u + 1])
        key = list(zip(g.proto_i[g.u_items[sl]] < 0, -times[t_of_slot[sl]], -t_of_slot[sl]))
        assert key == sorted(key)
    # the lists still hold each rating once, with its own value
    np.testing.assert_array_equal(g.u_vals[g.u_pos], d.ratings)
    np.testing.assert_array_equal(g.i_vals[g.i_pos], d.ratings)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_insertion_equals_the_graph_built_from_scratch(seed):
    d, times, rng = _data(seed)
    n_old = 1200
    old, new = d.subset(np.arange(n_old)), d.subset(np.arange(n_old, len(d)))
    pu, pi = _protos(old)
    g_old = time_ordered(make_graph(old, pu, pi), times[:n_old])
    # new ratings include brand-new users and items (ids beyond the old range)
    nu = np.where(rng.random(len(new)) < 0.1, d.n_users + rng.integers(0, 3, len(new)), new.users)
    ni = np.where(rng.random(len(new)) < 0.1, d.n_items + rng.integers(0, 3, len(new)), new.items)
    key = nu * 10_000 + ni
    keep = np.unique(key, return_index=True)[1]
    keep = np.sort(keep[~np.isin(key[keep], old.users * 10_000 + old.items)])
    nu, ni, nr, nt = nu[keep], ni[keep], new.ratings[keep], times[n_old:][keep]
    g_ins, t_all = insert_ratings(g_old, times[:n_old], nu, ni, nr, nt)
    full = with_ratings(old, nu, ni, nr)
    g_ref = time_ordered(make_graph(full, pu, pi), np.concatenate([times[:n_old], nt]))
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(g_ins, f), getattr(g_ref, f), err_msg=f)


def test_a_new_rating_changes_predictions_at_once_without_parameter_updates():
    d, times, rng = _data(3)
    pu, pi = _protos(d)
    params = init_params(np.random.default_rng(0), len(pu), len(pi), dim=4, hidden=8)
    snapshot = flatten(params)[0].copy()
    oc = OnlineChains(params, d, times, pu, pi, predictor="biased", node_cap=32)
    u = int(np.argmin(np.bincount(d.users, minlength=d.n_users)))        # a light user
    rated = set(d.items[d.users == u].tolist())
    j_new = next(j for j in range(d.n_items) if j not in rated)
    queries = np.array([j for j in range(d.n_items) if j not in rated and j != j_new][:10])
    before = oc.predict(np.full(queries.size, u), queries)
    oc.add([u], [j_new], [5.0], [times.max() + 1])
    after = oc.predict(np.full(queries.size, u), queries)
    assert np.abs(after - before).max() > 1e-6                  # the user's latent moved
    np.testing.assert_array_equal(flatten(params)[0], snapshot)   # parameters untouched
    # the same predictions as a model built from scratch on all the ratings
    full = with_ratings(d, [u], [j_new], [5.0])
    oc2 = OnlineChains(params, full, np.concatenate([times, [times.max() + 1]]), pu, pi,
                       predictor="biased", node_cap=32)
    np.testing.assert_array_equal(oc2.predict(np.full(queries.size, u), queries), after)
    # deterministic: asking twice gives the same answer
    np.testing.assert_array_equal(oc.predict(np.full(queries.size, u), queries), after)


def test_a_new_user_starts_at_the_fallback_and_moves_with_its_first_rating():
    d, times, _ = _data(4)
    pu, pi = _protos(d)
    params = init_params(np.random.default_rng(1), len(pu), len(pi), dim=4, hidden=8)
    oc = OnlineChains(params, d, times, pu, pi, predictor="dot", node_cap=32)
    new_u = d.n_users
    p0 = oc.predict([new_u, new_u], [0, 1])
    oc.add([new_u], [2], [1.0], [10 ** 6])
    p1 = oc.predict([new_u, new_u], [0, 1])
    assert oc.graph.n_users == d.n_users + 1 and np.abs(p1 - p0).max() > 1e-6


def test_bad_input_names_the_argument():
    d, times, _ = _data(5)
    pu, pi = _protos(d)
    params = init_params(np.random.default_rng(0), len(pu), len(pi), dim=4, hidden=8)
    with pytest.raises(ValueError, match="times"):
        OnlineChains(params, d, times[:-1], pu, pi)
    oc = OnlineChains(params, d, times, pu, pi)
    with pytest.raises(ValueError, match="not yet rated"):
        oc.add([d.users[0]], [d.items[0]], [3.0], [1])
    with pytest.raises(ValueError, match="not yet rated"):
        oc.add([0, 0], [d.n_items, d.n_items], [3.0, 4.0], [1, 2])
    with pytest.raises(ValueError, match="ratings"):
        oc.add([0], [d.n_items], [np.nan], [1])
    with pytest.raises(ValueError, match="items"):
        oc.add([0, 1], [d.n_items], [3.0, 4.0], [1, 2])


def test_fold_in_of_every_row_is_one_als_sweep():
    # fold_in_rows(all users, all items) re-solves users against fixed items, then items
    # against the new users: exactly one ALS sweep
    from refimpl.evidence_chains import baselines as B
    from refimpl.evidence_chains.exp_online import fold_in_rows
    d, _, _ = _data(6)
    mf = B.init_mf(np.random.default_rng(0), d.n_users, d.n_items, rank=3, mu=float(d.ratings.mean()))
    a = {k: np.copy(v) for k, v in mf.items()}
    b = {k: np.copy(v) for k, v in mf.items()}
    B.als_sweep(a, d)
    fold_in_rows(b, d, np.arange(d.n_users), np.arange(d.n_items))
    for k in ("P", "Q", "bu", "bi"):
        np.testing.assert_allclose(b[k], a[k], rtol=1e-12, atol=1e-12, err_msg=k)
    # a new user's row is grown and solved from its ratings alone
    from refimpl.evidence_chains.online import with_ratings
    d2 = with_ratings(d, [d.n_users] * 3, [0, 1, 2], [5.0, 4.0, 5.0])
    fold_in_rows(b, d2, [d.n_users], [])
    p, bu = B.fold_in(b, [0, 1, 2], [5.0, 4.0, 5.0])
    np.testing.assert_allclose(np.r_[b["P"][-1], b["bu"][-1]], np.r_[p, bu], rtol=1e-12)


def test_udata_timestamps_follow_the_reader_line_order(tmp_path):
    from refimpl.evidence_chains.exp_online import load_with_times
    rows = [(5, 9, 3, 300), (1, 2, 4, 100), (5, 2, 1, 200)]
    (tmp_path / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows))
    d, t = load_with_times(tmp_path)
    assert t.tolist() == [300, 100, 200] and d.ratings.tolist() == [3.0, 4.0, 1.0]
    with pytest.raises(ValueError, match="data_dir"):
        load_with_times(tmp_path / "nowhere")


def test_temporal_split_holds_out_each_users_latest_ratings():
    from refimpl.evidence_chains.data import Ratings, split_temporal
    users = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2])
    items = np.arange(13)
    times = np.array([5, 1, 9, 3, 7, 2, 8, 4, 6, 0, 10, 11, 12])
    d = Ratings(users, items, np.ones(13), 3, 13)
    tr, te = split_temporal(d, times, test_frac=0.2)
    # user 0: 10 ratings -> 2 latest (times 9, 8: items 2, 6); user 1: ceil(0.4) = 1 -> time 11; user 2 alone stays
    assert sorted(te.items.tolist()) == [2, 6, 11]
    assert len(tr) + len(te) == 13 and 12 in tr.items.tolist()
    with pytest.raises(ValueError, match="times"):
        split_temporal(d, times[:-1])
