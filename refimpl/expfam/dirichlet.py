"""Dirichlet with natural parameter eta = alpha − 1 (K,) (the official convention):
t(π) = log π, logZ = Σ log Γ(α_k) − log Γ(Σ α_k), E[log π_k] = ψ(α_k) − ψ(Σ α)."""
import autograd.numpy as np
from autograd.scipy.special import digamma, gammaln

from ._common import kl_from_logZ


def _alpha(eta):
    from autograd.builtins import SequenceBox
    if isinstance(eta, (tuple, list, SequenceBox)):
        eta = eta[0]
    if np.ndim(eta) < 1:
        raise ValueError(f"eta: expected shape (..., K), got {np.shape(eta)}")
    return eta + 1.0


def logZ(eta):
    a = _alpha(eta)
    return np.sum(np.sum(gammaln(a), -1) - gammaln(np.sum(a, -1)))


def expected_stats(eta):
    a = _alpha(eta)
    return digamma(a) - digamma(np.sum(a, -1, keepdims=True))


def natural_to_standard(eta):
    return _alpha(eta)


def standard_to_natural(alpha):
    return np.asarray(alpha) - 1.0


def sample(rng, eta, n=None):
    import numpy as onp
    a = onp.asarray(_alpha(eta))
    return rng.dirichlet(a, size=n)


def kl(eta_q, eta_p):
    return kl_from_logZ(lambda e: logZ(e[0]), lambda e: (expected_stats(e[0]),), (eta_q,), (eta_p,))
