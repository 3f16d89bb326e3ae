"""Helpers shared by the families: the pairing <eta, t> and the generic KL."""
import autograd.numpy as np


def inner(eta, stats):
    """<eta, stats> summed over every component of the (tuple) natural parameter.
    Leading batch axes are summed too; use per-family code for batched pairings."""
    return sum(np.sum(a * b) for a, b in zip(eta, stats))


def kl_from_logZ(logZ, expected_stats, eta_q, eta_p):
    """KL(q || p) = <eta_q − eta_p, E_q[t]> − logZ(eta_q) + logZ(eta_p) for one family."""
    diff = tuple(a - b for a, b in zip(eta_q, eta_p))
    return inner(diff, expected_stats(eta_q)) - logZ(eta_q) + logZ(eta_p)


def check_tuple(eta, n, name):
    from autograd.builtins import SequenceBox
    if not isinstance(eta, (tuple, list, SequenceBox)) or len(eta) != n:
        raise TypeError(f"{name}: expected a tuple of {n} arrays, got {type(eta).__name__}")
    return eta
