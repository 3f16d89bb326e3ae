"""LDS SVAE: the local KL and the expected log prior against Monte Carlo over θ ~ q(θ) with dense
Gaussians; the natural-gradient statistics against the dense posterior; natural gradient =
Fisher⁻¹ × ordinary gradient of the conjugate part; check_grads on the surrogate."""
import numpy as onp
from autograd import grad
from autograd.misc import flatten
from autograd.test_util import check_grads

from refimpl.expfam import gaussian, mniw, niw
from refimpl.svae import lds, lds_svae


def rand_spd(rng, D, jitter=0.5):
    X = rng.standard_normal((D, D))
    return X @ X.T + jitter * onp.eye(D)


def random_global(rng, D):
    """A q(θ) away from the prior: NIW and MNIW with random standard parameters."""
    A = rng.standard_normal((D, D))
    A = 0.8 * A / max(abs(onp.linalg.eigvals(A)))
    return (niw.standard_to_natural(rand_spd(rng, D), rng.standard_normal(D), 0.8, D + 4.0),
            mniw.standard_to_natural(D + 6.0, rand_spd(rng, D), A, 0.3 * rand_spd(rng, D)))


def random_potentials(rng, B, T, D):
    return (onp.stack([[onp.diag(rng.random(D) + 0.2) for _ in range(T)] for _ in range(B)]),
            3 * rng.standard_normal((B, T, D)))


def dense_prior(mu0, Sig0, A, Q, T):
    """(J, h, logZ) of p(x | θ) as one (TD)-dimensional Gaussian."""
    D = len(mu0)
    P0 = onp.linalg.inv(Sig0)
    J, h = lds.dense_information((P0, P0 @ mu0), A, Q, onp.zeros((T, D, D)), onp.zeros((T, D)))
    return J, h


def test_local_kl_and_expected_log_prior_match_monte_carlo():
    rng = onp.random.default_rng(0)
    B, T, D = 1, 4, 2
    eta = random_global(rng, D)
    psi = random_potentials(rng, B, T, D)
    _, kl_local, stats = lds_svae.local_inference(eta, psi, onp.zeros((B, T, D)))
    init, pair, _, _ = lds_svae.expected_potentials(eta)
    Jq, hq = lds.dense_information_natural(init, pair, psi[0][0], psi[1][0])
    Sq = onp.linalg.inv(Jq)
    mq = Sq @ hq
    kls, elps = [], []
    for _ in range(3000):
        mu0, Sig0 = niw.sample(rng, eta[0])
        A, Q = mniw.sample(rng, eta[1])
        Jp, hp = dense_prior(mu0, Sig0, A, Q, T)
        kls.append(gaussian.kl((Jq, hq), (Jp, hp)))
        # E_q(x) log p(x | θ) = −½ tr(Jp E[xxᵀ]) + hpᵀ E[x] − logZ(Jp, hp)
        elps.append(-0.5 * onp.sum(Jp * (Sq + onp.outer(mq, mq))) + hp @ mq - gaussian.logZ((Jp, hp)))
    kls, elps = onp.array(kls), onp.array(elps)
    # 4 Monte Carlo standard errors (std/√3000)
    assert abs(kls.mean() - kl_local[0]) < 4 * kls.std() / onp.sqrt(len(kls))
    # log p(x | θ) = <t(θ), t(x)> − (TD/2) log 2π, so its expectation pairs E_q t(θ) with E_q t(x)
    stat_elp = (onp.dot(flatten(lds_svae.prior_expected_stats(eta))[0], flatten(stats)[0])
                - 0.5 * T * D * onp.log(2 * onp.pi))
    assert abs(elps.mean() - stat_elp) < 4 * elps.std() / onp.sqrt(len(elps))


def test_statistics_are_dense_posterior_moments():
    rng = onp.random.default_rng(1)
    B, T, D = 2, 5, 2
    eta = random_global(rng, D)
    psi = random_potentials(rng, B, T, D)
    _, _, stats = lds_svae.local_inference(eta, psi, onp.zeros((B, T, D)))
    init, pair, _, _ = lds_svae.expected_potentials(eta)
    want = [onp.zeros((D, D)), onp.zeros(D), onp.zeros((D, D)), onp.zeros((D, D)), onp.zeros((D, D))]
    for b in range(B):
        Jq, hq = lds.dense_information_natural(init, pair, psi[0][b], psi[1][b])
        S = onp.linalg.inv(Jq)
        m = S @ hq
        E = (S + onp.outer(m, m)).reshape(T, D, T, D)
        want[0] += E[0, :, 0]
        want[1] += m[:D]
        for t in range(T - 1):
            want[2] += E[t, :, t]
            want[3] += E[t, :, t + 1]          # E[x_t x_{t+1}ᵀ]
            want[4] += E[t + 1, :, t + 1]
    got = [stats[0][0], stats[0][1], stats[1][0], stats[1][1], stats[1][2]]
    for g, w in zip(got, want):
        onp.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-10)
    assert stats[0][2:] == (B, B) and stats[1][3] == B * (T - 1)


def test_natural_gradient_is_fisher_inverse_gradient():
    # with q(x) fixed (its statistics s), L(η) = <E_η t(θ), scale·s> − KL(q_η ‖ p) has gradient
    # F(η)(η⁰ + scale·s − η), F = ∇²logZ: the natural gradient × N_frames, to rounding
    rng = onp.random.default_rng(2)
    B, T, D, S = 2, 4, 2, 6
    eta, prior = random_global(rng, D), lds_svae.init_prior(D)
    _, _, stats = lds_svae.local_inference(eta, random_potentials(rng, B, T, D), onp.zeros((B, T, D)))
    f_eta, unflat = flatten(eta)
    f_stats = flatten(stats)[0]

    def L(f):
        e = unflat(f)
        return (S / B) * onp.dot(flatten(lds_svae.prior_expected_stats(e))[0], f_stats) - lds_svae.global_kl(e, prior)
    ng = flatten(lds_svae.natural_gradient(eta, prior, stats, S, B, S * T))[0] * S * T
    logZ = lambda f: lds_svae.prior_logZ(unflat(f))
    Fng = grad(lambda f: onp.dot(grad(logZ)(f), ng))(f_eta)
    # compare on the symmetric matrices where the natural parameters live (expected_stats and
    # grad logZ agree there; their Jacobians differ in antisymmetric directions)
    sym = lambda f: flatten([[(X + X.T) / 2 if i in sq else X for i, X in enumerate(part)]
                             for part, sq in zip(unflat(f), [(0,), (0, 2)])])[0]
    onp.testing.assert_allclose(sym(grad(L)(f_eta)), sym(Fng), rtol=1e-7, atol=1e-8)


def test_check_grads_surrogate():
    rng = onp.random.default_rng(3)
    B, T, D, P = 2, 3, 2, 3
    eta, prior = random_global(rng, D), lds_svae.init_prior(D)
    y = rng.random((B, T, P))
    eps = rng.standard_normal((B, T, D))
    flat, unflat = flatten(lds_svae.init_nets(rng, P, D, hidden=(4,)))
    for dense in (False, True):
        check_grads(lambda f: lds_svae.surrogate(eta, prior, unflat(f), y, eps, 5, 5 * T, dense)[0],
                    modes=["rev"], order=1)(flat)
    # both paths give the same bound up to the sample (x differs: another factorisation)
    b0 = [lds_svae.surrogate(eta, prior, unflat(flat), y, 0 * eps, 5, 5 * T, d)[0] for d in (False, True)]
    onp.testing.assert_allclose(b0[0], b0[1], rtol=1e-10)


def test_training_raises_the_bound_and_rejects_bad_steps():
    import pytest
    rng = onp.random.default_rng(4)
    t = onp.arange(20)
    seqs = onp.stack([0.5 + 0.4 * onp.sin(0.5 * (t + s))[:, None] * onp.ones(3) for s in range(6)])
    _, _, _, hist = lds_svae.train(rng, seqs, D=2, n_iter=150, batch=2, step=1e-2, nat_step=0.2)
    assert onp.mean(hist[-20:]) > onp.mean(hist[:20]) + 0.5
    with pytest.raises(ValueError, match="nat_step"):
        lds_svae.train(rng, seqs, D=2, n_iter=1, nat_step=2.0)
    with pytest.raises(ValueError, match="batch"):
        lds_svae.train(rng, seqs, D=2, n_iter=1, batch=7)


def test_minibatch_scaling_is_unbiased():
    # the average over single-sequence minibatches of the scaled surrogate equals the full-batch
    # surrogate (same noise): the (S/|B|) factor of make_gradfun
    rng = onp.random.default_rng(5)
    S, T, D, P = 3, 4, 2, 3
    eta, prior = random_global(rng, D), lds_svae.init_prior(D)
    y = rng.random((S, T, P))
    eps = rng.standard_normal((S, T, D))
    nets = lds_svae.init_nets(rng, P, D, hidden=(4,))
    full = lds_svae.surrogate(eta, prior, nets, y, eps, S, S * T)[0]
    parts = [lds_svae.surrogate(eta, prior, nets, y[b:b + 1], eps[b:b + 1], S, S * T)[0] for b in range(S)]
    onp.testing.assert_allclose(onp.mean(parts), full, rtol=1e-10)
