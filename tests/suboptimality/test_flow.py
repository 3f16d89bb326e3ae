"""The auxiliary flow's log-determinant against a brute-force Jacobian, and its bound."""
import autograd.numpy as anp
import numpy as np
from autograd import jacobian
from autograd.test_util import check_grads

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
    for b in range(B):                                                # datapoint b uses its own weights
        pb = {k: ([[(W[b], c[b]) for W, c in mlp] for mlp in val] if k != "r" else [(W[b], c[b]) for W, c in val])
              for k, val in p.items()}
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
