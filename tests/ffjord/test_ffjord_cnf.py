"""Claims about the CNF log-density and sampler (FFJORD eq. 4) built on refimpl.ode.odeint:
closed form for linear dynamics, normalisation on a grid, round trips, gradient checks."""
import autograd.numpy as anp
import numpy as np
import pytest
import scipy.linalg
from autograd import grad
from autograd.misc import flatten
from autograd.test_util import check_grads

from refimpl.ffjord import (cnf_log_prob, cnf_sample, concatsquash_dynamics, draw_noise,
                            end_time, flow, init_cnf, init_concatsquash_dynamics, log_prob,
                            sample, standard_normal_logprob)
from refimpl.testing import assert_close_in_tolerance_units, assert_twins_agree

RTOL = ATOL = 1e-8


def linear(t, z, A):
    return anp.dot(z, A.T)                                         # dz/dt = A z, row-wise


def _linear_closed_form(A, x, t1, trace_term):
    # z(t1) = expm(A t1) x;  log p(x) = log N(z(t1)) + t1 * tr(A)   (Liouville)
    z1 = x @ scipy.linalg.expm(A * t1).T
    return standard_normal_logprob(z1) + t1 * trace_term


@pytest.mark.parametrize("gradient", ["adjoint", "backprop"])
def test_linear_dynamics_log_prob_matches_closed_form(gradient):
    rng = np.random.default_rng(0)
    A = 0.7 * rng.standard_normal((3, 3))
    x = rng.standard_normal((5, 3))
    lp = log_prob(linear, A, x, t1=0.8, rtol=RTOL, atol=ATOL, gradient=gradient)
    want = _linear_closed_form(A, x, 0.8, np.trace(A))
    assert_close_in_tolerance_units(lp, want, RTOL, ATOL, max_units=5, name="linear log_prob")
    # the Hutchinson version with a fixed probe is exact too, with εᵀAε in place of tr(A)
    eps = draw_noise(rng, x.shape, "gaussian")
    lp = log_prob(linear, A, x, t1=0.8, trace="hutchinson", eps=eps, rtol=RTOL, atol=ATOL)
    want = _linear_closed_form(A, x, 0.8, np.einsum("bi,ij,bj->b", eps, A, eps))
    assert_close_in_tolerance_units(lp, want, RTOL, ATOL, max_units=5, name="Hutchinson linear")


def test_linear_gradients_match_closed_form():
    rng = np.random.default_rng(1)
    A = 0.5 * rng.standard_normal((2, 2))
    x = rng.standard_normal((4, 2))

    def exact(A, x, t1):
        return anp.sum(standard_normal_logprob(anp.dot(x, _expm_autograd(A * t1).T)) + t1 * anp.trace(A))

    got = grad(lambda a, xx, t: anp.sum(log_prob(linear, a, xx, t1=t, rtol=1e-10, atol=1e-10)),
               argnum=(0, 1, 2))(A, x, 0.6)
    want = grad(exact, argnum=(0, 1, 2))(A, x, 0.6)
    for g, w, name in zip(got, want, ["A", "x", "t1"]):
        assert_twins_agree(g, w, rtol=1e-6, atol=1e-8, name=f"d log p / d {name}")


def _expm_autograd(M, order=30):
    # Taylor series with scaling and squaring, differentiable by autograd (M small)
    s = 4
    Ms = M / 2.0 ** s
    E, term = anp.eye(M.shape[0]), anp.eye(M.shape[0])
    for k in range(1, order):
        term = anp.dot(term, Ms) / k
        E = E + term
    for _ in range(s):
        E = anp.dot(E, E)
    return E


def _density_grid_integral(dyn, params, t1, rtol, lim=6.0, n=80):
    xs = np.linspace(-lim, lim, n)
    X, Y = np.meshgrid(xs, xs)
    pts = np.stack([X.ravel(), Y.ravel()], axis=1)                 # (n², 2)
    lp = log_prob(dyn, params, pts, t1=t1, rtol=rtol, atol=rtol)
    h = xs[1] - xs[0]
    return float(np.sum(np.exp(lp)) * h * h)                       # trapezoid (tails ~ 0)


def _bumpy_cnf():
    params = init_concatsquash_dynamics(np.random.default_rng(2), 2, (16, 16))
    return [dict(layer, W=2.0 * layer["W"]) for layer in params]   # far from the identity map


def test_2d_cnf_density_integrates_to_one():
    # FFJORD App. C: numerical integration of the model density over the plane.
    params = _bumpy_cnf()
    err_tight = abs(_density_grid_integral(concatsquash_dynamics, params, 1.5, 1e-6) - 1.0)
    err_loose = abs(_density_grid_integral(concatsquash_dynamics, params, 1.5, 1e-3) - 1.0)
    assert err_tight < 1e-6                    # quadrature + tail + solver error at 1e-6
    assert err_loose < 1e-3                    # a loose solve is off by O(tolerance) only
    assert err_tight < err_loose


def test_sample_round_trip_and_change_of_variables():
    rng = np.random.default_rng(3)
    params = init_concatsquash_dynamics(rng, 2, (16, 16))
    z1 = rng.standard_normal((6, 2))
    x, dlogp = sample(concatsquash_dynamics, params, z1, t1=0.9, rtol=RTOL, atol=ATOL,
                      return_delta_logp=True)
    assert_twins_agree(x, sample(concatsquash_dynamics, params, z1, t1=0.9, rtol=RTOL, atol=ATOL),
                       rtol=1e-6, atol=1e-7, name="sample with and without Δlog p")
    lp = log_prob(concatsquash_dynamics, params, x, t1=0.9, rtol=RTOL, atol=ATOL)
    # log p(x) = log N(z1) - Δlog p accumulated along the same path
    assert_close_in_tolerance_units(lp, standard_normal_logprob(z1) - dlogp, 10 * RTOL, 10 * ATOL,
                                    name="round-trip log-density")


@pytest.mark.parametrize("trace", ["exact", "hutchinson"])
def test_log_prob_gradient_check_wrt_params_fixed_noise(trace):
    np.random.seed(0)
    rng = np.random.default_rng(4)
    params = init_concatsquash_dynamics(rng, 2, (5,))
    x = rng.standard_normal((3, 2))
    eps = draw_noise(rng, x.shape, "rademacher")
    f = lambda p: log_prob(concatsquash_dynamics, p, x, t1=0.5, trace=trace, eps=eps,  # noqa: E731
                           rtol=1e-10, atol=1e-10)
    check_grads(f, modes=["rev"], order=1)(params)
    # and with respect to the data x
    check_grads(lambda xx: log_prob(concatsquash_dynamics, params, xx, t1=0.5, trace=trace,
                                    eps=eps, rtol=1e-10, atol=1e-10), modes=["rev"], order=1)(x)


def test_noise_is_drawn_once_per_solve_and_seeded():
    params = init_concatsquash_dynamics(np.random.default_rng(5), 2, (8,))
    x = np.random.default_rng(6).standard_normal((4, 2))
    kw = dict(t1=0.5, trace="hutchinson", rtol=1e-8, atol=1e-8)
    a = log_prob(concatsquash_dynamics, params, x, rng=np.random.default_rng(7), **kw)
    b = log_prob(concatsquash_dynamics, params, x, rng=np.random.default_rng(7), **kw)
    eps = draw_noise(np.random.default_rng(7), x.shape, "rademacher")
    c = log_prob(concatsquash_dynamics, params, x, eps=eps, **kw)
    assert np.array_equal(a, b) and np.array_equal(a, c)
    with pytest.raises(ValueError, match="rng"):
        log_prob(concatsquash_dynamics, params, x, t1=0.5, trace="hutchinson")
    with pytest.raises(ValueError, match="trace"):
        log_prob(concatsquash_dynamics, params, x, trace="brute")
    with pytest.raises(ValueError, match="t1"):
        log_prob(concatsquash_dynamics, params, x, t1=-1.0)
    with pytest.raises(ValueError, match="x"):
        log_prob(concatsquash_dynamics, params, x[0])


def test_stack_with_trainable_end_times():
    rng = np.random.default_rng(8)
    blocks = init_cnf(rng, 2, (8,), n_blocks=2, t1=0.4)
    x = rng.standard_normal((5, 2))
    kw = dict(rtol=1e-9, atol=1e-9)
    lp = cnf_log_prob(concatsquash_dynamics, blocks, x, **kw)
    # a stack equals composing the blocks by hand
    z, total = x, 0.0
    for b in blocks:
        lp_b = log_prob(concatsquash_dynamics, b["net"], z, t1=end_time(b), **kw)
        z, d = flow(concatsquash_dynamics, b["net"], z, t1=end_time(b), **kw)
        total = total + d
        assert_twins_agree(lp_b, standard_normal_logprob(z) - d, rtol=1e-12, atol=1e-12)
    assert_twins_agree(lp, standard_normal_logprob(z) - total, rtol=1e-12, atol=1e-12)
    # sampling inverts the stack
    back = cnf_sample(concatsquash_dynamics, blocks, z, **kw)
    assert_twins_agree(back, x, rtol=1e-6, atol=1e-6, name="stack round trip")
    # the end time gets a gradient, and it matches a finite difference
    g = grad(lambda bl: anp.sum(cnf_log_prob(concatsquash_dynamics, bl, x, **kw)))(blocks)
    s0 = float(blocks[0]["sqrt_end_time"])
    h = 1e-5

    def with_s(s):
        bl = [dict(blocks[0], sqrt_end_time=np.array(s)), blocks[1]]
        return float(np.sum(cnf_log_prob(concatsquash_dynamics, bl, x, **kw)))
    fd = (with_s(s0 + h) - with_s(s0 - h)) / (2 * h)
    assert abs(float(g[0]["sqrt_end_time"]) - fd) < 1e-5 * (1 + abs(fd))
    assert np.all(np.isfinite(flatten(g)[0]))


@pytest.mark.parametrize("noise", ["rademacher", "gaussian"])
@pytest.mark.parametrize("bottleneck", [False, True])
def test_hutchinson_log_prob_is_unbiased(noise, bottleneck):
    # log p̂(x) = log N(z(t1)) + ∫ εᵀ J ε dt is linear in the probe: its mean is log p(x)
    from refimpl.testing import assert_unbiased
    rng = np.random.default_rng(11)
    params = [dict(layer, W=3.0 * layer["W"])                            # |Δlog p| ~ 0.1, not ~1e-3
              for layer in init_concatsquash_dynamics(rng, 3, (2, 8))]  # bottleneck H = 2 < D = 3
    x = rng.standard_normal((2, 3))
    kw = dict(t1=0.7, rtol=1e-8, atol=1e-8)
    exact = log_prob(concatsquash_dynamics, params, x, **kw)
    n = 1500
    xs = np.repeat(x, n, axis=0)                                         # one probe per row
    est = log_prob(concatsquash_dynamics, params, xs, trace="hutchinson", noise=noise,
                   rng=rng, bottleneck=concatsquash_dynamics.bottleneck if bottleneck else None, **kw)
    est = est.reshape(2, n).T                                            # (n, 2)
    assert_unbiased(est, exact, n_se=4, name=f"{noise} log p estimate")
    # power: dropping the trace term (or flipping its sign) would be off by > 8 (16) SE
    se = est.std(axis=0, ddof=1) / np.sqrt(n)
    _, dlogp = flow(concatsquash_dynamics, params, x, **kw)
    assert np.all(np.abs(dlogp) > 8 * se) and np.all(se > 1e-5)          # and really stochastic


def test_fixed_probe_log_prob_error_is_quadratic_form_of_integrated_jacobian():
    # log p̂(x) - log p(x) = εᵀMε - tr M with M = ∫_0^t1 J(z(t), t) dt: the closed form behind
    # the variance of the log-likelihood estimate (used by the trace-estimators experiment)
    from refimpl.ffjord.experiments import _integrated_jacobian
    rng = np.random.default_rng(10)
    blocks = init_cnf(rng, 4, (3, 8), t1=0.5)
    x = rng.standard_normal((5, 4))
    M = _integrated_jacobian(blocks[0], x, 1e-9)                          # (5, 4, 4)
    kw = dict(t1=0.5, rtol=1e-9, atol=1e-9)
    exact = log_prob(concatsquash_dynamics, blocks[0]["net"], x, **kw)
    for noise in ("rademacher", "gaussian"):
        eps = draw_noise(rng, x.shape, noise)
        est = log_prob(concatsquash_dynamics, blocks[0]["net"], x, trace="hutchinson", eps=eps, **kw)
        want = exact + np.einsum("bi,bij,bj->b", eps, M, eps) - np.trace(M, axis1=1, axis2=2)
        assert_twins_agree(est, want, rtol=1e-7, atol=1e-7, name=f"{noise} fixed-probe log p")
