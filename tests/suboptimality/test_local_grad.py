"""The hand-written local-bound gradients against their autograd twins (value and every leaf)."""
import numpy as np
import pytest
from autograd import value_and_grad
from autograd.misc import flatten

from refimpl.suboptimality.flow import flow_log_weights, init_flow
from refimpl.suboptimality.gaps import log_joint_fn
from refimpl.suboptimality.local_grad import ffg_value_and_grad, flow_value_and_grad, log_joint_and_grad
from refimpl.suboptimality.qstar import _neg_elbo_sum
from refimpl.vi.vae import init_vae


def _problem(B=3, D=2, P=7, seed=0):
    rng = np.random.default_rng(seed)
    params = init_vae(rng, P, D, hidden=(6, 5))
    x = (rng.random((B, P)) < 0.4).astype(float)
    return rng, params, x


def test_log_joint_and_grad_matches_autograd():
    rng, params, x = _problem()
    z = rng.standard_normal((3, 4, 2))                                  # (B, S, D)
    lj = log_joint_fn(params, x)
    ref = lambda zz: lj(np.swapaxes(zz, 0, 1)).T                        # (B, S, D) -> (B, S)
    val, g = log_joint_and_grad(params["dec"], x)(z)
    np.testing.assert_allclose(val, ref(z), rtol=1e-12)
    from autograd import elementwise_grad
    np.testing.assert_allclose(g, elementwise_grad(lambda zz: ref(zz))(z), rtol=1e-10, atol=1e-12)


def test_ffg_value_and_grad_matches_autograd():
    rng, params, x = _problem()
    mean, log_std = rng.standard_normal((3, 2)), 0.3 * rng.standard_normal((3, 2))
    eps = rng.standard_normal((5, 3, 2))
    lj = log_joint_fn(params, x)
    v_ref, g_ref = value_and_grad(lambda p: _neg_elbo_sum(p, lj, eps))((mean, log_std))
    v, g = ffg_value_and_grad(log_joint_and_grad(params["dec"], x))((mean, log_std), eps)
    np.testing.assert_allclose(v, v_ref, rtol=1e-12)
    np.testing.assert_allclose(flatten(g)[0], flatten(g_ref)[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("steps", [1, 2])
def test_flow_value_and_grad_matches_autograd(steps):
    rng, params, x = _problem(B=3, D=3, seed=1)
    B, D = 3, 3
    p = {"flow": init_flow(rng, D, n_steps=steps, hidden=4, n_local=B, scale=0.5),
         "mean": rng.standard_normal((B, D)), "log_std": 0.3 * rng.standard_normal((B, D))}
    for layers in p["flow"]["f1"] + p["flow"]["f2"] + [p["flow"]["r"]]:    # non-zero biases everywhere
        for i, (W, b) in enumerate(layers):
            layers[i] = (W, 0.3 * rng.standard_normal(b.shape))
    p["flow"]["v0"] = {"mean": rng.standard_normal((B, D)), "log_std": 0.3 * rng.standard_normal((B, D))}
    noise = (rng.standard_normal((4, B, D)), rng.standard_normal((4, B, D)))
    lj = log_joint_fn(params, x)
    v_ref, g_ref = value_and_grad(
        lambda q: -np.sum(np.mean(flow_log_weights(q["flow"], lj, q["mean"], q["log_std"], *noise), axis=0)))(p)
    v, g = flow_value_and_grad(log_joint_and_grad(params["dec"], x))(p, noise)
    np.testing.assert_allclose(v, v_ref, rtol=1e-12)
    gf, _ = flatten(g)
    gr, _ = flatten(g_ref)
    assert gf.shape == gr.shape
    np.testing.assert_allclose(gf, gr, rtol=1e-8, atol=1e-11)
