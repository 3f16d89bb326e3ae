"""The term of the SVAE natural gradient that the official code drops (mattjj/svae issue #16).

[SVAE Prop. 4.2] With the local optimum η*_x(η_θ, φ) of the surrogate (here the mean field
(q(z), q(k)) of `gmm`), the natural gradient of the SVAE objective w.r.t. the global natural
parameters η_θ is

    ∇̃ L = (η⁰ + (N/|B|) Σ_{n∈B} E_q[t_n] − η_θ) / N  +  F(η_θ)⁻¹ (∂L/∂η_x)(dη*_x/dη_θ),

(per datapoint, as `objective.natural_gradient`). The first part is the conjugate (kept) term:
the derivative with η_x held fixed is F(η_θ) times it. The second is the dropped term. η*_x
depends on η_θ only through the mean parameters μ_θ = E_q(θ)[t(θ)] = ∇logZ(η_θ), and
dμ_θ/dη_θ = F(η_θ) (symmetric), so F⁻¹ (dη*_x/dη_θ)ᵀ ∇_{η_x}L = (dη*_x/dμ_θ)ᵀ ∇_{η_x}L: the
dropped term is the gradient of the bound w.r.t. the μ_θ that feeds the local optimisation only,
with the μ_θ of the explicit terms (E log p(z, k | θ) and the global KL) held fixed. It is
computed here with the local fixed point differentiated implicitly (`gmm.exact_fixed_point`,
autograd's `fixed_point`). The NIW block for E[Σ⁻¹] is a symmetric matrix; its gradient is
symmetrised (only symmetric directions exist).
"""
import autograd.numpy as np
from autograd import grad
from autograd.builtins import tuple as ag_tuple
from autograd.scipy.special import logsumexp

from . import gmm
from .objective import decode_loglik, recognize, sample_z


def split_surrogate(mu_local, global_eta, prior, nets, x, eps, N):
    """The surrogate bound per datapoint (as `objective.surrogate(..., exact=True)`) with the
    local mean field run from the expected globals mu_local = (E log π (K,), NIW stats tuple) and
    the explicit terms evaluated at global_eta. Equal to the surrogate when
    mu_local = gmm.expected_globals(global_eta)."""
    Elogpi_l, Eniw_l = mu_local
    Elogpi, Eniw = gmm.expected_globals(global_eta)
    psi = recognize(nets[0], x)
    r_star = gmm.exact_fixed_point(Elogpi_l, Eniw_l, psi)
    eta_z, gstats, negent = gmm.gaussian_meanfield(Eniw_l, psi, r_star)
    logits_l = gmm.label_logits(Elogpi_l, Eniw_l, gstats)
    r = np.exp(logits_l - logsumexp(logits_l, axis=1, keepdims=True))  # q(k) = η*_x's label part
    kl_local = gmm.local_kl(negent, r, gmm.label_logits(Elogpi, Eniw, gstats))
    z = sample_z(eta_z, eps)
    B = x.shape[0]
    bound = (N / B) * (decode_loglik(nets[1], z, x) - kl_local) - gmm.global_kl(global_eta, prior)
    return bound / N


def _sym(a):
    return 0.5 * (a + np.swapaxes(a, -1, -2))


def dropped_term(global_eta, prior, nets, x, eps, N):
    """F⁻¹ (∂L/∂η_x)(dη*_x/dη_θ) per datapoint, in the layout of global_eta
    (eta_dir (K,), (A (K, D, D), b (K, D), c (K,), d (K,)))."""
    Elogpi, Eniw = gmm.expected_globals(global_eta)
    g_pi, g_niw = grad(split_surrogate)(ag_tuple((Elogpi, ag_tuple(Eniw))), global_eta, prior, nets, x, eps, N)
    return g_pi, (_sym(g_niw[0]),) + tuple(g_niw[1:])
