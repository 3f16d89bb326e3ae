"""GMM SVAE local inference: mean field between q(z_n) (Gaussian) and q(k_n) (categorical).

Global factor q(θ) = Dir(π | eta_dir) Π_k NIW(μ_k, Σ_k | eta_niw_k); node potentials
psi = (J (N, D, D), h (N, D)) from the recognition network, in the `expfam.gaussian`
convention (paired with (−½ z zᵀ, z)). Shapes: N points, K components, D latent dims.
"""
import autograd.numpy as np
from autograd.tracer import getval
from autograd.scipy.special import logsumexp

from ..expfam import dirichlet, gaussian, niw

LOG2PI = np.log(2 * np.pi)


def expected_globals(global_eta):
    """(E[log π] (K,), E_niw stats tuple) under q(θ)."""
    eta_dir, eta_niw = global_eta
    return dirichlet.expected_stats(eta_dir), niw.expected_stats(eta_niw)


def gaussian_meanfield(Eniw, psi, r):
    """q(z) update given r (N, K): eta_z = psi + Σ_k r_nk (E[Σ_k⁻¹], E[Σ_k⁻¹μ_k]).
    Returns (eta_z, stats (−½E zzᵀ, E z), E_q log q(z) (scalar, summed over N))."""
    E1, E2 = Eniw[0], Eniw[1]
    J = psi[0] + np.tensordot(r, -2.0 * E1, axes=(1, 0))  # (N, D, D)
    h = psi[1] + np.dot(r, E2)                           # (N, D)
    eta_z = (J, h)
    stats = gaussian.expected_stats(eta_z)
    neg_entropy = np.sum(J * stats[0]) + np.sum(h * stats[1]) - gaussian.logZ(eta_z)
    return eta_z, stats, neg_entropy


def _qz_stats(Eniw, psi, r):
    """The q(z) statistics of `gaussian_meanfield` without its entropy (the loop needs only these)."""
    J = psi[0] + np.tensordot(r, -2.0 * Eniw[0], axes=(1, 0))  # (N, D, D)
    return gaussian.expected_stats((J, psi[1] + np.dot(r, Eniw[1])))


def label_logits(Elogpi, Eniw, gstats):
    """logits_nk = E log π_k + E_q(z) E_θ log N(z_n | μ_k, Σ_k): (N, K)."""
    E1, E2, E3, E4 = Eniw
    D = np.shape(E2)[-1]
    # <(E[Σ⁻¹], E[Σ⁻¹μ]), (−½ E zzᵀ, E z)> + E[−½ μᵀΣ⁻¹μ] + E[−½ log|Σ|] − (D/2) log 2π
    quad = np.einsum("kij,nij->nk", -2.0 * E1, gstats[0]) + np.dot(gstats[1], E2.T)
    return Elogpi + quad + E3 + E4 - 0.5 * D * LOG2PI


def local_kl(neg_entropy_z, r, logits):
    """KL(q(z) q(k) || p(z, k | θ)) averaged over q(θ), summed over N, for any r:
    E_q log q(z) + Σ_nk r_nk (log r_nk − logits_nk)."""
    return neg_entropy_z + np.sum(r * (np.log(np.maximum(r, 1e-300)) - logits))


def meanfield_fixed_point(Elogpi, Eniw, psi, tol=1e-3, max_iter=100, trace=None):
    """Alternate q(z) and q(k) updates (no gradients) until max |Δr| < tol (cap max_iter) —
    the official tolerance and cap (1e-3, 100); the official criterion is |Δ local KL| < tol
    instead, and it starts from random responsibilities (here: E[π] for every point).
    `trace` (a list) receives, after each sweep, the local objective that coordinate descent
    minimises: KL_local − <psi, E_q t(z)> (the KL from q to
    the psi-tilted prior, up to its constant). The KL alone is not monotone (it trades off
    against the recognition term)."""
    psi = (getval(psi[0]), getval(psi[1]))
    Elogpi = getval(Elogpi)
    Eniw = tuple(getval(e) for e in Eniw)
    N, K = np.shape(psi[1])[0], np.shape(Elogpi)[-1]
    r = np.tile(np.exp(Elogpi - logsumexp(Elogpi)), (N, 1))
    for _ in range(max_iter):
        logits = label_logits(Elogpi, Eniw, _qz_stats(Eniw, psi, r))
        r_new = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
        if trace is not None:
            _, gstats_z, negent = gaussian_meanfield(Eniw, psi, r)
            fit = np.sum(psi[0] * gstats_z[0]) + np.sum(psi[1] * gstats_z[1])
            trace.append(float(local_kl(negent, r_new, logits) - fit))
        done = np.max(np.abs(r_new - r)) < tol
        r = r_new
        if done:
            break
    return r


def _sweep(a):
    """One mean-field sweep r -> r' as a function of a = (Elogpi, Eniw, psi)."""
    Elogpi, Eniw, psi = a

    def f(r):
        _, gstats, _ = gaussian_meanfield(Eniw, psi, r)
        logits = label_logits(Elogpi, Eniw, gstats)
        return np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    return f


def exact_fixed_point(Elogpi, Eniw, psi, tol=1e-10):
    """r* with its implicit derivative: autograd.misc.fixed_points.fixed_point differentiates
    the fixed point r* = f(a, r*) by iterating the adjoint equation (the implicit function
    theorem, valid where the sweep is a contraction)."""
    from autograd.builtins import tuple as ag_tuple  # a traced container (plain tuples of boxes are not)
    from autograd.misc.fixed_points import fixed_point
    r0 = meanfield_fixed_point(Elogpi, Eniw, psi, tol=tol, max_iter=1000)
    dist = lambda x, y: np.max(np.abs(x - y))
    return fixed_point(_sweep, ag_tuple((Elogpi, ag_tuple(Eniw), ag_tuple(psi))), r0, dist, tol)


def local_meanfield(global_eta, psi, tol=1e-3, max_iter=100, exact=False):
    """The fixed point on stop-gradient potentials, then ONE differentiated pass.

    [SVAE Prop. 4.2] The fixed point r* is computed with psi held constant (no tape). The
    differentiated pass recomputes q(z) from psi and r* (so ∂/∂psi flows through q(z)
    directly) and then q(k) from that q(z), as the official `local_meanfield` does (one pass
    after `getval`). Treating r* as constant drops the term (∂L/∂r*)(dr*/dpsi). The mean field
    is the stationary point of the local objective KL_local − <psi, E_q t(z)>, so for that
    objective the dropped term vanishes (the implicit-function argument: a stationary point's
    sensitivity does not enter the first-order change of the value); for the surrogate it is
    (∂(E log p(x|z) − <psi, E_q t(z)>)/∂r*)(dr*/dpsi), nonzero in general — the local KL alone
    is *not* stationary in r* (tests/svae/test_differentiated_pass.py). Official difference: its
    KL uses r* in the q(z) cross term and the recomputed q(k) in the label term; here both use
    the recomputed q(k) (the same value at convergence, a slightly different one-pass gradient).

    Returns (eta_z, gstats, r, kl, prior_stats) with prior_stats = (Σ_n r_nk (K,),
    NIW statistics Σ_n r_nk (E zzᵀ, E z, 1, 1)) — the expected sufficient statistics for
    the natural gradient.

    With exact=True, r* carries its implicit derivative (`exact_fixed_point`), so the
    gradient is the total derivative of the surrogate (used to check the one-pass gradient).
    """
    Elogpi, Eniw = expected_globals(global_eta)
    if exact:
        r_star = exact_fixed_point(Elogpi, Eniw, psi)
    else:
        r_star = meanfield_fixed_point(Elogpi, Eniw, psi, tol, max_iter)
    eta_z, gstats, negent = gaussian_meanfield(Eniw, psi, r_star)
    logits = label_logits(Elogpi, Eniw, gstats)
    r = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    kl = local_kl(negent, r, logits)
    rv = getval(r)
    Ezz, Ez = -2.0 * getval(gstats[0]), getval(gstats[1])
    prior_stats = (np.sum(rv, 0), (np.tensordot(rv, Ezz, axes=(0, 0)), np.dot(rv.T, Ez),
                                   np.sum(rv, 0), np.sum(rv, 0)))
    return eta_z, gstats, r, kl, prior_stats


def init_global(rng, K, D, alpha=None, kappa=0.5, mean_scale=3.0):
    """(prior, initial q(θ)) as the official `init_pgm_param`: prior Dir natparam α = 0.05/K,
    NIW with concentration κ, ν = D + κ, S = ν I, m = 0 (so E[Σ⁻¹] = I); initial q: Dir
    natparam 1 + U(0, 1), NIW with κ = 1, ν = D + 1, S = ν I and means ~ N(0, mean_scale²).
    Deviation: the official initial Dir natparam is U(0, 1) (α ∈ (1, 2), here α ∈ (2, 3)).
    The prior's "α = 0.05/K" is, as in the official code, the natparam α − 1 (concentration
    1 + 0.05/K), not a concentration of 0.05/K."""
    alpha = 0.05 / K if alpha is None else alpha

    def niws(conc, means):
        nu = D + conc
        return niw.standard_to_natural(np.tile(nu * np.eye(D), (K, 1, 1)), means,
                                       np.full(K, conc), np.full(K, nu))
    prior = (np.full(K, alpha), niws(kappa, np.zeros((K, D))))
    init = (1.0 + rng.random(K), niws(1.0, mean_scale * rng.standard_normal((K, D))))
    return prior, init


def data_bound(q, prior, X):
    """The ELBO per point of a GMM fitted directly on data X (N, D) under q(θ) (the VB GMM
    baseline): q(k_n) optimal, so Σ_n log Σ_k exp(logits_nk) − KL(q(θ) || p(θ)), divided by N
    (the same per-point scaling as the SVAE's held-out surrogate)."""
    Elogpi, Eniw = expected_globals(q)
    gstats = (-0.5 * X[:, :, None] * X[:, None, :], X)       # δ_x: (−½ x xᵀ, x)
    logits = label_logits(Elogpi, Eniw, gstats)              # (N, K)
    return (np.sum(logsumexp(logits, axis=1)) - global_kl(q, prior)) / X.shape[0]


def global_kl(q, p):
    return dirichlet.kl(q[0], p[0]) + niw.kl(q[1], p[1])
