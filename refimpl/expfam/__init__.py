"""Exponential families as free functions on natural parameters (`refimpl.expfam`).

Every family module exposes ``logZ(eta)``, ``expected_stats(eta)`` (= grad logZ, checked by
autograd in the tests), ``natural_to_standard``, ``standard_to_natural``, ``sample`` and
``kl(eta_q, eta_p)`` = KL(q || p). A natural parameter is a tuple of arrays paired
elementwise with the sufficient statistics t(x); ``expected_stats`` returns the tuple
E[t(x)] in the same layout, so <eta, E t> is ``inner(eta, stats)``.

Constants: every ``logZ`` here is the log normaliser of a *normalised* density w.r.t.
Lebesgue (or counting) measure — the Gaussian keeps (D/2) log 2π, which the official
mattjj/svae ``gaussian.logZ`` omits.

Families: ``gaussian`` (information form J, h), ``categorical``, ``dirichlet``,
``niw`` (normal-inverse-Wishart), ``mniw`` (matrix-normal-inverse-Wishart, the conjugate prior
of a linear-Gaussian transition; Lebesgue-normalised, unlike the official).
"""
from . import categorical, dirichlet, gaussian, mniw, niw
from ._common import inner, kl_from_logZ

__all__ = ["gaussian", "categorical", "dirichlet", "niw", "mniw", "inner", "kl_from_logZ"]
