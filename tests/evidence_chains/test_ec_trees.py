"""Claims about the evidence trees: caps on depth, evidence and nodes; no cycles;
prototypes first; masked ratings unused; the numba kernel equals the recursive twin."""
import numpy as np
import pytest

from refimpl.evidence_chains.data import Ratings, make_graph, synthetic, top_by_count
from refimpl.evidence_chains.trees import ITEM, USER, build_forest, evidence_limit
from refimpl.evidence_chains.trees_reference import build_forest_reference


@pytest.fixture(scope="module")
def small():
    d = synthetic(np.random.default_rng(0), n_users=120, n_items=200, n_ratings=5000)
    g = make_graph(d, top_by_count(d.users, d.n_users, 6), top_by_count(d.items, d.n_items, 6))
    return d, g


def _queries(g):
    q_kind = np.r_[np.full(30, USER), np.full(30, ITEM)]
    q_ent = np.r_[np.arange(30), np.arange(30)]
    return q_kind, q_ent


def _keys(g, seed, p_mask=0.0):
    rng = np.random.default_rng(seed)
    nnz = g.u_items.size
    return (rng.random(nnz), rng.random(nnz), rng.random(nnz) < p_mask, rng.random(nnz) < p_mask)


def _same(a, b):
    for k in ("kind", "entity", "parent", "depth", "proto", "root_ptr", "fallback"):
        assert np.array_equal(getattr(a, k), getattr(b, k)), k
    assert np.array_equal(a.rating, b.rating, equal_nan=True)


@pytest.mark.parametrize("kw", [dict(), dict(node_cap=40), dict(node_cap=600, max_depth=3),
                                dict(node_cap=7, evidence=5, min_evidence=2), dict(max_depth=1)])
def test_numba_twin_equals_recursive_twin(small, kw):
    d, g = small
    f1 = build_forest(g, *_queries(g), *_keys(g, 1, 0.1), **kw)
    f2 = build_forest_reference(g, *_queries(g), *_keys(g, 1, 0.1), **kw)
    _same(f1, f2)
    assert f1.n_nodes > 60


def _children(f):
    ch = [[] for _ in range(f.n_nodes)]
    for n, p in enumerate(f.parent):
        if p >= 0:
            ch[p].append(n)
    return ch


@pytest.mark.parametrize("cap", [30, 256, 1500])
def test_depth_evidence_and_node_caps(small, cap):
    d, g = small
    f = build_forest(g, *_queries(g), *_keys(g, 2), max_depth=4, evidence=40, node_cap=cap)
    assert f.depth.max() <= 4
    assert np.diff(f.root_ptr).max() <= cap
    ch = _children(f)
    for n in range(f.n_nodes):
        assert len(ch[n]) <= evidence_limit(40, f.depth[n])
        assert all(f.depth[c] == f.depth[n] + 1 and f.kind[c] == 1 - f.kind[n] for c in ch[n])
        # prototypes are leaves; every other node has evidence (or is a fallback root)
        if f.proto[n] >= 0:
            assert not ch[n]
        elif f.parent[n] >= 0:
            assert ch[n]


def test_halving_evidence_is_reached_with_a_large_cap(small):
    d, g = small
    f = build_forest(g, *_queries(g), *_keys(g, 3), max_depth=3, evidence=16, node_cap=100_000)
    n_ch = np.bincount(f.parent[f.parent >= 0], minlength=f.n_nodes)
    for depth, lim in [(0, 16), (1, 8), (2, 4)]:
        assert n_ch[f.depth == depth].max() == lim


def test_no_node_uses_an_ancestor(small):
    d, g = small
    f = build_forest(g, *_queries(g), *_keys(g, 4), node_cap=1000)
    for n in range(f.n_nodes):
        a = f.parent[n]
        while a >= 0:
            assert (f.kind[a], f.entity[a]) != (f.kind[n], f.entity[n])
            a = f.parent[a]


def test_prototypes_are_visited_first(small):
    d, g = small
    f = build_forest(g, *_queries(g), *_keys(g, 5), max_depth=2, node_cap=100_000)
    ch = _children(f)
    n_checked = 0
    for n in range(f.n_nodes):
        if f.proto[n] >= 0 or not ch[n]:
            continue
        if f.kind[n] == USER:
            nb = g.u_items[g.u_ptr[f.entity[n]]:g.u_ptr[f.entity[n] + 1]]
            n_proto_nb = int((g.proto_i[nb] >= 0).sum())
        else:
            nb = g.i_users[g.i_ptr[f.entity[n]]:g.i_ptr[f.entity[n] + 1]]
            n_proto_nb = int((g.proto_u[nb] >= 0).sum())
        protos = [f.proto[c] >= 0 for c in ch[n]]
        # all prototype children come before the others, and none is skipped
        assert protos == sorted(protos, reverse=True)
        chain = 1 if f.parent[n] >= 0 and f.proto[f.parent[n]] >= 0 else 0
        assert sum(protos) >= min(n_proto_nb - chain, evidence_limit(80, f.depth[n]))
        n_checked += 1
    assert n_checked > 30


def test_masked_ratings_are_never_evidence(small):
    d, g = small
    ku, ki, mu, mi = _keys(g, 6)
    mask = np.zeros(len(d), bool)
    mask[::3] = True
    mu, mi = np.zeros_like(mu), np.zeros_like(mi)
    mu[g.u_pos[mask]], mi[g.i_pos[mask]] = True, True
    f = build_forest(g, *_queries(g), ku, ki, mu, mi, node_cap=2000)
    masked = set((d.users[mask] * d.n_items + d.items[mask]).tolist())
    used = 0
    for n in np.nonzero(f.parent >= 0)[0]:
        p = f.parent[n]
        u, i = (f.entity[p], f.entity[n]) if f.kind[p] == USER else (f.entity[n], f.entity[p])
        assert u * d.n_items + i not in masked
        used += 1
    assert used > 1000


def test_a_user_without_ratings_falls_back():
    d = Ratings(np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([4.0, 2.0, 5.0]), 3, 2)
    g = make_graph(d, [0], [1])
    ku = kk = np.zeros(3)
    f = build_forest(g, [USER, USER, ITEM], [2, 1, 0], ku, kk)
    assert f.fallback.tolist() == [True, False, False]
    assert np.diff(f.root_ptr).tolist()[0] == 1
    # user 1 rated only the prototype item 1; item 0 was rated only by the prototype user 0
    assert f.entity[f.root_ptr[1] + 1] == 1 and f.entity[f.root_ptr[2] + 1] == 0


def test_bad_queries_are_rejected(small):
    d, g = small
    with pytest.raises(ValueError, match="q_kind, q_ent"):
        build_forest(g, [USER], [10_000], *_keys(g, 0))
    with pytest.raises(ValueError, match="keys_u"):
        build_forest(g, [USER], [0], np.zeros(3), *_keys(g, 0)[1:])


def test_presorted_fast_path_equals_both_twins(small):
    from refimpl.evidence_chains.trees import permute_lists
    d, g = small
    gp = permute_lists(g, np.random.default_rng(9))
    _, _, mu, mi = _keys(gp, 1, 0.1)
    # small caps: many children with budget 2 (the builder's one-evidence shortcut)
    for kw in (dict(), dict(node_cap=9, evidence=6), dict(node_cap=64), dict(node_cap=9, min_evidence=2)):
        f1 = build_forest(gp, *_queries(gp), None, None, mu, mi, **kw)
        f2 = build_forest_reference(gp, *_queries(gp), None, None, mu, mi, **kw)
        _same(f1, f2)
    # the permuted graph still holds the same ratings at the moved positions
    assert np.array_equal(gp.u_items[gp.u_pos], d.items) and np.array_equal(gp.i_vals[gp.i_pos], d.ratings)


def test_evidence_order_is_uniform_with_prototypes_first():
    """permute_lists: each list keeps its entries, prototypes first, and the non-prototype
    part is a uniform random order (chi-square on which entry comes first and on the
    position of one entry, over many draws; a biased shuffle such as Sattolo's fails)."""
    from scipy.stats import chisquare
    from refimpl.evidence_chains.trees import permute_lists
    d = synthetic(np.random.default_rng(0), n_users=30, n_items=40, n_ratings=600)
    g = make_graph(d, top_by_count(d.users, d.n_users, 3), top_by_count(d.items, d.n_items, 3))
    row = int(np.argmax(np.diff(g.u_ptr)))
    lo, hi = g.u_ptr[row], g.u_ptr[row + 1]
    items = g.u_items[lo:hi]
    n_p = int((g.proto_i[items] >= 0).sum())
    rest = np.sort(items[g.proto_i[items] < 0])
    first, where = np.zeros(rest.size), np.zeros(rest.size)
    for s in range(3000):
        gp = permute_lists(g, np.random.default_rng(s))
        got = gp.u_items[lo:hi]
        assert np.all(g.proto_i[got[:n_p]] >= 0) and np.array_equal(np.sort(got[n_p:]), rest)
        first[np.searchsorted(rest, got[n_p])] += 1
        where[int(np.nonzero(got[n_p:] == rest[0])[0][0])] += 1
    assert n_p >= 1 and rest.size >= 8
    assert chisquare(first).pvalue > 1e-4 and chisquare(where).pvalue > 1e-4
