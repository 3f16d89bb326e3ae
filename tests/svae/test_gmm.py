"""GMM SVAE: the mean-field fixed point decreases the local KL; with δ-like recognition
potentials a full-batch natural-gradient step of size 1 is the classic VB-GMM update
(Bishop 2006, Sec. 10.2, written independently here); check_grads on the surrogate."""
import autograd.numpy as np
import numpy as onp
from autograd.test_util import check_grads
from scipy.special import digamma

from refimpl.expfam import niw
from refimpl.svae import gmm, objective
from refimpl.svae.data import adjusted_rand_index, make_pinwheel


def setup(K=4, D=2, N=60, seed=0):
    rng = onp.random.default_rng(seed)
    prior, q = gmm.init_global(rng, K, D, alpha=0.5, mean_scale=2.0)
    # components with different scales and degrees of freedom, so that E log|Σ_k| and
    # E[Σ_k⁻¹] differ between components (with equal ones a dropped term would cancel)
    S, m, kap, nu = niw.natural_to_standard(q[1])
    S = S * (0.5 + 2 * rng.random(K))[:, None, None]
    q = (q[0] + rng.random(K), niw.standard_to_natural(S, m, kap + rng.random(K), nu + 3 * rng.random(K)))
    y = 2.0 * rng.standard_normal((N, D))
    return rng, prior, q, y


def test_fixed_point_decreases_local_kl_monotonically():
    rng, prior, q, y = setup()
    psi = (onp.tile(onp.eye(2), (len(y), 1, 1)) * 2.0, 2.0 * y)
    trace = []
    gmm.meanfield_fixed_point(*gmm.expected_globals(q), psi, tol=1e-12, max_iter=30, trace=trace)
    d = onp.diff(trace)
    assert len(trace) > 3 and onp.all(d <= 1e-8 * onp.abs(trace[:-1]).max())
    assert d[0] < 0


def classic_vb_gmm(prior, q, y):
    """Bishop Sec. 10.2 in standard parameters: responsibilities from E log π_k and
    E log N(y | μ_k, Λ_k⁻¹) = ½ E log|Λ_k| − D/(2κ_k) − ν_k/2 (y − m_k)ᵀ W_k (y − m_k) − D/2 log 2π,
    then α = α0 + N_k, κ = κ0 + N_k, m = (κ0 m0 + N_k ȳ)/κ, ν = ν0 + N_k,
    S = S0 + Σ r yyᵀ + κ0 m0 m0ᵀ − κ m mᵀ."""
    D = y.shape[1]
    alpha = q[0] + 1
    S, m, kap, nu = niw.natural_to_standard(q[1])
    W = onp.linalg.inv(S)
    Elogdet = onp.array([sum(digamma((nu[k] + 1 - i) / 2) for i in range(1, D + 1)) + D * onp.log(2)
                         + onp.linalg.slogdet(W[k])[1] for k in range(len(alpha))])
    diff = y[:, None, :] - m[None]
    logr = (digamma(alpha) - digamma(alpha.sum()) + 0.5 * Elogdet - D / (2 * kap)
            - 0.5 * nu * onp.einsum("nki,kij,nkj->nk", diff, W, diff) - 0.5 * D * onp.log(2 * onp.pi))
    r = onp.exp(logr - logr.max(1, keepdims=True))
    r /= r.sum(1, keepdims=True)
    Nk = r.sum(0)
    S0, m0, k0, nu0 = niw.natural_to_standard(prior[1])
    kn = k0 + Nk
    mn = (k0[:, None] * m0 + r.T @ y) / kn[:, None]
    Sn = (S0 + onp.einsum("nk,ni,nj->kij", r, y, y) + k0[:, None, None] * onp.einsum("ki,kj->kij", m0, m0)
          - kn[:, None, None] * onp.einsum("ki,kj->kij", mn, mn))
    return prior[0] + 1 + Nk, (Sn, mn, kn, nu0 + Nk), r


def test_natgrad_step_one_is_classic_vb_update():
    rng, prior, q, y = setup()
    N = len(y)
    psi = (onp.tile(1e8 * onp.eye(2), (N, 1, 1)), 1e8 * y)  # q(z) ≈ δ_y
    *_, stats = gmm.local_meanfield(q, psi, tol=1e-14, max_iter=1)
    ng = objective.natural_gradient(q, prior, stats, N, N)
    new = tuple(a for a in [q[0] + N * ng[0]]) + (tuple(a + N * b for a, b in zip(q[1], ng[1])),)
    alpha, (S, m, kap, nu), _ = classic_vb_gmm(prior, q, y)
    onp.testing.assert_allclose(new[0] + 1, alpha, rtol=1e-6)
    for a, b in zip(niw.natural_to_standard(new[1]), (S, m, kap, nu)):
        onp.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_check_grads_surrogate_at_converged_fixed_point():
    rng, prior, q, _ = setup(K=3, N=8)
    x = rng.standard_normal((8, 3))
    nets = (objective.init_net(rng, 3, 4, (5,)), objective.init_net(rng, 2, 6, (5,)))
    from autograd.misc import flatten
    flat, unflat = flatten(nets)
    eps = rng.standard_normal((8, 2))
    # the exact surrogate (r* differentiated implicitly) passes a finite-difference check
    f = lambda w: objective.surrogate(q, prior, unflat(w), x, eps, 100, exact=True)[0]
    check_grads(f, modes=["rev"], order=1)(flat)
    # the official one-pass gradient drops (dL/dr*)(dr*/dphi): it differs from the total one
    from autograd import grad
    g1 = grad(lambda w: objective.surrogate(q, prior, unflat(w), x, eps, 100)[0])(flat)
    ge = grad(f)(flat)
    rel = onp.linalg.norm(g1 - ge) / onp.linalg.norm(ge)
    assert 1e-6 < rel < 1.0


def test_pinwheel_and_ari():
    rng = onp.random.default_rng(0)
    X, lab = make_pinwheel(rng)
    assert X.shape == (500, 2) and onp.abs(X).max() > 5 and not onp.all(onp.diff(lab) >= 0)
    assert adjusted_rand_index(lab, lab) == 1.0
    assert abs(adjusted_rand_index(lab, rng.permutation(lab))) < 0.05
    assert adjusted_rand_index(lab, (lab + 1) % 5) == 1.0


def test_data_bound_is_the_mixture_log_density_under_a_concentrated_posterior():
    # q(θ) concentrated on (w, μ, Σ): the bound + KL(q‖p)/N → mean log Σ_k w_k N(x | μ_k, Σ_k)
    from scipy.stats import multivariate_normal
    rng, prior, _, y = setup()
    K, D, c = 4, 2, 1e7
    w = onp.array([0.1, 0.2, 0.3, 0.4])
    mu = 2.0 * rng.standard_normal((K, D))
    Sig = onp.stack([onp.diag(0.5 + rng.random(D)) + 0.2 for _ in range(K)])
    q = (c * w, niw.standard_to_natural(c * Sig, mu, onp.full(K, c), onp.full(K, c)))
    ref = onp.log(sum(w[k] * multivariate_normal(mu[k], Sig[k]).pdf(y) for k in range(K))).mean()
    got = gmm.data_bound(q, prior, y) + gmm.global_kl(q, prior) / len(y)
    assert abs(got - ref) < 1e-4, (got, ref)
