"""The fused numba level kernel (`level_kernel.level_fused`) against its readable autograd
twin (`model.level_twin`): values, the hand-written VJP (finite differences via
check_grads, and equal to autograd's gradient through the twin), and training losses."""
import numpy as np
import pytest
from autograd import grad
from autograd.misc import flatten
from autograd.test_util import check_grads

from refimpl.evidence_chains.data import make_graph, synthetic, top_by_count
from refimpl.evidence_chains.level_kernel import level_fused
from refimpl.evidence_chains.model import Plan, forest_latents, init_params, level_twin, rating_head
from refimpl.evidence_chains.train import fit
from refimpl.evidence_chains.trees import ITEM, USER, build_forest, permute_lists


@pytest.fixture(scope="module")
def small():
    d = synthetic(np.random.default_rng(0), n_users=80, n_items=120, n_ratings=2500)
    g = make_graph(d, top_by_count(d.users, d.n_users, 5), top_by_count(d.items, d.n_items, 5))
    return d, g


def _plan(g, kind, n, cap, seed):
    ids = np.r_[np.arange(n), 3, 1]                                        # repeats
    f = build_forest(permute_lists(g, np.random.default_rng(seed)), np.full(ids.size, kind), ids, node_cap=cap)
    return Plan(f, kind)


def _params(seed, shrink, dim=4, hidden=6):
    p = init_params(np.random.default_rng(seed), 5, 5, dim=dim, hidden=hidden, shrink=shrink)
    for k in ("f_iu", "f_ui"):                                              # nonzero biases
        p[k] = [(W, 0.3 * np.random.default_rng(seed + 1).standard_normal(b.shape)) for W, b in p[k]]
    if shrink:
        p["log_kappa"] = np.array([0.7, -0.4])                             # distinct κ per kind
    return p


def _level_inputs(params, plan, d, seed):
    """Random child latents (prototype children: their prototype row, as in a forest) and
    the arguments of level d of `plan`."""
    lv, child = plan.levels[d], plan.levels[d + 1]
    H = np.random.default_rng(seed).standard_normal((child["typ"].size, params["P_u"].shape[1]))
    P = params["P_u"] if child["kind"] == USER else params["P_i"]
    pr = child["typ"] == 1
    H[pr] = P[child["slot"][pr]]
    return H, lv["child_rating"] - 3.0, lv


def _fused(params, H, r, lv):
    user = lv["kind"] == USER
    f = params["f_iu"] if user else params["f_ui"]
    return level_fused(H, params["P_u"] if user else params["P_i"], params["P_i"] if user else params["P_u"],
                       params.get("log_kappa"),
                       f[0][0], f[0][1], f[1][0], f[1][1], r, lv, lv["kind"])


@pytest.mark.parametrize("shrink", [False, True])
@pytest.mark.parametrize("kind", [USER, ITEM])
def test_level_values_equal_the_twin(small, kind, shrink):
    _, g = small
    params = _params(1, shrink)
    plan = _plan(g, kind, 25, 60, 2)
    assert len(plan.levels) >= 3
    for d in range(len(plan.levels) - 1):
        H, r, lv = _level_inputs(params, plan, d, 10 + d)
        assert (lv["typ"] == 0).any()
        np.testing.assert_allclose(_fused(params, H, r, lv), level_twin(params, H, r, lv), rtol=1e-10, atol=1e-13)
    # whole forests, deepest level (no inner nodes, H = None) included
    np.testing.assert_allclose(forest_latents(params, plan, 3.0, "numba"), forest_latents(params, plan, 3.0, "twin"),
                               rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("shrink", [False, True])
def test_level_vjp_finite_differences(small, shrink):
    _, g = small
    params = _params(3, shrink, dim=3, hidden=4)
    plan = _plan(g, USER, 6, 30, 4)
    H, r, lv = _level_inputs(params, plan, 1, 5)
    assert set(lv["typ"].tolist()) >= {0, 1}
    f = params["f_iu"]
    lk = params.get("log_kappa")

    def fun(H, P, Pc, W1, b1, W2, b2, *lk_):
        out = level_fused(H, P, Pc, lk_[0] if lk_ else None, W1, b1, W2, b2, r, lv, lv["kind"])
        return np.sin(out)                                                  # a non-linear read-out
    args = (H, params["P_u"], params["P_i"], f[0][0], f[0][1], f[1][0], f[1][1]) + ((lk,) if shrink else ())
    np.random.seed(0)
    check_grads(fun, modes=["rev"], order=1)(*args)


@pytest.mark.parametrize("kind", [USER, ITEM])
def test_gradient_through_forests_equals_the_twin(small, kind):
    d, g = small
    params = _params(6, True, dim=3, hidden=5)
    pu, pi = _plan(g, USER, 8, 40, 7), _plan(g, ITEM, 8, 40, 8)
    x0, unflatten = flatten(params)
    r = d.ratings[:pu.n_roots]

    def loss(x, kernel):
        p = unflatten(x)
        pred = rating_head(p, forest_latents(p, pu, 3.0, kernel), forest_latents(p, pi, 3.0, kernel), "biased")
        return np.sum((pred - r) ** 2)

    gn, gt = grad(loss)(x0, "numba"), grad(loss)(x0, "twin")
    np.testing.assert_allclose(gn, gt, rtol=1e-9, atol=1e-12)
    np.random.seed(1)
    check_grads(lambda x: loss(x, "numba"), modes=["rev"], order=1)(x0)


def test_training_losses_agree_with_and_without_the_kernel(small):
    d, _ = small
    hist = {}
    for kernel in ("numba", "twin"):
        _, _, h = fit(d, np.random.default_rng(11), n_proto=(5, 5), dim=4, hidden=6, epochs=2, batch_size=500,
                      eval_every=1, tree_kw=dict(node_cap=40), predictor="biased", kernel=kernel)
        hist[kernel] = np.array([row["train_rmse"] for row in h])
    assert hist["numba"].size == 10
    assert np.ptp(hist["numba"]) > 1e-3                                    # training moved
    np.testing.assert_allclose(hist["numba"], hist["twin"], rtol=1e-8)


def test_bad_kernel_name(small):
    _, g = small
    plan = _plan(g, USER, 3, 20, 0)
    with pytest.raises(ValueError, match="kernel"):
        forest_latents(_params(0, True), plan, 3.0, "cuda")
