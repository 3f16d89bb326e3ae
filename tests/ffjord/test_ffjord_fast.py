"""Fused concatsquash dynamics + divergence (issue 8): twins with layers.py, VJP gradient checks."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.misc import flatten
from autograd.test_util import check_grads

from refimpl.ffjord import concatsquash_dynamics as DYN, divergence_hutchinson, init_cnf, cnf_log_prob
from refimpl.ffjord.fast import f_and_divergence, fast_concatsquash_dynamics as FAST
from refimpl.ffjord.layers import init_concatsquash_dynamics
from refimpl.testing import assert_twins_agree


def _setup(D=3, hidden=(5, 4), B=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng, init_concatsquash_dynamics(rng, D, hidden), rng.standard_normal((B, D))


@pytest.mark.parametrize("hidden", [(5, 4), (7,), ()])
def test_exact_twin(hidden):
    rng, p, z = _setup(hidden=hidden)
    f, div = f_and_divergence(0.37, z, p)
    f_ref, div_ref = DYN.with_exact_divergence(0.37, z, p)
    assert_twins_agree(f, f_ref, rtol=1e-12, name="f")
    assert_twins_agree(div, div_ref, rtol=1e-12, name="div")


def test_hutchinson_twin():
    rng, p, z = _setup()
    eps = rng.choice([-1.0, 1.0], size=z.shape)
    _, est = f_and_divergence(0.2, z, p, probes=eps[:, None, :])
    assert_twins_agree(est, divergence_hutchinson(DYN, 0.2, z, p, eps), rtol=1e-12, name="hutchinson")


def test_vjp_gradient_checks():
    rng, p, z = _setup()
    eps = rng.standard_normal((6, 1, 3))
    for probes in (None, eps):
        def fn(t, zz, pp):
            f, d = f_and_divergence(t, zz, pp, probes)
            return anp.concatenate([f, d[:, None]], axis=1)
        check_grads(fn, modes=["rev"], order=1)(0.3, z, p)


def test_grad_of_loss_matches_autograd_twin():
    # the gradient of a loss through the whole adjoint solve agrees with the autograd twin
    rng = np.random.default_rng(1)
    blocks = init_cnf(rng, 2, (8, 8), t1=0.5)
    x = rng.standard_normal((16, 2))

    def loss(bl, dyn):
        return -anp.mean(cnf_log_prob(dyn, bl, x, rtol=1e-8, atol=1e-8))
    g1, g2 = flatten(grad(loss)(blocks, FAST))[0], flatten(grad(loss)(blocks, DYN))[0]
    assert np.max(np.abs(g1 - g2)) < 1e-6 * np.max(np.abs(g2))
    assert_twins_agree(FAST(0.1, x, blocks[0]["net"]), DYN(0.1, x, blocks[0]["net"]), name="f")


def test_bad_probes():
    rng, p, z = _setup()
    with pytest.raises(ValueError, match="probes"):
        f_and_divergence(0.1, z, p, probes=np.ones((6, 3)))
    with pytest.raises(ValueError, match="z"):
        f_and_divergence(0.1, z[0], p)


def test_fast_log_prob_twin_and_gradient():
    from refimpl.ffjord import log_prob
    from refimpl.ffjord.fast import fast_log_prob
    rng = np.random.default_rng(2)
    p = init_concatsquash_dynamics(rng, 2, (8, 8))
    x = rng.standard_normal((10, 2))
    eps = rng.choice([-1.0, 1.0], size=x.shape)
    for kw in ({"trace": "exact"}, {"trace": "hutchinson", "eps": eps}):
        a = fast_log_prob(p, x, t1=0.5, rtol=1e-10, atol=1e-10, **kw)
        b = log_prob(DYN, p, x, t1=0.5, rtol=1e-10, atol=1e-10, **kw)
        assert np.max(np.abs(a - b)) < 1e-8
        g1 = flatten(grad(lambda q: anp.sum(fast_log_prob(q, x, t1=0.5, rtol=1e-9, atol=1e-9, **kw)))(p))[0]
        g2 = flatten(grad(lambda q: anp.sum(log_prob(DYN, q, x, t1=0.5, rtol=1e-9, atol=1e-9, **kw)))(p))[0]
        assert np.max(np.abs(g1 - g2)) < 1e-6 * np.max(np.abs(g2))
    from refimpl.ffjord.fast import _fused_aug
    E = np.broadcast_to(np.eye(2), (10, 2, 2))
    theta = [layer[k] for layer in p for k in ("W", "b", "w_gate", "b_gate", "w_hyper")]
    y = np.concatenate([x, rng.standard_normal((10, 1))], 1)
    check_grads(lambda t, yy, *th: _fused_aug(t, yy, E, *th), modes=["rev"], order=1)(0.2, y, *theta)
    with pytest.raises(ValueError, match="trace"):
        fast_log_prob(p, x, trace="hutchinson")
    with pytest.raises(ValueError, match="t1"):
        fast_log_prob(p, x, t1=0.0)
    with pytest.raises(ValueError, match="x"):
        fast_log_prob(p, np.where(x > 1, np.nan, x))


def test_fast_cnf_log_prob_twin_of_cnf_log_prob():
    # a stack of two blocks with their own end times: values and gradients (weights and the
    # trainable s_k, T_k = s_k²) agree with the autograd twin cnf_log_prob
    from refimpl.ffjord.fast import fast_cnf_log_prob
    rng = np.random.default_rng(3)
    blocks = init_cnf(rng, 2, (6, 5), n_blocks=2, t1=0.4)
    blocks[1]["sqrt_end_time"] = np.array(0.8)
    x = rng.standard_normal((12, 2))
    info = {}
    a = fast_cnf_log_prob(blocks, x, rtol=1e-10, atol=1e-10, info=info)
    b = cnf_log_prob(DYN, blocks, x, rtol=1e-10, atol=1e-10)
    assert np.max(np.abs(a - b)) < 1e-8
    assert len(info["blocks"]) == 2 and all(d["nfev_forward"] > 0 for d in info["blocks"])

    def loss(bl, fast):
        f = fast_cnf_log_prob(bl, x, rtol=1e-9, atol=1e-9) if fast else \
            cnf_log_prob(DYN, bl, x, rtol=1e-9, atol=1e-9)
        return -anp.mean(f)
    g1, g2 = grad(loss)(blocks, True), grad(loss)(blocks, False)
    f1, f2 = flatten(g1)[0], flatten(g2)[0]
    assert np.max(np.abs(f1 - f2)) < 1e-6 * np.max(np.abs(f2))
    assert abs(g1[1]["sqrt_end_time"]) > 1e-3                # the end time does get a gradient
    # Hutchinson: one probe per block from rng; the same draws give the twin's numbers
    h1 = fast_cnf_log_prob(blocks, x, trace="hutchinson", rng=np.random.default_rng(9),
                           rtol=1e-10, atol=1e-10)
    h2 = cnf_log_prob(DYN, blocks, x, trace="hutchinson", rng=np.random.default_rng(9),
                      rtol=1e-10, atol=1e-10)
    assert np.max(np.abs(h1 - h2)) < 1e-8 and np.max(np.abs(h1 - a)) > 1e-3
    with pytest.raises(ValueError, match="rng"):
        fast_cnf_log_prob(blocks, x, trace="hutchinson")
    with pytest.raises(ValueError, match="trace"):
        fast_cnf_log_prob(blocks, x, trace="nope")
    with pytest.raises(ValueError, match="x"):
        fast_cnf_log_prob(blocks, x[0])
