"""The dropped term of the natural gradient (official issue #16), `svae.dropped`.

Anchor: with the local fixed point differentiated implicitly, the total gradient of the
surrogate w.r.t. the global natural parameters (itself checked by finite differences) equals
F(η)·(kept natural gradient + dropped term), F = ∇²logZ the Fisher information of q(θ); the
kept term alone misses it. The batch (8) is smaller than N (100), so a missing N/|B| shows."""
import numpy as onp
import pytest
from autograd import grad, hessian
from autograd.misc import flatten

from refimpl.expfam import dirichlet, niw
from refimpl.svae import dropped, gmm, objective

N, B = 100.0, 8


@pytest.fixture(scope="module")
def problem():
    rng = onp.random.default_rng(0)
    prior, q = gmm.init_global(rng, 3, 2, alpha=0.5, mean_scale=2.0)
    x = 2.0 * rng.standard_normal((B, 2))
    nets = (objective.init_net(rng, 2, 4, (5,)), objective.init_net(rng, 2, 4, (5,)))
    eps = rng.standard_normal((B, 2))
    return prior, q, nets, x, eps


def sym_flat(tree):
    a, (A, *rest) = tree
    return flatten((a, (0.5 * (A + onp.swapaxes(A, -1, -2)), *rest)))[0]


def test_kept_plus_dropped_is_fisher_inverse_total_gradient(problem):
    prior, q, nets, x, eps = problem
    f_q, unflat = flatten(q)
    total = lambda f: objective.surrogate(unflat(f), prior, nets, x, eps, N, exact=True)[0]
    g_tot = sym_flat(unflat(grad(total)(f_q)))
    *_, stats = gmm.local_meanfield(q, objective.recognize(nets[0], x), tol=1e-12, max_iter=1000)
    kept = flatten(objective.natural_gradient(q, prior, stats, N, B))[0]
    drop = flatten(dropped.dropped_term(q, prior, nets, x, eps, N))[0]
    F = hessian(lambda f: dirichlet.logZ(unflat(f)[0]) + niw.logZ(unflat(f)[1]))(f_q)
    onp.testing.assert_allclose(F @ (kept + drop), g_tot, rtol=1e-7, atol=1e-9 * onp.abs(g_tot).max())
    # the term matters here: the kept term alone is off by more than 10 % of the gradient
    assert onp.linalg.norm(F @ kept - g_tot) > 0.1 * onp.linalg.norm(g_tot)


def sym_direction(rng, unflat, n):
    a, (A, *rest) = unflat(rng.standard_normal(n))
    return flatten((a, (A + onp.swapaxes(A, -1, -2), *rest)))[0]


def test_total_gradient_through_the_fixed_point_matches_finite_differences(problem):
    # central differences along random symmetric directions (check_grads would also perturb A
    # antisymmetrically, off the manifold where the Cholesky in sample_z reads one triangle)
    prior, q, nets, x, eps = problem
    f_q, unflat = flatten(q)
    total = lambda f: objective.surrogate(unflat(f), prior, nets, x, eps, N, exact=True)[0]
    g = grad(total)(f_q)
    rng = onp.random.default_rng(3)
    for _ in range(3):
        d = sym_direction(rng, unflat, f_q.size)
        h = 1e-5
        fd = (total(f_q + h * d) - total(f_q - h * d)) / (2 * h)
        onp.testing.assert_allclose(g @ d, fd, rtol=1e-5)


def test_dropped_term_is_the_gradient_through_the_local_optimum_only(problem):
    # central differences of the split surrogate along a random symmetric direction of μ_local
    prior, q, nets, x, eps = problem
    mu = gmm.expected_globals(q)
    f_mu, unflat = flatten(mu)
    assert abs(dropped.split_surrogate(mu, q, prior, nets, x, eps, N)
               - objective.surrogate(q, prior, nets, x, eps, N, exact=True)[0]) < 1e-10
    d = sym_direction(onp.random.default_rng(5), unflat, f_mu.size)
    h = 1e-5
    fd = (dropped.split_surrogate(unflat(f_mu + h * d), q, prior, nets, x, eps, N)
          - dropped.split_surrogate(unflat(f_mu - h * d), q, prior, nets, x, eps, N)) / (2 * h)
    drop = flatten(dropped.dropped_term(q, prior, nets, x, eps, N))[0]
    onp.testing.assert_allclose(drop @ d, fd, rtol=1e-5)
