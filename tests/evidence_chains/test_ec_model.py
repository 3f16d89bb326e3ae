"""Claims about the model: the level-by-level evaluation equals a plain recursive
evaluation of the chains, its gradient is right, the parameter count does not grow with
the data, and new ratings change predictions at once."""
import numpy as np
import pytest
from autograd.misc import flatten
from autograd.test_util import check_grads

from refimpl.evidence_chains.data import Ratings, concat, make_graph, synthetic, top_by_count
from refimpl.evidence_chains.model import (Plan, affine, forest_latents, init_params, net,
                                           predict_pairs, rating_head, segment_mean)
from refimpl.evidence_chains.trees import ITEM, USER, build_forest, permute_lists


@pytest.fixture(scope="module")
def small():
    d = synthetic(np.random.default_rng(0), n_users=80, n_items=120, n_ratings=2500)
    g = make_graph(d, top_by_count(d.users, d.n_users, 5), top_by_count(d.items, d.n_items, 5))
    return d, g


def test_segment_mean_values_and_gradient():
    rng = np.random.default_rng(0)
    x, counts = rng.standard_normal((10, 3)), np.array([3, 1, 4, 2])
    want = np.stack([x[:3].mean(0), x[3], x[4:8].mean(0), x[8:].mean(0)])
    np.testing.assert_allclose(segment_mean(x, counts), want, rtol=1e-14)
    np.random.seed(0)
    check_grads(lambda z: segment_mean(z, counts) ** 2, modes=["rev"], order=2)(x)


def test_affine_gradient():
    rng = np.random.default_rng(1)
    x, W, b = rng.standard_normal((6, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    np.random.seed(1)
    check_grads(lambda x, W, b: np.tanh(affine(x, W, b)), modes=["rev"], order=2)(x, W, b)


def _recursive_latents(params, forest, root_kind, centre=3.0):
    """The definition, node by node: prototypes are parameters, any other node is the mean
    of f([child latent h; rating r - centre]) over its children (f sees [h, r, r h]);
    fallback = mean prototype."""
    children = [[] for _ in range(forest.n_nodes)]
    for n, p in enumerate(forest.parent):
        if p >= 0:
            children[p].append(n)

    def latent(n):
        P = params["P_u"] if forest.kind[n] == USER else params["P_i"]
        if forest.proto[n] >= 0:
            return P[forest.proto[n]]
        if not children[n]:
            return P.mean(axis=0)
        f = params["f_iu"] if forest.kind[n] == USER else params["f_ui"]
        msgs = []
        for c in children[n]:
            h, r = latent(c), forest.rating[c] - centre
            msgs.append(net(f, np.r_[h, r, r * h][None, :])[0])    # f([h ; r]) on features [h, r, r h]
        if "log_kappa" not in params:
            return np.mean(msgs, axis=0)
        # shrinkage toward the prototype mean: (sum of messages + κ·mean_k P_k) / (n + κ)
        kappa = np.exp(params["log_kappa"][forest.kind[n]])
        return (np.sum(msgs, axis=0) + kappa * P.mean(axis=0)) / (len(msgs) + kappa)

    return np.stack([latent(forest.root_ptr[q]) for q in range(forest.root_ptr.size - 1)])


@pytest.mark.parametrize("shrink", [False, True])
@pytest.mark.parametrize("kind", [USER, ITEM])
def test_level_by_level_equals_recursive_evaluation(small, kind, shrink):
    d, g = small
    params = init_params(np.random.default_rng(2), 5, 5, dim=4, hidden=6, shrink=shrink)
    if shrink:
        params["log_kappa"] = np.array([0.7, -0.4])               # distinct κ per kind
    ids = np.r_[np.arange(25), 3]                                 # includes a repeat
    f = build_forest(permute_lists(g, np.random.default_rng(3)), np.full(ids.size, kind), ids,
                     node_cap=60)
    got = forest_latents(params, Plan(f, kind), 3.0)
    want = _recursive_latents(params, f, kind)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert f.depth.max() >= 2


def test_gradient_through_the_evidence_chains(small):
    d, g = small
    params = init_params(np.random.default_rng(4), 5, 5, dim=3, hidden=4, shrink=True, kappa=1.5)
    gp = permute_lists(g, np.random.default_rng(5))
    fu = build_forest(gp, np.full(6, USER), np.arange(6), node_cap=30)
    fi = build_forest(gp, np.full(6, ITEM), np.arange(6), node_cap=30)
    pu, pi = Plan(fu, USER), Plan(fi, ITEM)
    assert fu.depth.max() >= 2 and fi.depth.max() >= 2
    x0, unflatten = flatten(params)
    r = d.ratings[:6]

    def loss(x):
        p = unflatten(x)
        pred = rating_head(p, forest_latents(p, pu, 3.0), forest_latents(p, pi, 3.0), "mlp")
        return np.sum((pred - r) ** 2)

    np.random.seed(0)
    check_grads(loss, modes=["rev"], order=1)(x0)


def test_parameter_count_does_not_depend_on_users_or_items():
    sizes = set()
    for n_users, n_items in [(50, 80), (400, 900)]:
        d = synthetic(np.random.default_rng(0), n_users=n_users, n_items=n_items, n_ratings=n_users * 25)
        g = make_graph(d, top_by_count(d.users, n_users, 5), top_by_count(d.items, n_items, 5))
        params = init_params(np.random.default_rng(0), 5, 5)
        p = predict_pairs(params, g, d.users[:50], d.items[:50], np.random.default_rng(0))
        assert p.shape == (50,) and np.all(np.isfinite(p))
        sizes.add(flatten(params)[0].size)
    assert len(sizes) == 1


def test_new_ratings_change_predictions_at_once(small):
    d, g = small
    params = init_params(np.random.default_rng(6), 5, 5)
    params["P_u"] = params["P_u"] * 20.0                          # make the latents matter
    params["P_i"] = params["P_i"] * 20.0
    new_user = d.n_users                                          # unseen so far
    grown = Ratings(d.users, d.items, d.ratings, d.n_users + 1, d.n_items)
    g0 = make_graph(grown, np.nonzero(g.proto_u >= 0)[0][np.argsort(g.proto_u[g.proto_u >= 0])],
                    np.nonzero(g.proto_i >= 0)[0][np.argsort(g.proto_i[g.proto_i >= 0])])
    items = np.arange(10)
    p0, info0 = predict_pairs(params, g0, np.full(10, new_user), items, np.random.default_rng(7),
                              return_info=True)
    assert info0["user_fallback"].all()
    extra = Ratings(np.full(3, new_user), np.array([20, 21, 22]), np.array([5.0, 1.0, 5.0]),
                    d.n_users + 1, d.n_items)
    g1 = make_graph(concat(grown, extra), np.nonzero(g.proto_u >= 0)[0][np.argsort(g.proto_u[g.proto_u >= 0])],
                    np.nonzero(g.proto_i >= 0)[0][np.argsort(g.proto_i[g.proto_i >= 0])])
    p1, info1 = predict_pairs(params, g1, np.full(10, new_user), items, np.random.default_rng(7),
                              return_info=True)
    assert not info1["user_fallback"].any()
    assert np.min(np.abs(p1 - p0)) > 1e-6


def test_shrinkage_limits(small):
    """κ → 0 recovers the paper's plain mean (shrink=False); κ → ∞ sends every generated
    latent to the prototype mean, i.e. the no-evidence fallback."""
    d, g = small
    plain = init_params(np.random.default_rng(8), 5, 5, dim=4, hidden=6, shrink=False)
    f = build_forest(permute_lists(g, np.random.default_rng(9)), np.full(20, USER), np.arange(20), node_cap=40)
    plan = Plan(f, USER)
    H0 = forest_latents(plain, plan, 3.0)
    slot = f.proto[f.root_ptr[:-1]]                                # prototype roots keep their row
    far = np.where(slot[:, None] >= 0, plain["P_u"][np.maximum(slot, 0)], plain["P_u"].mean(0))
    assert (slot < 0).sum() > 5
    for log_kappa, want in ((-40.0, H0), (40.0, far)):
        got = forest_latents({**plain, "log_kappa": np.full(2, log_kappa)}, plan, 3.0)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # the exact n/(n+κ) mixing at every node is checked against the recursive definition above


def test_bad_kappa():
    with pytest.raises(ValueError, match="kappa"):
        init_params(np.random.default_rng(0), kappa=0.0)


def test_rating_heads():
    rng = np.random.default_rng(10)
    params = init_params(rng, 3, 3, dim=4, hidden=5)
    u, v = rng.standard_normal((7, 4)), rng.standard_normal((7, 4))
    mu = params["mu"][0]
    np.testing.assert_allclose(rating_head(params, u, v, "dot"), mu + (u * v).sum(1), rtol=1e-14)
    want = mu + u[:, 3] + v[:, 3] + (u[:, :3] * v[:, :3]).sum(1)     # generated biases
    np.testing.assert_allclose(rating_head(params, u, v, "biased"), want, rtol=1e-14)
    with pytest.raises(ValueError, match="predictor"):
        rating_head(params, u, v, "cosine")
