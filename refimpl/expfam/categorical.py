"""Categorical with natural parameter eta (..., K) (unnormalised log-probabilities):
t(k) = one-hot(k), logZ = logsumexp(eta), expected_stats = softmax(eta)."""
import autograd.numpy as np
from autograd.scipy.special import logsumexp

from ._common import kl_from_logZ


def _check(eta):
    from autograd.builtins import SequenceBox
    if isinstance(eta, (tuple, list, SequenceBox)):
        if len(eta) != 1:
            raise TypeError("eta: expected an array (..., K) or a 1-tuple")
        eta = eta[0]
    if np.ndim(eta) < 1:
        raise ValueError(f"eta: expected shape (..., K), got {np.shape(eta)}")
    return eta


def logZ(eta):
    return np.sum(logsumexp(_check(eta), axis=-1))


def expected_stats(eta):
    eta = _check(eta)
    return np.exp(eta - logsumexp(eta, axis=-1, keepdims=True))


def natural_to_standard(eta):
    return expected_stats(eta)


def standard_to_natural(probs):
    return np.log(probs)


def sample(rng, eta, n=None):
    """Integer samples of shape (n, ...) (or (...) when n is None)."""
    import numpy as onp
    p = onp.asarray(expected_stats(eta))
    shape = (() if n is None else (int(n),)) + p.shape[:-1]
    u = rng.random(shape + (1,))
    return onp.minimum((onp.cumsum(p, -1) < u).sum(-1), p.shape[-1] - 1)


def kl(eta_q, eta_p):
    return kl_from_logZ(lambda e: logZ(e[0]), lambda e: (expected_stats(e[0]),),
                        (_check(eta_q),), (_check(eta_p),))
