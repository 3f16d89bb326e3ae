"""Which pass of the GMM mean field is differentiated (`gmm.local_meanfield`).

[SVAE Prop. 4.2] The fixed point r* is found on stop-gradient potentials; one pass (q(z) from
psi and r*, then q(k) from that q(z)) is differentiated. The mean field is the stationary point of
the local objective KL_local − <psi, E_q t(z)>, so for that objective the one-pass gradient is the
total one (the path through r* vanishes at the optimum). For the local KL *alone* it does not:
the one-pass gradient of the surrogate drops the KL's path through r* as well as the decoder's."""
import autograd.numpy as np
import numpy as onp
from autograd import grad
from autograd.scipy.special import logsumexp

from refimpl.svae import gmm
from test_gmm import setup  # noqa: E402  (same folder: pytest puts it on sys.path)


def _problem():
    rng, prior, q, y = setup(K=3, N=8)
    return q, (onp.tile(onp.eye(2), (8, 1, 1)) * 0.7, 0.7 * y)


def _rel(a, b):
    return onp.linalg.norm(a - b) / onp.linalg.norm(b)


def test_one_pass_gradient_is_exact_for_the_local_objective():
    q, (J, h0) = _problem()

    def local_objective(h, exact):
        _, gstats, _, kl, _ = gmm.local_meanfield(q, (J, h), tol=1e-12, max_iter=2000, exact=exact)
        return kl - onp.sum(J * gstats[0]) - onp.sum(h * gstats[1])
    g_one = grad(lambda h: local_objective(h, False))(h0)
    g_exact = grad(lambda h: local_objective(h, True))(h0)
    assert _rel(g_one, g_exact) < 1e-8


def test_one_pass_gradient_of_the_local_kl_alone_is_not_exact():
    q, (J, h0) = _problem()
    kl = lambda h, exact: gmm.local_meanfield(q, (J, h), tol=1e-12, max_iter=2000, exact=exact)[3]
    assert _rel(grad(lambda h: kl(h, False))(h0), grad(lambda h: kl(h, True))(h0)) > 0.1


def test_the_differentiated_pass_is_qz_from_psi_and_r_star_then_qk():
    # written out by hand: q(z) from (psi, r* held constant), then q(k) = softmax of its logits
    q, (J, h0) = _problem()
    Elogpi, Eniw = gmm.expected_globals(q)
    r_star = gmm.meanfield_fixed_point(Elogpi, Eniw, (J, h0), tol=1e-12, max_iter=2000)
    prec, Eh, E3, E4 = -2.0 * Eniw[0], Eniw[1], Eniw[2], Eniw[3]     # E[Σ⁻¹], E[Σ⁻¹μ], ...
    rng = onp.random.default_rng(11)
    w1, w2 = rng.standard_normal(h0.shape), rng.standard_normal(r_star.shape)

    def by_hand(h):
        Jz = J + np.einsum("nk,kij->nij", r_star, prec)
        Ez = np.linalg.solve(Jz, (h + np.dot(r_star, Eh))[..., None])[..., 0]
        Ezz = np.linalg.inv(Jz) + Ez[:, :, None] * Ez[:, None, :]
        logits = (Elogpi - 0.5 * np.einsum("kij,nij->nk", prec, Ezz) + np.dot(Ez, Eh.T) + E3 + E4)
        r = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
        return np.sum(w1 * Ez) + np.sum(w2 * r)

    def lib(h, exact=False):
        _, gstats, r, _, _ = gmm.local_meanfield(q, (J, h), tol=1e-12, max_iter=2000, exact=exact)
        return np.sum(w1 * gstats[1]) + np.sum(w2 * r)
    assert abs(lib(h0) - by_hand(h0)) < 1e-9
    g_lib, g_hand = grad(lib)(h0), grad(by_hand)(h0)
    assert _rel(g_lib, g_hand) < 1e-8
    # and r* does move with psi: the implicit (exact) derivative is a different one
    assert _rel(grad(lambda h: lib(h, True))(h0), g_hand) > 1e-2
