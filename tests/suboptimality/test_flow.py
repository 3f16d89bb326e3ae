"""The auxiliary flow's log-determinant against a brute-force Jacobian, and its bound."""
import autograd.numpy as anp
import numpy as np
from autograd import jacobian
from autograd.test_util import check_grads
import pytest

from refimpl.suboptimality.flow import flow_forward, flow_log_weights, init_flow


def test_log_determinant_equals_a_brute_force_jacobian():
    rng = np.random.default_rng(0)
    D = 3
    params = init_flow(rng, D, n_steps=2, hidden=7, scale=0.5)         # far from identity
    z, v = rng.standard_normal(D), rng.standard_normal(D)

    def f(u):                                                         # (2D,) -> (2D,)
        zK, vK, _ = flow_forward(params, u[None, :D], u[None, D:])
        return anp.concatenate([zK[0], vK[0]])
    J = jacobian(f)(np.concatenate([z, v]))
    _, _, logdet = flow_forward(params, z[None], v[None])
    assert abs(logdet[0] - np.linalg.slogdet(J)[1]) < 1e-10


def test_local_weights_broadcast_per_datapoint():
    rng = np.random.default_rng(1)
    B, D = 4, 2
    p = init_flow(rng, D, n_steps=1, hidden=5, n_local=B, scale=0.3)
    z, v = rng.standard_normal((B, D)), rng.standard_normal((B, D))
    zK, vK, ld = flow_forward(p, z, v)
    assert p["v0"]["mean"].shape == (B, D)                            # a learned q(v_0) per datapoint
    for b in range(B):                                                # datapoint b uses its own weights
        pb = {k: ([[(W[b], c[b]) for W, c in mlp] for mlp in val] if k != "r" else [(W[b], c[b]) for W, c in val])
              for k, val in p.items() if k != "v0"}
        zb, vb, lb = flow_forward(pb, z[b:b + 1], v[b:b + 1])
        np.testing.assert_allclose(zb[0], zK[b], rtol=1e-12)
        np.testing.assert_allclose(lb[0], ld[b], rtol=1e-12)


def test_the_bound_is_a_lower_bound_and_differentiable():
    rng = np.random.default_rng(2)
    B, D = 3, 2

    def log_joint(z):                                                 # a Gaussian target: log p(x) = 0
        return anp.sum(-0.5 * (z - 1.0) ** 2 - 0.5 * np.log(2 * np.pi), -1)
    p = init_flow(rng, D, n_steps=1, hidden=4, scale=0.1)
    eps_z, eps_v = rng.standard_normal((2000, B, D)), rng.standard_normal((2000, B, D))
    lw = flow_log_weights(p, log_joint, np.zeros((B, D)), np.zeros((B, D)), eps_z, eps_v)
    assert lw.shape == (2000, B) and np.all(lw.mean(0) < 0.0)           # ELBO < log p(x) = 0
    check_grads(lambda m: anp.sum(flow_log_weights(p, log_joint, m, np.zeros((B, D)), eps_z[:3], eps_v[:3])),
                modes=["rev"], order=1)(rng.standard_normal((B, D)))


def test_conditioned_flow_log_determinant_and_dependence_on_x():
    """The amortised flow reads encoder features h(x): its log-determinant (for fixed x) still
    equals the brute-force Jacobian's, and changing h(x_b) changes datapoint b's weights only."""
    rng = np.random.default_rng(3)
    B, D, C = 3, 2, 4
    p = init_flow(rng, D, n_steps=2, hidden=6, scale=0.5, ctx_dim=C)
    assert "qv" in p and len(p["r"][0]) == 3                          # q(v_0|x, z_0) and r(v|x, z)
    ctx = rng.standard_normal((B, C))
    z, v = rng.standard_normal(D), rng.standard_normal(D)

    def f(u):
        zK, vK, _ = flow_forward(p, u[None, :D], u[None, D:], ctx[:1])
        return anp.concatenate([zK[0], vK[0]])
    J = jacobian(f)(np.concatenate([z, v]))
    assert abs(flow_forward(p, z[None], v[None], ctx[:1])[2][0] - np.linalg.slogdet(J)[1]) < 1e-10

    def log_joint(zz):
        return anp.sum(-0.5 * zz ** 2, -1)
    ez, ev = rng.standard_normal((5, B, D)), rng.standard_normal((5, B, D))
    m, s = rng.standard_normal((B, D)), 0.1 * rng.standard_normal((B, D))
    lw = flow_log_weights(p, log_joint, m, s, ez, ev, ctx)
    ctx2 = ctx.copy()
    ctx2[1] += 1.0
    lw2 = flow_log_weights(p, log_joint, m, s, ez, ev, ctx2)
    assert np.all(np.abs(lw2[:, 1] - lw[:, 1]) > 1e-6)
    np.testing.assert_array_equal(lw2[:, [0, 2]], lw[:, [0, 2]])
    with pytest.raises(ValueError, match="ctx"):
        flow_log_weights(p, log_joint, m, s, ez, ev)
    check_grads(lambda q: anp.sum(flow_log_weights(q, log_joint, m, s, ez, ev, ctx)), modes=["rev"], order=1)(p)


def test_learned_q_v0_enters_the_bound_as_a_density():
    """With r = q(v_0) and an identity-like flow the v-terms cancel: for a flow whose
    coupling outputs are zero except log σ → large (σ → 1), log w = log p(x, z) − log q(z|x) for
    any learned q(v_0) = N(m, s) when r(v|z) = N(m, s) too."""
    rng = np.random.default_rng(4)
    B, D = 2, 3
    p = init_flow(rng, D, n_steps=1, hidden=4, n_local=B, scale=0.0)
    for key in ("f1", "f2"):
        (W1, b1), (W2, b2) = p[key][0]
        b2 = b2.copy()
        b2[:, :D] = 40.0                                              # σ = sigmoid(40) ≈ 1, μ = 0
        p[key][0] = [(W1, b1), (W2, b2)]
    m, ls = rng.standard_normal((B, D)), 0.2 * rng.standard_normal((B, D))
    p["v0"] = {"mean": m, "log_std": ls}
    (W1, b1), (W2, b2) = p["r"]
    p["r"] = [(W1, b1), (W2, np.concatenate([ls, m], -1))]           # r(v|z) = N(m, exp(ls)): (log std, mean)

    def log_joint(zz):
        return anp.sum(-0.5 * (zz - 1.0) ** 2, -1)
    mz, sz = rng.standard_normal((B, D)), 0.1 * rng.standard_normal((B, D))
    ez, ev = rng.standard_normal((7, B, D)), rng.standard_normal((7, B, D))
    z = mz + np.exp(sz) * ez
    expect = log_joint(z) - np.sum(-0.5 * ez ** 2 - sz - 0.5 * np.log(2 * np.pi), -1)
    np.testing.assert_allclose(flow_log_weights(p, log_joint, mz, sz, ez, ev), expect, atol=1e-12)
