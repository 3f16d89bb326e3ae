"""Variational-inference gradient estimators shared by the VAE papers (`refimpl.vi`).

Every estimator is a *surrogate*: a scalar whose value is the Monte-Carlo bound and whose
autograd gradient is the gradient estimator, e.g. ::

    from autograd import grad
    g = grad(elbo_surrogate, argnum=(1, 2))(logjoint, mean, log_std, eps, estimator="stl")

Families: diagonal Gaussian (`elbo_surrogate`), full-covariance Gaussian
(`fullcov_elbo_surrogate`), Gaussian mixture (`mixture_elbo_surrogate`), importance-weighted
bound (`iwae_surrogate`, with "dreg"); amortized encoder/decoder VAEs in `refimpl.vi.vae`.

References
----------
G. Roeder, Y. Wu, D. Duvenaud. Sticking the Landing: Simple, Lower-Variance Gradient
Estimators for Variational Inference. NeurIPS 2017.
G. Tucker, D. Lawson, S. Gu, C. J. Maddison. Doubly Reparameterized Gradient Estimators
for Monte Carlo Objectives. ICLR 2019.
"""
from ._common import stop_gradient
from .gaussian import (diag_entropy, diag_sample, elbo_surrogate, elbo_terms, fullcov_elbo_surrogate,
                       fullcov_entropy, fullcov_logpdf, fullcov_sample)
from ._common import diag_normal_logpdf
from .iwae import iwae_surrogate, iwae_terms, normalized_weights
from .mixture import mixture_elbo_surrogate, mixture_logpdf, mixture_sample, mixture_weights

__all__ = [
    "stop_gradient", "diag_normal_logpdf", "diag_entropy", "diag_sample", "elbo_surrogate",
    "elbo_terms", "fullcov_elbo_surrogate", "fullcov_entropy", "fullcov_logpdf", "fullcov_sample",
    "iwae_surrogate", "iwae_terms", "normalized_weights", "mixture_elbo_surrogate",
    "mixture_logpdf", "mixture_sample", "mixture_weights",
]
