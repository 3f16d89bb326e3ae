"""Claims about the divergence estimators (FFJORD eqs. 7-8), each checked three ways:
per-probe identity against the full Jacobian, unbiasedness (seeded, standard errors),
variance against its closed form; plus twins and gradient checks."""
import itertools

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, jacobian
from autograd.misc import flatten
from autograd.test_util import check_grads

from refimpl.ffjord import (concatsquash_dynamics, divergence_exact, divergence_hutchinson,
                            draw_noise, hutchinson_variance, init_concatsquash_dynamics,
                            make_concatsquash_dynamics)
from refimpl.testing import (EstimatorCheckError, assert_twins_agree, assert_unbiased,
                             assert_variance_close)

T = 0.37


def _net(seed=0, D=3, hidden=(6, 5), activation="tanh"):
    rng = np.random.default_rng(seed)
    f = make_concatsquash_dynamics(activation)
    return f, init_concatsquash_dynamics(rng, D, hidden), rng.standard_normal((4, D))


def _coupled(t, z, A):
    # a non-MLP dynamics with a non-symmetric, state-dependent Jacobian
    return anp.sin(anp.dot(z, A)) * (1.0 + t) + z[:, ::-1] ** 2


def _jacobians(f, t, z, params):
    return np.stack([jacobian(lambda x: f(t, x[None], params)[0])(zb) for zb in z])   # (B, D, D)


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_exact_divergence_equals_trace_of_full_jacobian(activation):
    f, p, z = _net(activation=activation)
    J = _jacobians(f, T, z, p)
    assert_twins_agree(divergence_exact(f, T, z, p), np.trace(J, axis1=1, axis2=2), atol=1e-14)
    A = np.random.default_rng(1).standard_normal((3, 3))
    J = _jacobians(_coupled, T, z, A)
    assert_twins_agree(divergence_exact(_coupled, T, z, A), np.trace(J, axis1=1, axis2=2), atol=1e-14)


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_forward_jacobian_trace_twin_agrees_in_value_and_gradient(activation):
    f, p, z = _net(activation=activation, D=4, hidden=(7, 3, 5))
    fv, div = f.with_exact_divergence(T, z, p)
    assert_twins_agree(f.with_jacobian(T, z, p)[1], np.transpose(_jacobians(f, T, z, p), (0, 2, 1)),
                       rtol=1e-12, atol=1e-14, name="forward Jacobian vs autograd jacobian")
    assert_twins_agree(fv, f(T, z, p), rtol=1e-13, atol=1e-15)
    assert_twins_agree(div, divergence_exact(f, T, z, p), rtol=1e-12, atol=1e-14)
    g1 = flatten(grad(lambda q: anp.sum(f.with_exact_divergence(T, z, q)[1] ** 2))(p))[0]
    g2 = flatten(grad(lambda q: anp.sum(divergence_exact(f, T, z, q) ** 2))(p))[0]
    assert_twins_agree(g1, g2, rtol=1e-11, atol=1e-13, name="gradient of the trace")


@pytest.mark.parametrize("noise", ["rademacher", "gaussian"])
def test_each_hutchinson_probe_equals_eps_J_eps(noise):
    f, p, z = _net()
    eps = draw_noise(np.random.default_rng(2), z.shape, noise)
    J = _jacobians(f, T, z, p)
    assert_twins_agree(divergence_hutchinson(f, T, z, p, eps),
                       np.einsum("bi,bij,bj->b", eps, J, eps), atol=1e-14)


def test_bottleneck_probe_equals_eps_Jh_Jg_eps():
    f, p, z = _net(D=5, hidden=(2, 6))                  # bottleneck width H = 2 < D = 5
    enc, dec = f.bottleneck
    eps = draw_noise(np.random.default_rng(3), (z.shape[0], 2), "gaussian")
    Jh = np.stack([jacobian(lambda x: enc(T, x[None], p)[0])(zb) for zb in z])          # (B, H, D)
    hz = enc(T, z, p)
    Jg = np.stack([jacobian(lambda x: dec(T, x[None], p)[0])(hb) for hb in hz])         # (B, D, H)
    want = np.einsum("bh,bhd,bdk,bk->b", eps, Jh, Jg, eps)
    assert_twins_agree(divergence_hutchinson(f, T, z, p, eps, bottleneck=f.bottleneck), want, atol=1e-14)
    # Tr(J_g J_h) = Tr(J_h J_g): the H x H trace is the divergence
    assert_twins_agree(np.trace(Jh @ Jg, axis1=1, axis2=2), divergence_exact(f, T, z, p), atol=1e-13)


def _probes(f, p, z0, noise, n, seed, bottleneck=None, H=None):
    """n independent one-probe estimates at the single point z0: (n,)."""
    z = np.repeat(z0[None], n, axis=0)
    eps = draw_noise(np.random.default_rng(seed), (n, H or z.shape[1]), noise)
    return divergence_hutchinson(f, T, z, p, eps, bottleneck=bottleneck)


@pytest.mark.parametrize("noise", ["rademacher", "gaussian"])
@pytest.mark.parametrize("bottleneck", [False, True])
def test_hutchinson_is_unbiased_and_has_closed_form_variance(noise, bottleneck):
    f, p, z = _net(D=5, hidden=(3, 6))
    z0 = z[0]
    exact = float(divergence_exact(f, T, z0[None], p)[0])
    if bottleneck:
        enc, dec = f.bottleneck
        Jh = jacobian(lambda x: enc(T, x[None], p)[0])(z0)
        Jg = jacobian(lambda x: dec(T, x[None], p)[0])(enc(T, z0[None], p)[0])
        A, H, bn = Jh @ Jg, 3, f.bottleneck                # (H, H)
    else:
        A, H, bn = _jacobians(f, T, z0[None], p)[0], None, None
    est = _probes(f, p, z0, noise, 20000, seed=4, bottleneck=bn, H=H)
    assert_unbiased(est[:, None], exact, n_se=4, name=f"{noise} Hutchinson")
    assert_variance_close(est, hutchinson_variance(A, noise), n_se=4, name=f"{noise} variance")


def test_the_statistical_checks_can_fail():
    # a probe with E[εεᵀ] = 1.21 I is biased by 21 %; a wrong variance formula is caught
    f, p, z = _net(D=5, hidden=(3, 6))
    est = 1.21 * _probes(f, p, z[0], "gaussian", 20000, seed=5)
    with pytest.raises(EstimatorCheckError):
        assert_unbiased(est[:, None], float(divergence_exact(f, T, z[:1], p)[0]), n_se=4)
    A = _jacobians(f, T, z[:1], p)[0]
    est = _probes(f, p, z[0], "gaussian", 20000, seed=6)
    with pytest.raises(EstimatorCheckError):
        assert_variance_close(est, np.sum(A * A), n_se=4)            # forgot tr(A²)


def test_rademacher_variance_closed_form_by_enumeration():
    # exact: average over all 2^D sign vectors, no sampling error
    A = np.random.default_rng(7).standard_normal((5, 5))
    vals = np.array([np.array(s) @ A @ np.array(s) for s in itertools.product([-1.0, 1.0], repeat=5)])
    assert abs(vals.mean() - np.trace(A)) < 1e-12
    assert abs(vals.var() - hutchinson_variance(A, "rademacher")) < 1e-12
    # a diagonal matrix has zero Rademacher variance; the Gaussian one is 2 Σ A_ii²
    Dg = np.diag([1.0, -2.0, 3.0])
    assert hutchinson_variance(Dg, "rademacher") == 0.0
    assert hutchinson_variance(Dg, "gaussian") == pytest.approx(2 * 14.0)


@pytest.mark.parametrize("noise", ["rademacher", "gaussian"])
def test_variance_closed_form_on_fixed_matrices(noise):
    # linear dynamics f(z) = z Aᵀ has Jacobian A everywhere
    rng = np.random.default_rng(8)
    for A in (rng.standard_normal((4, 4)), np.triu(rng.standard_normal((4, 4))), np.eye(4)):
        lin = lambda t, z, M: anp.dot(z, M.T)                              # noqa: E731
        est = _probes(lin, A, np.zeros(4), noise, 20000, seed=9)
        assert_unbiased(est[:, None], np.trace(A), n_se=4, min_se=1e-12)
        assert_variance_close(est, hutchinson_variance(A, noise), n_se=4)
    # zero variance where theory says zero: Rademacher probes of a diagonal matrix
    est = _probes(lin, np.diag([1.0, 2.0, -3.0, 0.5]), np.zeros(4), "rademacher", 100, seed=10)
    assert np.ptp(est) == 0.0 and est[0] == pytest.approx(0.5)


def test_draw_noise_moments_and_errors():
    rng = np.random.default_rng(11)
    r = draw_noise(rng, (20000, 3), "rademacher")
    assert set(np.unique(r)) == {-1.0, 1.0} and r.dtype == np.float64
    g = draw_noise(rng, (20000, 3), "gaussian")
    for e in (r, g):
        cov = e.T @ e / len(e)                                  # E[εεᵀ] = I
        assert np.max(np.abs(cov - np.eye(3))) < 5 * np.sqrt(3.0 / len(e))
    with pytest.raises(ValueError, match="noise"):
        draw_noise(rng, (2, 2), "uniform")
    with pytest.raises(ValueError, match="rng"):
        draw_noise(0, (2, 2))
    f, p, z = _net()
    with pytest.raises(ValueError, match="eps"):
        divergence_hutchinson(f, T, z, p, np.ones((4, 2)))
    with pytest.raises(ValueError, match="z"):
        divergence_exact(f, T, z[0], p)
    with pytest.raises(ValueError, match="A"):
        hutchinson_variance(np.ones((2, 3)))


def test_estimators_are_differentiable_wrt_params_and_z():
    np.random.seed(0)
    f, p, z = _net(D=2, hidden=(4,))
    eps = draw_noise(np.random.default_rng(12), z.shape)
    check_grads(lambda q: divergence_exact(f, T, z, q), modes=["rev"], order=2)(p)
    check_grads(lambda q: divergence_hutchinson(f, T, z, q, eps), modes=["rev"], order=1)(p)
    check_grads(lambda zz: divergence_hutchinson(f, T, zz, p, eps), modes=["rev"], order=1)(z)
    check_grads(lambda q: concatsquash_dynamics.with_exact_divergence(T, z, q)[1],
                modes=["rev"], order=2)(p)


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_mlp_fast_path_twin_and_log_prob(activation):
    # refimpl.ode's time-concatenated MLP dynamics: forward-Jacobian trace vs D VJPs, and
    # log_prob uses it (exact) or goes through its hand-written VJP primitive (Hutchinson)
    from refimpl.ode import init_mlp_dynamics, mlp_dynamics
    from refimpl.ffjord import log_prob, mlp_with_exact_divergence
    rng = np.random.default_rng(13)
    dyn, p = mlp_dynamics(activation), init_mlp_dynamics(rng, 3, (6, 5))
    z = rng.standard_normal((4, 3))
    f, div = mlp_with_exact_divergence(activation, T, z, p)
    assert_twins_agree(f, dyn.reference(T, z, p), rtol=1e-13, atol=1e-15)
    assert_twins_agree(div, divergence_exact(dyn.reference, T, z, p), rtol=1e-12, atol=1e-14)
    J = _jacobians(dyn, T, z, p)
    eps = draw_noise(rng, z.shape, "gaussian")
    assert_twins_agree(divergence_hutchinson(dyn, T, z, p, eps),
                       np.einsum("bi,bij,bj->b", eps, J, eps), rtol=1e-12, atol=1e-14)
    kw = dict(t1=0.5, rtol=1e-9, atol=1e-9)
    fast = log_prob(dyn, p, z, **kw)
    plain = log_prob(dyn.reference, p, z, **kw)                # generic D-VJP path
    assert_twins_agree(fast, plain, rtol=1e-7, atol=1e-8, name="log_prob fast vs plain")
    g1 = flatten(grad(lambda q: anp.sum(log_prob(dyn, q, z, **kw)))(p))[0]
    g2 = flatten(grad(lambda q: anp.sum(log_prob(dyn.reference, q, z, **kw)))(p))[0]
    assert_twins_agree(g1, g2, rtol=1e-6, atol=1e-7, name="gradient fast vs plain")
