"""The hand-written WGAN-GP step (`wgan_fused`) against its definition (`wgan`, autograd's
second derivatives): values and parameter gradients to ~1e-10, the penalty alone, ReLU ties,
finite differences (check_grads) on its primitives, and whole training trajectories."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import value_and_grad
from autograd.misc import flatten
from autograd.test_util import check_grads

from refimpl.dna import wgan, wgan_fused as wf


def _nets(rng, L, dim, bias=0.1):
    cp, gp = wgan.init_critic(rng, L, dim), wgan.init_generator(rng, L, dim)
    for net in (cp, gp):                              # non-zero biases: a bias bug shows
        for blk in net["res"]:
            for c in blk:
                c["b"] = bias * rng.standard_normal(c["b"].shape)
        for k in ("inp", "fc", "out"):
            if k in net:
                net[k]["b"] = bias * rng.standard_normal(net[k]["b"].shape)
    return cp, gp


def _close(fused, auto, what):
    (v1, g1), (v2, g2) = fused, auto
    f1, f2 = flatten(g1)[0], flatten(g2)[0]
    assert abs(v1 - v2) <= 1e-10 * max(1.0, abs(v2)), f"{what}: value {v1} vs {v2}"
    err = np.abs(f1 - f2).max() / max(1.0, np.abs(f2).max())
    assert err <= 1e-10, f"{what}: gradient differs by {err:.2e} (relative)"


@pytest.mark.parametrize("rows", [768, 20])
@pytest.mark.parametrize("L,dim,B", [(7, 3, 4), (12, 8, 6)])
def test_critic_loss_and_gradient_equal_autograd(L, dim, B, rows, monkeypatch):
    # rows = 20: one or two sequences per sub-batch, so the sums over sub-batches are exercised
    monkeypatch.setattr(wf, "_ROWS", rows)
    rng = np.random.default_rng(L)
    cp, gp = _nets(rng, L, dim)
    x = np.eye(4)[rng.integers(0, 4, (B, L))]
    z, eps = rng.standard_normal((B, wgan.LATENT)), rng.uniform(size=B)
    auto = value_and_grad(wgan.critic_loss)(cp, gp, x, z, eps)
    _close(wf.critic_value_and_grad(cp, x, wf.generate_plain(gp, z), eps), auto, "critic loss")
    assert np.allclose(wf.generate_plain(gp, z), wgan.generate(gp, z), rtol=0, atol=1e-14)


@pytest.mark.parametrize("rows", [768, 20])
@pytest.mark.parametrize("L,dim,B", [(7, 3, 4), (12, 8, 6)])
def test_penalty_alone_and_generator_loss_equal_autograd(L, dim, B, rows, monkeypatch):
    monkeypatch.setattr(wf, "_ROWS", rows)
    rng = np.random.default_rng(10 + L)
    cp, gp = _nets(rng, L, dim)
    x_hat = rng.dirichlet(np.ones(4), size=(B, L))
    _close(wf.penalty_value_and_grad(cp, x_hat, lam=3.0),
           value_and_grad(wgan.gradient_penalty)(cp, x_hat, 3.0), "penalty")
    z = rng.standard_normal((B, wgan.LATENT))
    _close(wf.generator_value_and_grad(gp, cp, z), value_and_grad(wgan.generator_loss)(gp, cp, z), "generator")


def test_sub_batches_sum_to_the_whole_batch(monkeypatch):
    # the fused step runs sub-batch by sub-batch (~_ROWS frame rows each) and must still take
    # every mean over the WHOLE batch; the tests above fit in one sub-batch, so shrink _ROWS
    # to force several, of unequal sizes (7 sequences of 16 frame rows -> 2, 2, 2, 1)
    monkeypatch.setattr(wf, "_ROWS", 25)
    rng = np.random.default_rng(11)
    L, dim, B = 12, 4, 7
    assert [s.stop - s.start for s in wf._batches(B, L + 4)] == [2, 2, 2, 1]
    cp, gp = _nets(rng, L, dim)
    x = np.eye(4)[rng.integers(0, 4, (B, L))]
    z, eps = rng.standard_normal((B, wgan.LATENT)), rng.uniform(size=B)
    assert np.allclose(wf.generate_plain(gp, z), wgan.generate(gp, z), rtol=0, atol=1e-14)
    _close(wf.critic_value_and_grad(cp, x, wf.generate_plain(gp, z), eps),
           value_and_grad(wgan.critic_loss)(cp, gp, x, z, eps), "critic loss, sub-batched")
    x_hat = rng.dirichlet(np.ones(4), size=(B, L))
    _close(wf.penalty_value_and_grad(cp, x_hat), value_and_grad(wgan.gradient_penalty)(cp, x_hat),
           "penalty, sub-batched")
    _close(wf.generator_value_and_grad(gp, cp, z), value_and_grad(wgan.generator_loss)(gp, cp, z),
           "generator, sub-batched")


def _ties(cp, x):
    """How many ReLU inputs of the critic at x are exactly 0 (autograd passes half the gradient there)."""
    _, _, cache = wf._critic_forward(wf.Workspace(), cp, x)
    B, p = x.shape[0], (cp["res"][0][0]["W"].shape[0] - 1) // 2
    return sum(int((wf._valid(m, B, p) == 0.5).sum()) for m1, _, m2, _ in cache for m in (m1, m2))


def test_relu_ties_are_split_as_autograd_splits_them():
    # zero biases and all-zero positions (constructed: refimpl's '*' token is its own one-hot
    # channel, so real batches hold no all-zero position and ties need exact zeros): whole conv
    # windows of zeros give ReLU inputs exactly 0, in the scored rows and in x̂
    rng = np.random.default_rng(5)
    L, dim, B = 10, 4, 4
    cp, gp = _nets(rng, L, dim, bias=0.0)
    x = np.eye(4)[rng.integers(0, 4, (B, L))]
    x[:, 4:] = 0.0
    z, eps = rng.standard_normal((B, wgan.LATENT)), rng.uniform(size=B)
    x_hat = x * rng.uniform(0.5, 1.5, size=(B, 1, 1))
    assert _ties(cp, x) > 10 and _ties(cp, x_hat) > 10
    # the scored rows' ties: with a constant generator output of zeros the fake rows tie too
    _close(wf.critic_value_and_grad(cp, x, np.zeros_like(x), eps),
           value_and_grad(lambda c: anp.mean(wgan.critic(c, np.zeros_like(x))) - anp.mean(wgan.critic(c, x))
                          + wgan.gradient_penalty(c, eps[:, None, None] * x))(cp), "critic loss with ties")
    _close(wf.penalty_value_and_grad(cp, x_hat), value_and_grad(wgan.gradient_penalty)(cp, x_hat),
           "penalty with ties")
    gp["fc"]["W"][:, :] = 0.0                                   # G's residual stream starts at 0
    gp["fc"]["b"][:] = 0.0
    _close(wf.generator_value_and_grad(gp, cp, z), value_and_grad(wgan.generator_loss)(gp, cp, z),
           "generator with ties")


def test_fused_primitives_pass_check_grads():
    # finite differences on the hand-written VJPs themselves (not only agreement with autograd)
    rng = np.random.default_rng(6)
    L, dim, B = 6, 3, 3
    cp, gp = _nets(rng, L, dim)
    x = np.eye(4)[rng.integers(0, 4, (B, L))]
    z, eps = rng.standard_normal((B, wgan.LATENT)), rng.uniform(size=B)
    xf = wf.generate_plain(gp, z)
    check_grads(lambda c: wf.critic_loss_fused(c, x, xf, eps), modes=["rev"], order=1)(cp)
    check_grads(lambda c: wf.penalty_fused(c, 0.5 * (x + xf)), modes=["rev"], order=1)(cp)
    check_grads(lambda g: wf.generator_loss_fused(g, cp, z), modes=["rev"], order=1)(gp)


def test_gemm_into_equals_its_readable_twin():
    rng = np.random.default_rng(7)
    a, b, c = rng.standard_normal((9, 4)), rng.standard_normal((4, 3)), rng.standard_normal((9, 3))
    c0 = c.copy()
    wf._gemm_into(c, a, b, accumulate=True)
    assert np.allclose(c, c0 + a @ b, rtol=0, atol=1e-13)
    wf._gemm_into(c, a, b, accumulate=False)
    assert np.allclose(c, a @ b, rtol=0, atol=1e-13)


def test_same_seed_same_trajectory_fused_or_autograd():
    rng = np.random.default_rng(8)
    X = np.eye(4)[rng.integers(0, 4, (40, 9))]
    runs = [wgan.train_wgan(np.random.default_rng(0), X, 3, dim=4, batch=8, every=1, fused=f) for f in (True, False)]
    (g1, c1, h1), (g2, c2, h2) = runs
    assert np.allclose(np.array(h1), np.array(h2), rtol=0, atol=1e-10)
    for a, b in ((g1, g2), (c1, c2)):
        assert np.abs(flatten(a)[0] - flatten(b)[0]).max() <= 1e-10


def test_constants_and_bad_input():
    assert wf.RES_SCALE == wgan.RES_SCALE
    rng = np.random.default_rng(9)
    cp, _ = _nets(rng, 5, 2)
    x = np.eye(4)[rng.integers(0, 4, (2, 5))]
    with pytest.raises(ValueError, match="eps"):
        wf.critic_value_and_grad(cp, x, x, np.ones(3))
    with pytest.raises(ValueError, match="x_real"):                # length 6 for a length-5 critic
        wf.critic_value_and_grad(cp, np.eye(4)[rng.integers(0, 4, (2, 6))], x, np.ones(2))
    with pytest.raises(ValueError, match="x_hat"):
        wf.penalty_value_and_grad(cp, x[:, :, :3])
    _, gp6 = _nets(rng, 6, 2)
    with pytest.raises(ValueError, match="gparams, cparams"):
        wf.generator_value_and_grad(gp6, cp, rng.standard_normal((2, wgan.LATENT)))
    with pytest.raises(ValueError, match="z"):
        wf.generator_value_and_grad(gp6, cp, rng.standard_normal((2, 7)))
    cp["res"][0][0]["W"] = np.zeros((4, 2, 2))
    with pytest.raises(ValueError, match="odd"):
        wf.penalty_value_and_grad(cp, x)
    cp["res"][0][0]["W"] = np.zeros((3, 2, 2))                     # odd, but not every block's width
    with pytest.raises(ValueError, match="one odd conv width"):
        wf.penalty_value_and_grad(cp, x)
    cp, gp = _nets(rng, 5, 2)
    cp["inp"]["W"] = np.zeros((3, 4, 2))                            # the fused path uses W[0] only
    with pytest.raises(ValueError, match="cparams.*inp"):
        wf.critic_value_and_grad(cp, x, x, np.ones(2))
    gp["out"]["W"] = np.zeros((3, 2, 4))
    with pytest.raises(ValueError, match="gparams.*out"):
        wf.generate_plain(gp, rng.standard_normal((2, wgan.LATENT)))


def test_adam_views_unflatten_as_autograd_does():
    # Adam.params are views into the flat vector in autograd.misc.flatten's order (sorted dict
    # keys, lists and tuples in order); a wrong order would hand one layer another's weights
    rng = np.random.default_rng(10)
    tree = {"b": [rng.standard_normal((2, 3)), (rng.standard_normal(4), {"z": rng.standard_normal(1),
                                                                        "a": rng.standard_normal((2, 2))})],
            "a": rng.standard_normal(5)}
    flat, unflatten = flatten(tree)
    v = wgan._tree_views(flat + 1.0, tree)
    u = unflatten(flat + 1.0)
    assert np.array_equal(flatten(v)[0], flatten(u)[0])
    assert isinstance(v["b"][1], tuple) and v["b"][1][1]["a"].shape == (2, 2)
    opt = wgan.Adam(tree)
    with pytest.raises(ValueError):
        opt.params["a"][0] = 1.0                                  # read-only: no silent edits
    with pytest.raises(ValueError, match="g"):
        opt.step({"a": np.zeros(5)})
