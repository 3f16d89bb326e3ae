"""ELBO gradient estimators for a mixture of C diagonal Gaussians ([STL Sec. 4]).

q_φ(z) = Σ_c π_c N(z; μ_c, diag σ_c²), π = softmax(logits). Sampling the component index
is not reparameterizable, so the ELBO is written as a π-weighted sum of per-component
expectations and estimated with one reparameterized sample per component
(z_c = μ_c + σ_c ⊙ ε_c):

    L(φ) = Σ_c π_c E_{ε_c}[log p(x, z_c) - log q_φ(z_c)]                       (Sec. 4)

- ``"total"``  gradient of this estimate as written.
- ``"stl"``    the mixture weights' explicit prefactors π_c keep their gradient; every
               parameter (π, μ, σ) *inside* log q_φ is held constant. The dropped term is
               Σ_c π_c E_{q_c}[∇_φ log q_φ(z)] = E_q[∇_φ log q_φ(z)] = 0, so STL stays
               unbiased; at q = p(z|x) the integrand is constant and the gradient is zero.
- ``"score"``  Σ_c [∇π_c f(z_c) + π_c f(z_c) ∇ log q_c(z_c)] with z_c held fixed and
               f = log p - log q (the -∇ log q term again has mean zero and is dropped).

There is no closed-form mixture entropy, so "analytic" is not offered.

References
----------
G. Roeder, Y. Wu, D. Duvenaud. Sticking the Landing. NeurIPS 2017, Sec. 4 (mixtures).
"""
import autograd.numpy as np
from autograd.scipy.special import logsumexp

from ._common import check_estimator, check_noise, diag_normal_logpdf, stop_gradient

ESTIMATORS = ("total", "stl", "score")


def mixture_weights(logits):
    """π = softmax(logits): (C,) -> (C,)."""
    return np.exp(logits - logsumexp(logits))


def mixture_logpdf(z, logits, means, log_stds):
    """log q(z) = logsumexp_c [log π_c + log N(z; μ_c, σ_c²)]: z (..., D) -> (...).

    logits: (C,); means, log_stds: (C, D).
    """
    log_pi = logits - logsumexp(logits)                                 # (C,)
    comp = diag_normal_logpdf(z[..., None, :], means, log_stds)         # (..., C)
    return logsumexp(log_pi + comp, axis=-1)


def mixture_sample(means, log_stds, eps):
    """One sample per component: z_c = μ_c + σ_c ⊙ ε_c; eps (S, C, D) -> (S, C, D)."""
    return means + np.exp(log_stds) * eps


def mixture_elbo_surrogate(logjoint, logits, means, log_stds, eps, estimator="total"):
    """ELBO estimate of a Gaussian mixture whose autograd gradient is `estimator`.

    logits: (C,); means, log_stds: (C, D); eps: (C, D) (one draw per component) or
    (S, C, D) (S draws per component, averaged). Estimators "total", "stl", "score".
    """
    check_estimator(estimator, ESTIMATORS)
    C, D = np.shape(means)
    if np.shape(logits) != (C,) or np.shape(log_stds) != (C, D):
        raise ValueError(f"logits, log_stds: expected shapes ({C},) and ({C}, {D}) to match "
                         f"means {(C, D)}, got {np.shape(logits)} and {np.shape(log_stds)}")
    check_noise(eps, D)
    if np.ndim(eps) == 2:
        eps = eps[None]
    if np.ndim(eps) != 3 or np.shape(eps)[1] != C:
        raise ValueError(f"eps: expected shape ({C}, {D}) or (S, {C}, {D}), got {np.shape(eps)}")
    pi = mixture_weights(logits)                                        # (C,)
    z = mixture_sample(means, log_stds, eps)                            # (S, C, D)
    if estimator == "total":
        f = logjoint(z) - mixture_logpdf(z, logits, means, log_stds)    # (S, C)
    elif estimator == "stl":
        # [STL Sec. 4]: log q frozen (all of φ inside it), prefactors π_c live
        f = logjoint(z) - mixture_logpdf(z, *stop_gradient((logits, means, log_stds)))
    else:
        # score function with z̄ = stop(z): ∇π_c f̄_c + π̄_c f̄_c ∇ log q_c(z̄_c)
        zb = stop_gradient(z)
        fb = stop_gradient(logjoint(zb) - mixture_logpdf(zb, logits, means, log_stds))
        lqc = diag_normal_logpdf(zb, means, log_stds)                   # (S, C) own component
        lp = logjoint(zb)                                               # keeps model gradients
        f = lp - stop_gradient(lp) + fb + fb * (lqc - stop_gradient(lqc))
    return np.mean(np.sum(pi * f, axis=-1))
