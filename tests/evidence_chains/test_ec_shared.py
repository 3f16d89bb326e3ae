"""Shared subtrees (`shared.py`): the hash-consed DAG of a batch's forests evaluates the
same function as the per-query forests (values and gradients to 1e-12, both kernels), its
merges are exactly the equal subtrees (brute force), and its VJP passes check_grads."""
import numpy as np
import pytest
from autograd import grad
from autograd.misc import flatten
from autograd.test_util import check_grads

from refimpl.evidence_chains.data import make_graph, synthetic, top_by_count
from refimpl.evidence_chains.model import Plan, forest_latents, predict_pairs, rating_head, shared_latents
from refimpl.evidence_chains.shared import SharedPlan, share_forests
from refimpl.evidence_chains.trees import ITEM, USER, build_forest, permute_lists

from test_ec_level_kernel import _params  # noqa: E402  (same folder: pytest puts it on sys.path)


@pytest.fixture(scope="module")
def small():
    d = synthetic(np.random.default_rng(0), n_users=80, n_items=120, n_ratings=2500)
    g = make_graph(d, top_by_count(d.users, d.n_users, 5), top_by_count(d.items, d.n_items, 5))
    return d, g


def _forests(g, cap, seed, mask_seed=None):
    gp = permute_lists(g, np.random.default_rng(seed))
    mu = mi = None
    if mask_seed is not None:                                               # a training step's mask
        m = np.random.default_rng(mask_seed).choice(gp.u_items.size, 100, replace=False)
        mu, mi = np.zeros(gp.u_items.size, bool), np.zeros(gp.u_items.size, bool)
        mu[gp.u_pos[m]], mi[gp.i_pos[m]] = True, True
    uq, iq = np.r_[np.arange(60), 3, 79], np.r_[np.arange(90), 7]           # repeats, prototypes
    return (build_forest(gp, np.full(uq.size, USER), uq, None, None, mu, mi, node_cap=cap),
            build_forest(gp, np.full(iq.size, ITEM), iq, None, None, mu, mi, node_cap=cap))


def _shared(fu, fi):
    roots, table = share_forests([fu, fi], 5, 5)
    return SharedPlan(roots, table, [USER, ITEM])


@pytest.mark.parametrize("cap,mask_seed", [(12, None), (40, 1), (200, 2)])
@pytest.mark.parametrize("shrink", [False, True])
def test_shared_equals_the_per_query_forests(small, cap, mask_seed, shrink):
    d, g = small
    params = _params(3, shrink)
    fu, fi = _forests(g, cap, 4, mask_seed)
    plan = _shared(fu, fi)
    want = [forest_latents(params, Plan(fu, USER), 3.0, "twin"), forest_latents(params, Plan(fi, ITEM), 3.0, "twin")]
    for kernel in ("numba", "twin"):
        got = shared_latents(params, plan, 3.0, kernel)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    # the sharing is real: fewer distinct subtrees than tree nodes, groups of more than one height
    assert plan.n_sid < 0.8 * (fu.n_nodes + fi.n_nodes) and len({gr["ids"].size for gr in plan.groups}) > 1
    assert fu.depth.max() >= 2 and not fu.fallback.all()


def _canonical(f):
    """Brute force: each node's subtree as a nested tuple (kind, prototype, children with ratings)."""
    ch = [[] for _ in range(f.n_nodes)]
    for k in range(f.n_nodes):
        if f.parent[k] >= 0:
            ch[f.parent[k]].append(k)
    form = [None] * f.n_nodes
    for k in range(f.n_nodes - 1, -1, -1):
        form[k] = (int(f.kind[k]), int(f.proto[k]), tuple((form[c], float(f.rating[c])) for c in ch[k]))
    return form


def test_merges_exactly_the_equal_subtrees(small):
    d, g = small
    fu, fi = _forests(g, 40, 6, 3)
    form = _canonical(fu) + _canonical(fi)
    roots, table = share_forests([fu, fi], 5, 5)
    # node ids of both forests: the same partition as equality of the brute-force forms
    from refimpl.evidence_chains.shared import _hashcons
    off = fu.n_nodes
    parent = np.r_[fu.parent, np.where(fi.parent >= 0, fi.parent + off, -1)]
    sid = _hashcons(np.r_[fu.kind, fi.kind], parent, np.r_[fu.proto, fi.proto], np.r_[fu.rating, fi.rating], 5, 5)[0]
    by_form, by_sid = {}, {}
    for k, fm in enumerate(form):
        by_form.setdefault(fm, set()).add(k)
        by_sid.setdefault(int(sid[k]), set()).add(k)
    assert sorted(map(sorted, by_form.values())) == sorted(map(sorted, by_sid.values()))
    assert len(by_form) < 0.5 * len(form)
    np.testing.assert_array_equal(roots[0], sid[fu.root_ptr[:-1]])


@pytest.mark.parametrize("kernel", ["numba", "twin"])
def test_shared_gradient_check(small, kernel):
    d, g = small
    params = _params(8, True, dim=3, hidden=4)
    fu, fi = _forests(g, 30, 9, 4)
    plan = _shared(fu, fi)
    x0, unflatten = flatten(params)
    r = np.random.default_rng(1).uniform(1, 5, 40)
    ui, ii = np.arange(40) % 62, (np.arange(40) * 7) % 91

    def loss(x):
        p = unflatten(x)
        U, V = shared_latents(p, plan, 3.0, kernel)
        return np.sum((rating_head(p, U[ui], V[ii], "biased") - r) ** 2)

    np.random.seed(0)
    check_grads(loss, modes=["rev"], order=1)(x0)


def test_training_gradient_equals_per_query_forests(small):
    d, g = small
    params = _params(5, True)
    x0, unflatten = flatten(params)
    idx = np.arange(0, 2500, 17)

    def loss(x, shared, kernel):
        p = predict_pairs(unflatten(x), g, d.users[idx], d.items[idx], np.random.default_rng(2), predictor="biased",
                          mask=idx, kernel=kernel, shared=shared, node_cap=40)
        return np.mean((p - d.ratings[idx]) ** 2)

    want = grad(loss)(x0, False, "twin")
    got = grad(loss)(x0, True, "numba")
    np.testing.assert_allclose(loss(x0, True, "numba"), loss(x0, False, "twin"), rtol=1e-12)
    assert np.abs(got - want).max() <= 1e-12 * np.abs(want).max()
